//! Part-of-speech data: the sequence-models tutorial's two toy sentences, a CoNLL-U reader (Universal Dependencies
//! treebanks such as English-EWT), word and tag vocabularies, and a batcher of padded,
//! length-bucketed batches.
//!
//! ```
//! use zoo_data::pos::{toy_sentences, Vocab};
//!
//! let train = toy_sentences();
//! let words = Vocab::build(train.iter().flat_map(|s| s.words.iter().map(String::as_str)), 1, false);
//! assert_eq!(words.token(words.id("dog").unwrap()), "dog");
//! assert_eq!(words.id("cat"), Ok(Vocab::UNK_ID)); // never seen: `<unk>`
//! ```

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use flate2::read::MultiGzDecoder;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::sniff::open_sniffed;
use crate::vocab::normalize;
pub use crate::vocab::{UnknownToken, Vocab, VocabError};

/// One sentence with a tag per word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedSentence {
    /// The words, in order.
    pub words: Vec<String>,
    /// One tag per word.
    pub tags: Vec<String>,
}

/// The sequence-models tutorial's training data: `The dog ate the apple` (DET NN V DET NN) and
/// `Everybody read that book` (NN V DET NN).
pub fn toy_sentences() -> Vec<TaggedSentence> {
    let sentence = |words: &str, tags: &str| TaggedSentence {
        words: words.split(' ').map(str::to_string).collect(),
        tags: tags.split(' ').map(str::to_string).collect(),
    };
    vec![
        sentence("The dog ate the apple", "DET NN V DET NN"),
        sentence("Everybody read that book", "NN V DET NN"),
    ]
}

/// Which CoNLL-U column holds the tags to learn. In configs: `"upos"` or `"xpos"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagColumn {
    /// Column 4: the 17 Universal POS tags.
    Upos,
    /// Column 5: the treebank's own tags (Penn Treebank tags for English-EWT).
    Xpos,
}

impl TagColumn {
    /// `upos` or `xpos`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "upos" => Some(Self::Upos),
            "xpos" => Some(Self::Xpos),
            _ => None,
        }
    }

    /// The name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Upos => "upos",
            Self::Xpos => "xpos",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Upos => 3,
            Self::Xpos => 4,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Upos => "UPOS (column 4)",
            Self::Xpos => "XPOS (column 5)",
        }
    }
}

/// A CoNLL-U file that cannot be read, with the file and line at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConlluError {
    /// The file could not be opened.
    #[error("{}: cannot open: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A line breaks the format (or could not be read: bad gzip data, not UTF-8).
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file holds no sentence at all.
    #[error("{}: no sentences in this file (is it CoNLL-U?)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// Reads every sentence of a `.conllu` file (or a gzip-compressed one, whatever its name), with
