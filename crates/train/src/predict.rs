//! `zoo predict`: tags sentences with a trained part-of-speech tagger run.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::{AutodiffBackend, DeviceOps};
use zoo_data::pos::{tokenize, Vocab};
use zoo_models::LstmTagger;

use crate::artifacts::MODEL_FILE;
use crate::backend::{BackendJob, Target};
use crate::config::Network;
use crate::eval::run_config;
use crate::models::{TAG_VOCAB_FILE, WORD_VOCAB_FILE};

/// Sentences tagged in one forward pass.
const LINES_PER_BATCH: usize = 64;

/// Tags `lines` (one sentence each) with the model of the run in `dir`.
pub struct PredictRun {
    /// The run folder of a `pos-tagger` run.
    pub dir: PathBuf,
    /// The sentences; an empty line gives an empty line.
    pub lines: Vec<String>,
}

impl BackendJob for PredictRun {
    /// Each line, tagged: `The/DET dog/NOUN ...`.
    type Output = Vec<String>;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        _target: Target,
    ) -> anyhow::Result<Vec<String>> {
        let config = run_config(&self.dir, None)?;
        let Network::Tagger(net) = &config.model.network else {
            anyhow::bail!(
                "{}: a `{}` run; `zoo predict` tags sentences with a `pos-tagger` run (train one \
                 with `zoo train --model pos-tagger`)",
                self.dir.display(),
                config.model.name
            );
        };
        let words = load_vocab(&self.dir, WORD_VOCAB_FILE)?;
        let tags = load_vocab(&self.dir, TAG_VOCAB_FILE)?;
        let device = device.inner().clone();
        let path = self.dir.join(MODEL_FILE);
        let model: LstmTagger<B::InnerBackend> = net
            .model(words.len(), tags.len())
            .init(&device)
            .load_file(
                &path,
                &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
                &device,
            )
            .with_context(|| format!("{}: cannot load the model weights", path.display()))?;
        let mut tagged = Vec::with_capacity(self.lines.len());
        for chunk in self.lines.chunks(LINES_PER_BATCH) {
            tagged.extend(tag_lines(&model, &words, &tags, chunk, &device));
        }
        Ok(tagged)
    }
}

fn load_vocab(dir: &Path, name: &str) -> anyhow::Result<Vocab> {
    let path = dir.join(name);
    if !path.is_file() {
        anyhow::bail!(
            "{}: missing; a `pos-tagger` run folder keeps its vocabularies beside model.mpk (was \
             it copied without them?)",
            path.display()
        );
    }
    Ok(Vocab::load(&path)?)
}

/// Tags a few lines in one padded batch; a word the vocabulary lacks reads as `<unk>`, and the
/// answer is never `<pad>` or `<unk>`.
fn tag_lines<B: Backend>(
    model: &LstmTagger<B>,
    words: &Vocab,
    tags: &Vocab,
    lines: &[String],
    device: &B::Device,
) -> Vec<String> {
    let sentences: Vec<Vec<String>> = lines.iter().map(|l| tokenize(l)).collect();
    let real: Vec<&Vec<String>> = sentences.iter().filter(|s| !s.is_empty()).collect();
    let mut answers = Vec::new();
    if !real.is_empty() {
        let longest = real.iter().map(|s| s.len()).max().unwrap_or(1);
        let mut ids = vec![Vocab::PAD_ID as i64; real.len() * longest];
        for (b, sentence) in real.iter().enumerate() {
            for (t, word) in sentence.iter().enumerate() {
                ids[b * longest + t] = words.id(word) as i64;
            }
        }
        let ids = Tensor::<B, 1, Int>::from_data(
            TensorData::new(ids, [real.len() * longest]).convert::<B::IntElem>(),
            device,
        )
        .reshape([real.len(), longest]);
        let lengths: Vec<usize> = real.iter().map(|s| s.len()).collect();
        let scores = model.forward(ids, Some(&lengths));
        // Choose among the real tags only: ids 0 and 1 are <pad> and <unk>.
        let first = Vocab::UNK_ID + 1;
        let best = scores
            .slice(s![.., .., first..])
            .argmax(2)
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .expect("int tensors read back as i64");
        for (b, sentence) in real.iter().enumerate() {
            let line: Vec<String> = sentence
                .iter()
                .enumerate()
                .map(|(t, word)| {
                    let tag = tags.token(best[b * longest + t] as usize + first);
                    format!("{word}/{tag}")
                })
                .collect();
            answers.push(line.join(" "));
        }
    }
    let mut answers = answers.into_iter();
    sentences
        .iter()
        .map(|s| {
            if s.is_empty() {
                String::new()
            } else {
                answers.next().expect("one answer per sentence")
            }
        })
        .collect()
}
