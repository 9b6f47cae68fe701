//! `[data]` of the part-of-speech taggers: a Universal Dependencies treebank folder (or seed
//! 000's two toy sentences), vocabularies of its training split, and length buckets of padded
//! sentences.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::Backend;
use serde::{Deserialize, Serialize};
use zoo_data::pos::{
    bucket_by_length, fill_tags, rare_from, read_blocks, read_conllu, text_block, tokenize,
    toy_sentences, word_chars, word_counts, EncodedSentence, SeenWords, SentenceBucket, TagColumn,
    TaggedSentence, TaggingBatch, TaggingBatcher, Vocab, Vocabularies,
};
use zoo_models::InvalidConfig;

use super::{
    check_train_limit, locate_dir, Batches, DataFlags, DataSource, LoadContext, PredictFlags,
    PredictInputs, Reads, SharedItems, Splits, VocabFlags,
};
use crate::config::ConfigError;
use crate::run::artifacts::write_atomic;
use crate::task::{Answer, Tagging};

/// The word vocabulary of a tagger run, in its run folder.
pub const WORD_VOCAB_FILE: &str = "vocab-words.txt";
/// The tag vocabulary of a tagger run, in its run folder.
pub const TAG_VOCAB_FILE: &str = "vocab-tags.txt";
/// The character vocabulary of a run of a tagger that reads characters, in its run folder.
pub const CHAR_VOCAB_FILE: &str = "vocab-chars.txt";
/// Where UD English-EWT lives in a checkout, relative to its root.
const UD_ENGLISH_EWT: &str = "data/ud-english-ewt";
/// Sentences `zoo predict` tags in one forward pass.
const LINES_PER_BATCH: usize = 64;

/// Which sentences to learn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Corpus {
    /// A Universal Dependencies treebank folder: `*train.conllu`, `*dev.conllu`, `*test.conllu`.
    Conllu,
    /// The sequence-models tutorial's two sentences, trained and tested on.
    Toy,
}

/// `[data]` of a part-of-speech tagger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosData {
    /// `conllu` (a treebank folder) or `toy` (the sequence-models tutorial's two sentences).
    pub corpus: Corpus,
    /// The treebank folder, holding `*train.conllu`, `*dev.conllu` and `*test.conllu` (each may
    /// be `.gz`); absent means `data/ud-english-ewt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// `upos` (column 4, universal tags) or `xpos` (column 5, the treebank's own).
    pub tag_column: TagColumn,
    /// Lowercase words before looking them up.
    pub lowercase: bool,
    /// Training words seen fewer times become `<unk>`, so the model learns what to do with
    /// words it never saw.
    pub min_count: usize,
    /// Train on the first N training sentences only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Give the model every word's characters as written, case kept (a character vocabulary
    /// of the training split, `vocab-chars.txt`); taggers that read characters require it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chars: bool,
}

/// The vocabularies of a tagger: what its shape and its answers depend on.
pub type PosInfo = Vocabularies;

impl PosData {
    /// The treebank folder (`None` for the toy corpus), looked up as [`locate_dir`] does.
    pub fn treebank(&self) -> Option<PathBuf> {
        (self.corpus == Corpus::Conllu).then(|| {
            locate_dir(
                self.dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(UD_ENGLISH_EWT)),
            )
        })
    }

    /// The corpus's name and its train, dev and test sentences.
    fn sentences(&self) -> anyhow::Result<(String, [Vec<TaggedSentence>; 3])> {
        let Some(dir) = self.treebank() else {
            let toy = toy_sentences();
            return Ok(("toy".into(), [toy.clone(), toy.clone(), toy]));
        };
        let split = |name| -> anyhow::Result<Vec<TaggedSentence>> {
            Ok(read_conllu(&treebank_file(&dir, name)?, self.tag_column)?)
        };
        let name = dir
            .file_name()
            .map_or("conllu".into(), |n| n.to_string_lossy().into_owned());
        Ok((name, [split("train")?, split("dev")?, split("test")?]))
    }
}

impl DataSource for PosData {
    type Item = SentenceBucket;
    type Set = SharedItems<SentenceBucket>;
    type Info = PosInfo;

    fn validate(&self) -> Result<(), InvalidConfig> {
        if self.min_count == 0 {
            return Err(InvalidConfig::new("min_count", "is 0, must be at least 1"));
        }
        check_train_limit(self.train_limit)?;
        if self.corpus == Corpus::Toy && (self.dir.is_some() || self.train_limit.is_some()) {
            return Err(InvalidConfig::new(
                "dir",
                "does not apply to the toy corpus (the sequence-models tutorial's two sentences are built in); set \
                 data.corpus = \"conllu\" to read a treebank",
            ));
        }
        Ok(())
    }