/// its tags from `column`. Comment lines, multiword-token ranges (`3-4`) and empty nodes (`5.1`)
/// are skipped; anything else that breaks the format is an error naming `file:line`.
pub fn read_conllu(path: &Path, column: TagColumn) -> Result<Vec<TaggedSentence>, ConlluError> {
    let (reader, gzip) = open_sniffed(path).map_err(|source| ConlluError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let reader: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    parse_conllu(BufReader::new(reader), path, column)
}

/// [`read_conllu`] on any reader of plain CoNLL-U text; `path` names it in errors.
pub fn parse_conllu<R: BufRead>(
    reader: R,
    path: &Path,
    column: TagColumn,
) -> Result<Vec<TaggedSentence>, ConlluError> {
    Ok(parse_blocks(reader, path, Some(column))?
        .into_iter()
        .map(|(sentence, _)| sentence)
        .collect())
}

/// The sentences of CoNLL-U text to be tagged, each with its lines as they are (comments,
/// multiword ranges and empty nodes included), for [`fill_tags`]; the tag columns may be empty
/// (`_`). Errors as [`read_conllu`]'s.
pub fn read_blocks<R: BufRead>(
    reader: R,
    path: &Path,
) -> Result<Vec<(Vec<String>, String)>, ConlluError> {
    Ok(parse_blocks(reader, path, None)?
        .into_iter()
        .map(|(sentence, block)| (sentence.words, block))
        .collect())
}

/// The sentences of CoNLL-U text with their lines, tags from `column` (`None`: tags are not
/// read, and may be missing).
fn parse_blocks<R: BufRead>(
    mut reader: R,
    path: &Path,
    column: Option<TagColumn>,
) -> Result<Vec<(TaggedSentence, String)>, ConlluError> {
    let malformed = |line: usize, message: String| ConlluError::Malformed {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut sentences = Vec::new();
    let mut current = TaggedSentence {
        words: Vec::new(),
        tags: Vec::new(),
    };
    // Comments or multiword ranges seen since the last sentence ended.
    let mut opened = false;
    let mut number = 0;
    let mut text = String::new();
    let mut block = String::new();
    loop {
        text.clear();
        let read = reader
            .read_line(&mut text)
            .map_err(|e| malformed(number + 1, format!("cannot read this line: {e}")))?;
        if read == 0 {
            break;
        }
        number += 1;
        let line = text.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            if !current.words.is_empty() {
                let sentence = std::mem::replace(
                    &mut current,
                    TaggedSentence {
                        words: Vec::new(),
                        tags: Vec::new(),
                    },
                );
                sentences.push((sentence, std::mem::take(&mut block)));
            } else if opened {
                return Err(malformed(
                    number,
                    "the sentence ending here has no words (only comments or multiword ranges)"
                        .into(),
                ));
            }
            opened = false;
            continue;
        }
        if line.starts_with('#') {
            if !current.words.is_empty() {
                return Err(malformed(
                    number,
                    "comment inside a sentence: comments come before a sentence's first word \
                     (is the blank line that ends the previous sentence missing?)"
                        .into(),
                ));
            }
            opened = true;
            block.push_str(line);
            block.push('\n');
            continue;
        }
        block.push_str(line);
        block.push('\n');
        match word_line(line, current.words.len() + 1, column) {
            Ok(Some((form, tag))) => {
                current.words.push(form.to_string());
                current.tags.push(tag.to_string());
            }
            // A multiword token or an empty node: not a word to tag.
            Ok(None) => opened = true,
            Err(message) => return Err(malformed(number, message)),
        }
    }
    if !current.words.is_empty() {
        sentences.push((current, block));
    } else if opened {
        return Err(malformed(
            number,
            "the last sentence has no words (only comments or multiword ranges)".into(),
        ));
    }
    if sentences.is_empty() {
        return Err(ConlluError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(sentences)
}

/// The word form and tag of a CoNLL-U word line (the `expected`-th word of its sentence), `None`
/// for a multiword range (`3-4`) or an empty node (`5.1`), or what is wrong with the line.
fn word_line(
    line: &str,
    expected: usize,
    column: Option<TagColumn>,
) -> Result<Option<(&str, &str)>, String> {
    let columns: Vec<&str> = line.split('\t').collect();
    if columns.len() != 10 {
        return Err(format!(
            "{} tab-separated columns, CoNLL-U has 10 (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL \
             DEPS MISC)",
            columns.len()
        ));
    }
    let id = columns[0];
    let number_pair = |sep: char| {
        id.split_once(sep)
            .map(|(a, b)| a.parse::<usize>().is_ok() && b.parse::<usize>().is_ok())
            .unwrap_or(false)
    };
    if number_pair('-') || number_pair('.') {
        return Ok(None);
    }
    match id.parse::<usize>() {
        Ok(n) if n == expected => {}
        Ok(n) => {
            return Err(format!(
                "word id {n} where {expected} was expected (ids count from 1 in each sentence; is \
                 a blank line missing or a line lost?)"
            ))
        }
        Err(_) => {
            return Err(format!(
                "`{id}` is not a word id (an integer, a range like 3-4 or a decimal like 5.1)"
            ))
        }
    }
    let form = columns[1];
    if form.is_empty() {
        return Err("empty word form (column 2)".into());
    }
    let Some(column) = column else {
        return Ok(Some((form, "_")));
    };
    let tag = columns[column.index()];
    if tag.is_empty() || tag == "_" {
        return Err(format!(
            "no {} tag for `{form}`; choose the other tag column if this treebank has only that \
             one",
            column.label()
        ));
    }
    Ok(Some((form, tag)))
}

/// A block of [`read_blocks`] with the tags of its words, in order, written into `column`:
/// valid CoNLL-U, every other column and line as it was.
pub fn fill_tags(block: &str, column: TagColumn, tags: &[&str]) -> String {
    let mut tags = tags.iter();
    let mut out = String::with_capacity(block.len() + 8 * tags.len());
    for line in block.lines() {
        let mut columns: Vec<&str> = line.split('\t').collect();
        let is_word = columns.len() == 10 && columns[0].parse::<usize>().is_ok();
        if let Some(tag) = is_word.then(|| tags.next()).flatten() {
            columns[column.index()] = tag;
        }
        out.push_str(&columns.join("\t"));
        out.push('\n');
    }
    out
}

/// The CoNLL-U block of a line of raw text, its words as [`tokenize`] splits it: `# sent_id`,
/// `# text`, then one word line each, every column but ID and FORM empty (`_`).
pub fn text_block(sent_id: usize, text: &str, words: &[String]) -> String {
    let mut block = format!("# sent_id = {sent_id}\n# text = {}\n", text.trim());
    for (i, word) in words.iter().enumerate() {
        block.push_str(&format!("{}\t{word}\t_\t_\t_\t_\t_\t_\t_\t_\n", i + 1));
    }
    block
}

/// The word forms of the training split (normalized as the word vocabulary does), to tell which
/// test words the model never saw, whatever the vocabulary's minimum count.
#[derive(Debug, Clone, Default)]
pub struct SeenWords {
    words: HashSet<String>,
    lowercase: bool,
}

impl SeenWords {
    /// The words of `sentences`.
    pub fn new(sentences: &[TaggedSentence], lowercase: bool) -> Self {
        Self {
            words: sentences
                .iter()
                .flat_map(|s| s.words.iter().map(|w| normalize(w, lowercase)))
                .collect(),
            lowercase,
        }
    }

    /// Whether `word` occurs in the training split.
    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(&normalize(word, self.lowercase))
    }
}

/// A sentence that a vocabulary without `<unk>` cannot encode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A word the word vocabulary lacks.
    #[error("the word {0}")]
    Word(UnknownToken),
    /// A tag the tag vocabulary lacks.
    #[error("the tag {0}")]
    Tag(UnknownToken),
    /// A character the character vocabulary lacks.
    #[error("the character {0}")]
    Char(UnknownToken),
    /// A sentence of no words: nothing to tag.
    #[error("a sentence of no words")]
    Empty,
}

/// The characters of `word` a tagger reads, each as a token (at most [`MAX_WORD_CHARS`]).
pub fn word_chars(word: &str) -> Vec<String> {
    let chars: Vec<String> = word.chars().map(String::from).collect();
    if chars.len() <= MAX_WORD_CHARS {
        return chars;
    }
    let half = MAX_WORD_CHARS / 2;
    let mut kept = chars[..half].to_vec();
    kept.extend_from_slice(&chars[chars.len() - half..]);
    kept
}

/// The ids of `tokens` in `vocab`.
fn ids(tokens: &[String], vocab: &Vocab) -> Result<Vec<usize>, UnknownToken> {
    tokens.iter().map(|t| vocab.id(t)).collect()
}

/// The vocabularies of a tagger: its words, its tags and, for a tagger that reads words as
/// written, the characters.
#[derive(Debug, Clone)]
pub struct Vocabularies {
    /// Words (`<pad>` and `<unk>` first in a built one).
    pub words: Vocab,
    /// Tags.
    pub tags: Vocab,
    /// Characters, case kept (`None`: the tagger reads word ids only).
    pub chars: Option<Vocab>,
    /// The first word id of the words seen at most once, twice, three times in the training
    /// split ([`rare_from`] of [`word_counts`]; the vocabulary's size where none is, or where
    /// the split is not known), for word dropout that falls on rare words.
    pub rare_from: [usize; 3],
}

/// For the [`word_counts`] of a vocabulary built from the training split (most frequent first):
/// the first id of the words seen at most once, at most twice, at most three times there (the
/// vocabulary's size where there is none).
pub fn rare_from(counts: &[usize]) -> [usize; 3] {
    [1, 2, 3].map(|at_most| first_below(counts, at_most as f64 + 1.0))
}

/// How often each word id of `words` occurs in `train` (0 for `<pad>`, and for `<unk>` unless a
/// word of `train` is missing from `words`).
pub fn word_counts(words: &Vocab, train: &[TaggedSentence]) -> Vec<usize> {
    let mut counts = vec![0usize; words.len()];
    for word in train.iter().flat_map(|s| s.words.iter()) {
        if let Ok(id) = words.id(word) {
            counts[id] += 1;
        }
    }
    counts
}

/// The first id after `<unk>` whose count is below `limit` (`counts.len()` where none is).
fn first_below(counts: &[usize], limit: f64) -> usize {
    let first_real = (Vocab::UNK_ID + 1).min(counts.len());
    (first_real..counts.len())
        .find(|&id| (counts[id] as f64) < limit)
        .unwrap_or(counts.len())
}

/// Characters of a word that a tagger reads: a longer word keeps its first and last
/// `MAX_WORD_CHARS / 2` (a URL's start, a suffix), so one long token cannot lengthen a batch.
pub const MAX_WORD_CHARS: usize = 24;

/// A sentence as ids: its words', its tags', its words' characters (where the tagger reads
/// them), and which words the training split never had. It has at least one word: encoding
/// refuses an empty sentence ([`EncodeError::Empty`]), so a batch's lengths are its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedSentence {
    /// Word ids.
    pub words: Vec<usize>,
    /// Tag ids (a tag missing from the tag vocabulary is `<unk>` and can never be predicted).
    pub tags: Vec<usize>,
    /// Each word's character ids (empty where the vocabularies have no characters).
    pub chars: Vec<Vec<usize>>,
    /// `true` for a word absent from the training split.
    pub unseen: Vec<bool>,
}

