//! `zoo predict`: tags sentences with a trained part-of-speech tagger run, or classifies images
//! with a trained MNIST-format model run.

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
use crate::config::{DataSection, ExperimentConfig, Network};
use crate::eval::run_config;
use crate::models::{TAG_VOCAB_FILE, WORD_VOCAB_FILE};
use crate::predict_image::{classify, describe, read_digit};
use crate::task::Classifier;
use burn::data::dataloader::batcher::Batcher;
use zoo_data::mnist::{MnistBatcher, MnistItem};
use zoo_data::ClassificationBatch;

/// Sentences tagged in one forward pass.
const LINES_PER_BATCH: usize = 64;

/// Tags `inputs` (one sentence each) with the tagger of the run in `dir`, or classifies them
/// (image files) with its MNIST-format model.
pub struct PredictRun {
    /// The run folder of a `pos-tagger` run or of an MNIST-format model's run.
    pub dir: PathBuf,
    /// Sentences (an empty line gives an empty line), or image files.
    pub inputs: Vec<String>,
    /// Images are dark ink on a light background.
    pub invert: bool,
}

impl BackendJob for PredictRun {
    /// Each line, tagged (`The/DET dog/NOUN ...`), or each image's class and top 3
    /// (`digit.png: 7  (7 0.981, 2 0.011, 1 0.004)`).
    type Output = Vec<String>;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        _target: Target,
    ) -> anyhow::Result<Vec<String>> {
        let config = run_config(&self.dir, None)?;
        let device = device.inner().clone();
        let net = match &config.model.network {
            Network::Tagger(net) => net,
            Network::MnistLstm(net) => {
                return self.classify_images::<B::InnerBackend, _, 3>(net.init(&device), &config, &device)
            }
            Network::MnistCnn(net) => {
                return self.classify_images::<B::InnerBackend, _, 4>(net.init(&device), &config, &device)
            }
            Network::SmallCnn(net) => {
                return self.classify_images::<B::InnerBackend, _, 4>(net.init(&device), &config, &device)
            }
            Network::Mlp(_) => anyhow::bail!(
                "{}: a `{}` run; `zoo predict` tags sentences with a `pos-tagger` run and \
                 classifies images with an MNIST model's run (mnist-lstm, mnist-cnn, small-cnn, ...)",
                self.dir.display(),
                config.model.name
            ),
        };
        if self.invert {
            anyhow::bail!(
                "--invert is for images; {} is a `pos-tagger` run, which tags sentences",
                self.dir.display()
            );
        }
        let words = load_vocab(&self.dir, WORD_VOCAB_FILE)?;
        let tags = load_vocab(&self.dir, TAG_VOCAB_FILE)?;
        let model: LstmTagger<B::InnerBackend> = load(
            net.model(words.len(), tags.len()).init(&device),
            &self.dir,
            &device,
        )?;
        let mut tagged = Vec::with_capacity(self.inputs.len());
        for chunk in self.inputs.chunks(LINES_PER_BATCH) {
            tagged.extend(tag_lines(&model, &words, &tags, chunk, &device));
        }
        Ok(tagged)
    }
}

impl PredictRun {
    /// Reads every image, then classifies them with `model` (its weights loaded from the run):
    /// one line per image with its path, class and top 3, classes by the dataset's names.
    fn classify_images<B, M, const D: usize>(
        &self,
        model: M,
        config: &ExperimentConfig,
        device: &B::Device,
    ) -> anyhow::Result<Vec<String>>
    where
        B: Backend,
        M: Module<B> + Classifier<B, D>,
        MnistBatcher: Batcher<B, MnistItem, ClassificationBatch<B, D>>,
    {
        let digits = self
            .inputs
            .iter()
            .map(|path| read_digit(Path::new(path), self.invert))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let model = load(model, &self.dir, device)?;
        let predictions = classify::<B, M, D>(&model, &batcher(config), &digits, device);
        let classes: Vec<String> = config
            .mnist_source()
            .map(|(variant, _)| {
                variant
                    .class_names()
                    .iter()
                    .map(|c| c.to_string())
                    .collect()
            })
            .unwrap_or_default();
        Ok(self
            .inputs
            .iter()
            .zip(&predictions)
            .map(|(name, p)| describe(name, p, &classes))
            .collect())
    }
}

/// The training batcher of an MNIST-format run (its normalization).
fn batcher(config: &ExperimentConfig) -> MnistBatcher {
    match &config.data {
        DataSection::Mnist(data) => MnistBatcher::new(data.mean, data.std),
        _ => unreachable!("a validated config pairs an MNIST model with MNIST data"),
    }
}

/// `model` with the weights of the run in `dir`.
fn load<B: Backend, M: Module<B>>(model: M, dir: &Path, device: &B::Device) -> anyhow::Result<M> {
    let path = dir.join(MODEL_FILE);
    model
        .load_file(
            &path,
            &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
            device,
        )
        .with_context(|| format!("{}: cannot load the model weights", path.display()))
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