    fn apply(&mut self, flags: &DataFlags, model: &str) -> Result<(), ConfigError> {
        if flags.dataset.is_some() {
            return Err(ConfigError::Invalid {
                file: "--dataset".into(),
                key: "data.dataset".into(),
                reason: format!(
                    "names an MNIST-format dataset; `{model}` reads a treebank (give its folder \
                     with --data-dir)"
                ),
            });
        }
        flags.set_dir_and_limit(&mut self.dir, &mut self.train_limit);
        Ok(())
    }

    fn pin_dir(&mut self) {
        if self.dir.is_none() && self.corpus == Corpus::Conllu {
            self.dir = Some(PathBuf::from(UD_ENGLISH_EWT));
        }
    }

    fn dir(&self) -> Option<PathBuf> {
        self.treebank()
    }

    /// The corpus's three splits as length buckets of `batch_size` sentences (one bucket per
    /// batch), encoded with the vocabularies of the training split (or those of `run_dir`, where
    /// an earlier command saved or imported them there).
    fn load(&self, context: &LoadContext) -> anyhow::Result<Splits<Self>> {
        let (dataset, [mut train, valid, test]) = self.sentences()?;
        if let Some(limit) = self.train_limit {
            train.truncate(limit);
        }
        let tokens = |pick: fn(&TaggedSentence) -> &Vec<String>| {
            train
                .iter()
                .flat_map(move |s| pick(s).iter().map(String::as_str))
        };
        let dir = context.run_dir;
        let (words, words_from) = saved_or_built(dir, WORD_VOCAB_FILE, || {
            Vocab::build(tokens(|s| &s.words), self.min_count, self.lowercase)
        })?;
        let (tags, tags_from) = saved_or_built(dir, TAG_VOCAB_FILE, || {
            Vocab::build(tokens(|s| &s.tags), 1, false)
        })?;
        let chars = match self.chars {
            true => Some(saved_or_built(dir, CHAR_VOCAB_FILE, || char_vocab(&train))?.0),
            false => None,
        };
        println!(
            "Vocabularies: {} words {words_from} (min count {}, lowercase {}), {} tags \
             {tags_from}{}",
            words.len(),
            self.min_count,
            words.lowercase(),
            tags.len(),
            chars
                .as_ref()
                .map_or(String::new(), |c| format!(", {} characters", c.len())),
        );
        let counts = word_counts(&words, &train);
        let info = PosInfo {
            rare_from: rare_from(&counts),
            words,
            tags,
            chars,
        };
        let seen = SeenWords::new(&train, self.lowercase);
        let buckets = |sentences: &[TaggedSentence], split: &str, seed| {
            let encoded = encode(sentences, &info, &seen)
                .with_context(|| format!("the {split} split of {dataset}"))?;
            anyhow::Ok(SharedItems::new(bucket_by_length(
                encoded,
                context.batch_size,
                seed,
            )))
        };
        Ok(Splits {
            train: buckets(&train, "train", context.seed)?,
            valid: buckets(&valid, "dev", 0)?,
            test: buckets(&test, "test", 0)?,
            samples: [train.len(), valid.len(), test.len()],
            dataset,
            info,
        })
    }

    fn info(&self, run_dir: &Path) -> anyhow::Result<PosInfo> {
        let load = |name: &str| -> anyhow::Result<Vocab> {
            let path = run_dir.join(name);
            anyhow::ensure!(path.is_file(), missing_vocabulary(&path));
            Ok(Vocab::load(&path)?)
        };
        let words = load(WORD_VOCAB_FILE)?;
        Ok(PosInfo {
            // Not known without the training split; only training reads it.
            rare_from: [words.len(); 3],
            words,
            tags: load(TAG_VOCAB_FILE)?,
            chars: match self.chars {
                true => Some(load(CHAR_VOCAB_FILE)?),
                false => None,
            },
        })
    }

    fn info_files(&self, info: &PosInfo) -> Vec<(&'static str, String)> {
        let mut files = vec![
            (WORD_VOCAB_FILE, info.words.to_text()),
            (TAG_VOCAB_FILE, info.tags.to_text()),
        ];
        if let Some(chars) = &info.chars {
            files.push((CHAR_VOCAB_FILE, chars.to_text()));
        }
        files
    }