impl EncodedSentence {
    /// Encodes `sentence` with the vocabularies; a word, tag or character that a vocabulary
    /// without `<unk>` lacks is an error naming it.
    pub fn new(
        sentence: &TaggedSentence,
        vocabularies: &Vocabularies,
        seen: &SeenWords,
    ) -> Result<Self, EncodeError> {
        Ok(Self {
            tags: ids(&sentence.tags, &vocabularies.tags).map_err(EncodeError::Tag)?,
            ..Self::untagged(&sentence.words, vocabularies, seen)?
        })
    }

    /// Encodes words whose tags are unknown (tag ids 0), to be tagged; at least one word.
    pub fn untagged(
        words: &[String],
        vocabularies: &Vocabularies,
        seen: &SeenWords,
    ) -> Result<Self, EncodeError> {
        if words.is_empty() {
            return Err(EncodeError::Empty);
        }
        let chars = match &vocabularies.chars {
            Some(chars) => words
                .iter()
                .map(|word| ids(&word_chars(word), chars))
                .collect::<Result<_, _>>()
                .map_err(EncodeError::Char)?,
            None => Vec::new(),
        };
        Ok(Self {
            words: ids(words, &vocabularies.words).map_err(EncodeError::Word)?,
            tags: vec![0; words.len()],
            chars,
            unseen: words.iter().map(|w| !seen.contains(w)).collect(),
        })
    }

    /// Words in the sentence.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether it has no words (never, for sentences read by [`read_conllu`]).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// Sentences of similar length, trained on as one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentenceBucket {
    /// The sentences.
    pub sentences: Vec<EncodedSentence>,
}

/// Cuts `sentences` into buckets of at most `batch_size` sentences of similar length, so a
/// padded batch wastes little: sentences are ordered by length (ties broken by a shuffle from
/// `seed`) and cut in order. The data loader shuffles the buckets every epoch.
pub fn bucket_by_length(
    mut sentences: Vec<EncodedSentence>,
    batch_size: usize,
    seed: u64,
) -> Vec<SentenceBucket> {
    sentences.shuffle(&mut StdRng::seed_from_u64(seed));
    sentences.sort_by_key(EncodedSentence::len);
    sentences
        .chunks(batch_size.max(1))
        .map(|chunk| SentenceBucket {
            sentences: chunk.to_vec(),
        })
        .collect()
}

/// Padding tokens over real tokens when `sentences` are cut into buckets of `batch_size` as
/// [`bucket_by_length`] does (0 means no padding at all).
pub fn padding_ratio(buckets: &[SentenceBucket]) -> f64 {
    let (mut real, mut padded) = (0usize, 0usize);
    for bucket in buckets {
        let longest = bucket.sentences.iter().map(EncodedSentence::len).max();
        real += bucket
            .sentences
            .iter()
            .map(EncodedSentence::len)
            .sum::<usize>();
        padded += longest.unwrap_or(0) * bucket.sentences.len();
    }
    (padded - real) as f64 / real.max(1) as f64
}