    /// `--vocab-words` and `--vocab-tags` (a zoo vocabulary, plain lines, or PyTorch's
    /// `word_to_ix` as JSON), or else `vocab-words.txt` and `vocab-tags.txt` beside the weights
    /// (as `zoo export` writes them), become the run's vocabularies.
    fn import_info(
        &self,
        flags: &VocabFlags,
        weights: &Path,
        run_dir: &Path,
        _model: &str,
    ) -> anyhow::Result<Vec<PathBuf>> {
        let beside = weights.parent().unwrap_or(Path::new("."));
        let mut written = Vec::new();
        for (given, file, flag, what) in [
            (&flags.words, WORD_VOCAB_FILE, "--vocab-words", "word"),
            (&flags.tags, TAG_VOCAB_FILE, "--vocab-tags", "tag"),
        ] {
            let source = match given {
                Some(path) => path.clone(),
                None if beside.join(file).is_file() => beside.join(file),
                None => {
                    println!(
                        "No {file} beside {} and no {flag}: the {what} vocabulary is built from \
                         the training split, which fits only weights trained on it by the zoo",
                        weights.display(),
                    );
                    continue;
                }
            };
            let vocab = Vocab::load(&source)?;
            println!("{file}: {vocab} from {}", source.display());
            write_atomic(&run_dir.join(file), vocab.to_text().as_bytes())?;
            written.push(run_dir.join(file));
        }
        Ok(written)
    }

    fn shape_hint(&self, info: &PosInfo) -> Option<String> {
        Some(format!(
            "the vocabularies decide the embedding's rows ({} words) and the tag layer's outputs \
             ({} tags): give the ones the weights were trained with (--vocab-words, --vocab-tags: \
             PyTorch's word_to_ix and tag_to_ix as JSON, one token per line, or the zoo's \
             vocab-*.txt)",
            info.words.len(),
            info.tags.len()
        ))
    }

    fn classes(&self, info: &PosInfo) -> Vec<String> {
        info.tags.tokens().to_vec()
    }

    fn items_per_batch(&self, _batch_size: usize) -> usize {
        1 // an item is a bucket: a whole batch
    }

    const WRITES_CONLLU: bool = true;

    fn reads(&self) -> Reads {
        Reads::Sentences
    }

    /// The buckets' sentences, in order, into buckets of the size [`Self::predict_inputs`]
    /// makes.
    fn regroup(&self, items: Vec<SentenceBucket>) -> Vec<SentenceBucket> {
        predict_buckets(items.into_iter().flat_map(|b| b.sentences).collect())
    }

    /// With `--format conllu`, the sentence's CoNLL-U block with its tag column filled, and a
    /// blank line after it.
    fn describe(
        &self,
        answer: &Answer,
        label: &str,
        classes: &[String],
        flags: &PredictFlags,
    ) -> String {
        match answer {
            Answer::Tags(tags) if flags.conllu => {
                let names: Vec<&str> = (tags.iter())
                    .map(|&t| classes.get(t).map_or(Vocab::UNK, String::as_str))
                    .collect();
                fill_tags(label, self.tag_column, &names)
            }
            _ => answer.describe(label, classes),
        }
    }

    /// Each input is a line of text, split into words as the treebanks do (an empty line is no
    /// sentence), or with `--format conllu`, CoNLL-U text. A word the vocabulary lacks reads as
    /// `<unk>` (an error where it has no `<unk>`).
    fn predict_inputs(
        &self,
        info: &PosInfo,
        inputs: &[String],
        flags: &PredictFlags,
    ) -> anyhow::Result<PredictInputs<SentenceBucket>> {
        anyhow::ensure!(
            !flags.invert,
            "--invert is for images; this is a tagger's run, which tags sentences"
        );
        let (words, labels) = match flags.split {
            true => split_sentences(inputs),
            false => sentences_to_tag(inputs, flags.conllu)?,
        };
        let samples: Vec<usize> = (0..words.len()).filter(|&i| !words[i].is_empty()).collect();
        let seen = SeenWords::default();
        let encoded = samples
            .iter()
            .map(|&i| {
                EncodedSentence::untagged(&words[i], info, &seen).map_err(|e| {
                    anyhow::anyhow!(
                        "input {} (`{}`): {e}; this tagger knows the words of its \
                         {WORD_VOCAB_FILE}",
                        i + 1,
                        words[i].join(" ")
                    )
                })
            })
            .collect::<anyhow::Result<Vec<EncodedSentence>>>()?;
        Ok(PredictInputs {
            labels,
            items: predict_buckets(encoded),
            samples,
        })
    }
}

/// `sentences` in order, moved into buckets of [`LINES_PER_BATCH`]: the batches `zoo predict` and
/// `zoo serve` run.
fn predict_buckets(sentences: Vec<EncodedSentence>) -> Vec<SentenceBucket> {
    let mut sentences = sentences.into_iter().peekable();
    let mut buckets = Vec::new();
    while sentences.peek().is_some() {
        buckets.push(SentenceBucket {
            sentences: sentences.by_ref().take(LINES_PER_BATCH).collect(),
        });
    }
    buckets
}