/// A padded batch of sentences.
#[derive(Debug, Clone)]
pub struct TaggingBatch<B: Backend> {
    /// Word ids `Int [batch, longest]`, `<pad>` after each sentence's end.
    pub words: Tensor<B, 2, Int>,
    /// Each sentence's length (at least 1), for the LSTM's packed run; the sentence's tokens
    /// in `positions`, `tags` and `unseen`.
    pub lengths: Vec<usize>,
    /// Where the real tokens are in `words` flattened to `[batch * longest]`: `Int [tokens]`,
    /// sentence by sentence.
    pub positions: Tensor<B, 1, Int>,
    /// The tag of each real token, `Int [tokens]`, in the order of `positions`.
    pub tags: Tensor<B, 1, Int>,
    /// 1 where the token's word is absent from the training split, `Int [tokens]`.
    pub unseen: Tensor<B, 1, Int>,
    /// The characters of the batch's words, where the sentences carry them.
    pub chars: Option<BatchChars<B>>,
}

/// The characters of a batch's word positions, each distinct word written (and so encoded)
/// once.
#[derive(Debug, Clone)]
pub struct BatchChars<B: Backend> {
    /// Character ids `Int [rows, longest word]`, padded with 0: row 0 stands for a padded word
    /// position (one padding character), every other row for a distinct word of the batch, the
    /// longest first.
    pub ids: Tensor<B, 2, Int>,
    /// Characters of each row.
    pub lengths: Vec<usize>,
    /// The row of `ids` each word position reads, `Int [batch * longest]` (position
    /// `b * longest + t` is word `t` of sentence `b`).
    pub rows: Tensor<B, 1, Int>,
}

/// Makes one [`TaggingBatch`] of all the sentences of the buckets it is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaggingBatcher;

impl<B: Backend> Batcher<B, SentenceBucket, TaggingBatch<B>> for TaggingBatcher {
    fn batch(&self, items: Vec<SentenceBucket>, device: &B::Device) -> TaggingBatch<B> {
        let sentences: Vec<&EncodedSentence> =
            items.iter().flat_map(|b| b.sentences.iter()).collect();
        let longest = sentences.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let count = sentences.len();
        let mut words = vec![Vocab::PAD_ID as i64; count * longest];
        let (mut positions, mut tags, mut unseen) = (Vec::new(), Vec::new(), Vec::new());
        for (b, sentence) in sentences.iter().enumerate() {
            for t in 0..sentence.len() {
                let at = b * longest + t;
                words[at] = sentence.words[t] as i64;
                positions.push(at as i64);
                tags.push(sentence.tags[t] as i64);
                unseen.push(i64::from(sentence.unseen[t]));
            }
        }
        let ints = |values: Vec<i64>| {
            let n = values.len();
            Tensor::<B, 1, Int>::from_data(
                TensorData::new(values, [n]).convert::<B::IntElem>(),
                device,
            )
        };
        let chars = char_rows(&sentences, longest).map(|rows| BatchChars {
            ids: ints(rows.ids).reshape([rows.lengths.len(), rows.width]),
            lengths: rows.lengths,
            rows: ints(rows.rows),
        });
        TaggingBatch {
            words: ints(words).reshape([count, longest]),
            lengths: sentences.iter().map(|s| s.len()).collect(),
            positions: ints(positions),
            tags: ints(tags),
            unseen: ints(unseen),
            chars,
        }
    }
}

/// The characters of `sentences` padded to `longest` words, as [`BatchChars`] wants them, on
/// the host.
struct CharRows {
    ids: Vec<i64>,
    width: usize,
    lengths: Vec<usize>,
    rows: Vec<i64>,
}

/// Each distinct word's character ids once (row 0: a padded position; then the words longest
/// first), padded to the longest word's width, and the row every word position of `sentences`
/// padded to `longest` words reads; `None` where the sentences carry no characters.
fn char_rows(sentences: &[&EncodedSentence], longest: usize) -> Option<CharRows> {
    if sentences.iter().all(|s| s.chars.is_empty()) {
        return None;
    }
    let mut words: Vec<&[usize]> = vec![&[]];
    let mut row_of: HashMap<&[usize], usize> = HashMap::new();
    let mut rows = vec![0; sentences.len() * longest];
    for (b, sentence) in sentences.iter().enumerate() {
        for (t, chars) in sentence.chars.iter().enumerate() {
            let row = *row_of.entry(chars.as_slice()).or_insert_with(|| {
                words.push(chars);
                words.len() - 1
            });
            rows[b * longest + t] = row as i64;
        }
    }
    // The longest words first (row 0, padding, stays first): a packed recurrence then runs each
    // step over the leading rows only, the words that have not ended, as PyTorch's packed
    // sequences do.
    let mut order: Vec<usize> = (1..words.len()).collect();
    order.sort_by_key(|&row| std::cmp::Reverse(words[row].len()));
    let mut moved_to = vec![0i64; words.len()];
    for (new, &old) in order.iter().enumerate() {
        moved_to[old] = new as i64 + 1;
    }
    let words: Vec<&[usize]> = std::iter::once(words[0])
        .chain(order.iter().map(|&row| words[row]))
        .collect();
    for row in &mut rows {
        *row = moved_to[*row as usize];
    }
    let width = words.iter().map(|w| w.len()).max().unwrap_or(1).max(1);
    let mut ids = vec![Vocab::PAD_ID as i64; words.len() * width];
    for (row, chars) in words.iter().enumerate() {
        for (c, &id) in chars.iter().enumerate() {
            ids[row * width + c] = id as i64;
        }
    }
    Some(CharRows {
        ids,
        width,
        lengths: words.iter().map(|w| w.len().max(1)).collect(),
        rows,
    })
}

/// Splits a line of text into words the way the English treebanks do for the commonest cases: at
/// whitespace, with leading and trailing punctuation (`"`, `(`, `.`, `,`, `!`, `?`, `;`, `:`, ...)
/// as words of their own, abbreviations with inner full stops kept whole, and English clitics
/// split off (`don't` → `do n't`, `I'd` → `I 'd`, `John's` → `John 's`).
/// `"The dog ate." → ["The", "dog", "ate", "."]`.
pub fn tokenize(line: &str) -> Vec<String> {
    const PUNCT: &[char] = &[
        '.', ',', '!', '?', ';', ':', '"', '(', ')', '[', ']', '{', '}', '\u{201c}', '\u{201d}',
    ];
    let mut words = Vec::new();
    for piece in line.split_whitespace() {
        let start = piece.len() - piece.trim_start_matches(PUNCT).len();
        let (lead, rest) = piece.split_at(start);
        let mut core = rest.trim_end_matches(PUNCT);
        // An abbreviation (`e.g.`, `U.S.A.`) keeps its last full stop.
        if core.contains('.') && rest[core.len()..].starts_with('.') {
            core = &rest[..core.len() + 1];
        }
        let trail = &rest[core.len()..];
        words.extend(lead.chars().map(String::from));
        if !core.is_empty() {
            let (stem, clitic) = split_clitic(core);
            if !stem.is_empty() {
                words.push(stem.to_string());
            }
            words.extend(clitic.map(str::to_string));
        }
        // `...` stays one word, like the treebank's ellipses.
        if trail.chars().all(|c| c == '.') && trail.len() > 1 {
            words.push(trail.to_string());
        } else {
            words.extend(trail.chars().map(String::from));
        }
    }
    words
}

/// `("do", Some("n't"))` for `don't`, `("I", Some("'d"))` for `I'd` (straight or curly
/// apostrophe); `(word, None)` otherwise.
fn split_clitic(word: &str) -> (&str, Option<&str>) {
    let lower = word.to_lowercase();
    if lower.len() != word.len() {
        return (word, None); // case mapping changed byte offsets: leave it whole
    }
    const CLITICS: &[&str] = &[
        "n't",
        "n\u{2019}t",
        "'s",
        "'d",
        "'m",
        "'ll",
        "'re",
        "'ve",
        "\u{2019}s",
        "\u{2019}d",
        "\u{2019}m",
        "\u{2019}ll",
        "\u{2019}re",
        "\u{2019}ve",
    ];
    for clitic in CLITICS {
        if lower.ends_with(clitic) && lower.len() > clitic.len() {
            let at = word.len() - clitic.len();
            return (&word[..at], Some(&word[at..]));
        }
    }
    (word, None)
}

#[cfg(test)]
mod tests;