/// Sentences already split into words (joined by single spaces), and their labels.
fn split_sentences(inputs: &[String]) -> (Vec<Vec<String>>, Vec<String>) {
    let words: Vec<Vec<String>> = (inputs.iter())
        .map(|line| match line.is_empty() {
            true => Vec::new(),
            false => line.split(' ').map(str::to_string).collect(),
        })
        .collect();
    (words, inputs.to_vec())
}

/// The words of each sentence to tag and its label: the words joined by spaces, or with
/// `conllu`, its CoNLL-U block. With `conllu`, inputs holding a tab are CoNLL-U text (read with
/// its comments, multiword ranges and other columns, to be given back filled); otherwise each
/// input is a line of raw text, split into words by [`tokenize`].
fn sentences_to_tag(
    inputs: &[String],
    conllu: bool,
) -> anyhow::Result<(Vec<Vec<String>>, Vec<String>)> {
    if conllu && inputs.iter().any(|line| line.contains('\t')) {
        let text = inputs.join("\n");
        let blocks = read_blocks(text.as_bytes(), Path::new("the CoNLL-U input"))?;
        return Ok(blocks.into_iter().unzip());
    }
    let words: Vec<Vec<String>> = inputs.iter().map(|line| tokenize(line)).collect();
    let labels = (words.iter().zip(inputs).enumerate())
        .map(|(i, (words, line))| match conllu {
            true if !words.is_empty() => text_block(i + 1, line, words),
            true => String::new(),
            false => words.join(" "),
        })
        .collect();
    Ok((words, labels))
}

impl Batches<Tagging> for PosData {
    fn batch<B: Backend>(&self, items: Vec<SentenceBucket>, device: &B::Device) -> TaggingBatch<B> {
        TaggingBatcher.batch(items, device)
    }
}

/// The vocabulary `file` of `run_dir`, where an earlier command of the run saved it (or `zoo
/// import` put it), or else `build`'s; with where it came from, for the log.
fn saved_or_built(
    run_dir: &Path,
    file: &str,
    build: impl FnOnce() -> Vocab,
) -> anyhow::Result<(Vocab, String)> {
    let path = run_dir.join(file);
    if path.is_file() {
        return Ok((Vocab::load(&path)?, format!("from {file}")));
    }
    // Weights trained with a vocabulary need that vocabulary: one built again could number the
    // words otherwise (another treebank, another --train-limit).
    let trained = ["model.mpk", "checkpoint"]
        .iter()
        .any(|f| run_dir.join(f).exists());
    anyhow::ensure!(!trained, missing_vocabulary(&path));
    Ok((build(), "of the training split".to_string()))
}

/// The error of a run folder without the vocabulary file `path`.
fn missing_vocabulary(path: &Path) -> String {
    format!(
        "{}: missing; a tagger's run folder keeps its vocabularies beside its weights (was it \
         copied without them?): restore the file, or train the run again",
        path.display()
    )
}

/// The character vocabulary of the training split's words (case kept, every character seen).
fn char_vocab(train: &[TaggedSentence]) -> Vocab {
    let chars: Vec<String> = train
        .iter()
        .flat_map(|s| s.words.iter().flat_map(|w| word_chars(w)))
        .collect();
    Vocab::build(chars.iter().map(String::as_str), 1, false)
}

/// `sentences` as ids of the vocabularies of `info`; a word or tag that a vocabulary without
/// `<unk>` lacks is an error naming the sentence.
fn encode(
    sentences: &[TaggedSentence],
    info: &PosInfo,
    seen: &SeenWords,
) -> anyhow::Result<Vec<EncodedSentence>> {
    sentences
        .iter()
        .enumerate()
        .map(|(i, sentence)| {
            EncodedSentence::new(sentence, info, seen).map_err(|e| {
                anyhow::anyhow!(
                    "sentence {} (`{}`): {e}; a run whose vocabularies came from `zoo import \
                     --vocab-words/--vocab-tags` reads only data those vocabularies cover",
                    i + 1,
                    sentence.words.join(" ")
                )
            })
        })
        .collect()
}

/// The one file of `dir` whose name ends in `<split>.conllu` or `<split>.conllu.gz`.
fn treebank_file(dir: &Path, split: &str) -> anyhow::Result<PathBuf> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read the treebank folder {} (pass a Universal Dependencies folder with --data-dir)",
            dir.display()
        )
    })?;
    let mut found: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| {
                n.ends_with(&format!("{split}.conllu"))
                    || n.ends_with(&format!("{split}.conllu.gz"))
            })
        })
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => anyhow::bail!(
            "{}: no *{split}.conllu or *{split}.conllu.gz file; a treebank folder holds the train, dev and test splits (e.g. en_ewt-ud-{split}.conllu.gz)",
            dir.display()
        ),
        _ => {
            found.sort();
            anyhow::bail!(
                "{}: several {split} files ({}); keep one",
                dir.display(),
                found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}
