//! Vocabularies: tokens (words or tags) numbered from 0, built from training data or read from
//! a file in one of four forms: the zoo's own (a header line, then one token per line), plain
//! text (one token per line, as a PyTorch user writes `"\n".join(itos)`), a JSON object of
//! token → id (the sequence-models tutorial's `word_to_ix` and `tag_to_ix`, saved with `json.dump`), or a JSON list
//! of tokens in id order (torchtext's `get_itos()`).
//!
//! ```
//! use std::path::Path;
//! use zoo_data::vocab::Vocab;
//!
//! // The sequence-models tutorial's word_to_ix, as `json.dump(word_to_ix, f)` writes it.
//! let json = r#"{"The": 0, "dog": 1, "ate": 2, "the": 3, "apple": 4}"#;
//! let words = Vocab::from_text(json, Path::new("word_to_ix.json")).unwrap();
//! assert_eq!(words.id("the").unwrap(), 3);
//! // No `<unk>` in a PyTorch user's dictionary: an unknown word is an error, not a guess.
//! let err = words.id("cat").unwrap_err();
//! assert_eq!(err.token, "cat");
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A vocabulary file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct VocabError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// A token that a vocabulary without `<unk>` does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{token}` is not in the vocabulary ({size} tokens, no `<unk>` to stand for the others: a \
     vocabulary imported from PyTorch's `word_to_ix` knows only its own tokens)"
)]
pub struct UnknownToken {
    /// The token, as given.
    pub token: String,
    /// Tokens the vocabulary holds.
    pub size: usize,
}

/// Tokens (words or tags) numbered from 0. One built from training data starts with `<pad>`
/// (0) and `<unk>` (1), then the tokens most frequent first (ties in byte order), so a
/// vocabulary built twice from the same data numbers its tokens the same way. One read from a
/// file numbers them as the file does; a token it lacks is `<unk>` where it has one, an
/// [`UnknownToken`] error where it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab {
    tokens: Vec<String>,
    ids: HashMap<String, usize>,
    lowercase: bool,
    unk: Option<usize>,
}

const VOCAB_HEADER: &str = "# zoo vocabulary v1";

impl Vocab {
    /// The padding token.
    pub const PAD: &'static str = "<pad>";
    /// The token of everything the vocabulary does not hold.
    pub const UNK: &'static str = "<unk>";
    /// Id of [`Vocab::PAD`] in a built vocabulary (and the id padded positions hold).
    pub const PAD_ID: usize = 0;
    /// Id of [`Vocab::UNK`] in a built vocabulary.
    pub const UNK_ID: usize = 1;

    /// The vocabulary of `tokens` (lowercased first if `lowercase`), keeping those seen at least
    /// `min_count` times.
    pub fn build<'a>(
        tokens: impl IntoIterator<Item = &'a str>,
        min_count: usize,
        lowercase: bool,
    ) -> Self {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for token in tokens {
            *counts.entry(normalize(token, lowercase)).or_default() += 1;
        }
        let mut kept: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(token, count)| {
                *count >= min_count.max(1) && token != Self::PAD && token != Self::UNK
            })
            .collect();
        kept.sort_by(|(a, ca), (b, cb)| cb.cmp(ca).then_with(|| a.cmp(b)));
        Self::from_tokens(
            [Self::PAD.to_string(), Self::UNK.to_string()]
                .into_iter()
                .chain(kept.into_iter().map(|(t, _)| t))
                .collect(),
            lowercase,
        )
    }

    fn from_tokens(tokens: Vec<String>, lowercase: bool) -> Self {
        let ids: HashMap<String, usize> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Self {
            unk: ids.get(Self::UNK).copied(),
            tokens,
            ids,
            lowercase,
        }
    }

    /// Tokens, `<pad>` and `<unk>` included where it has them.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether it holds no token (never, for a built or read vocabulary).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether tokens are lowercased before lookup.
    pub fn lowercase(&self) -> bool {
        self.lowercase
    }

    /// The id of `<unk>`, where the vocabulary has one.
    pub fn unk(&self) -> Option<usize> {
        self.unk
    }

    /// The id of `token`, or of `<unk>` for a token it lacks; an error where it has no `<unk>`.
    pub fn id(&self, token: &str) -> Result<usize, UnknownToken> {
        self.ids
            .get(normalize(token, self.lowercase).as_str())
            .copied()
            .or(self.unk)
            .ok_or_else(|| UnknownToken {
                token: token.to_string(),
                size: self.tokens.len(),
            })
    }

    /// The token numbered `id` (`<unk>` for an id out of range).
    pub fn token(&self, id: usize) -> &str {
        self.tokens.get(id).map_or(Self::UNK, String::as_str)
    }

    /// Every token, by id.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The vocabulary as text: a header line, then one token per line in id order (line `n + 2`
    /// holds the token of id `n`).
    pub fn to_text(&self) -> String {
        let mut text = format!("{VOCAB_HEADER} lowercase={}\n", self.lowercase);
        for token in &self.tokens {
            text.push_str(token);
            text.push('\n');
        }
        text
    }

    /// Reads a vocabulary in any of the four forms (the zoo's, plain lines, a JSON object of
    /// token → id, a JSON list of tokens); `path` names it in errors. Text that starts with `{`
    /// or `[` is read as JSON. Only the zoo's form can say `lowercase=true`; the others are
    /// case-sensitive.
    pub fn from_text(text: &str, path: &Path) -> Result<Self, VocabError> {
        let error = |message: String| VocabError {
            path: path.to_path_buf(),
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (tokens, lowercase) = if text.trim_start().starts_with(['{', '[']) {
            (json_tokens(text).map_err(error)?, false)
        } else if let Some(rest) = text.strip_prefix(VOCAB_HEADER) {
            let (header, body) = rest.split_once('\n').unwrap_or((rest, ""));
            let lowercase = match header.trim() {
                "lowercase=true" => true,
                "lowercase=false" => false,
                other => {
                    return Err(error(format!(
                        "the header line ends in `{other}`; it must be `{VOCAB_HEADER} \
                         lowercase=true` or `... lowercase=false`"
                    )))
                }
            };
            (line_tokens(body, 2).map_err(error)?, lowercase)
        } else {
            (line_tokens(text, 1).map_err(error)?, false)
        };
        if tokens.is_empty() {
            return Err(error(
                "no tokens: a vocabulary holds one token per line, or a JSON object of token → id"
                    .into(),
            ));
        }
        Ok(Self::from_tokens(tokens, lowercase))
    }

    /// Reads a vocabulary file in any of the forms [`Vocab::from_text`] reads.
    pub fn load(path: &Path) -> Result<Self, VocabError> {
        let text = std::fs::read_to_string(path).map_err(|e| VocabError {
            path: path.to_path_buf(),
            message: format!("cannot read the vocabulary: {e}"),
        })?;
        Self::from_text(&text, path)
    }
}

impl fmt::Display for Vocab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} tokens", self.tokens.len())?;
        if self.unk.is_none() {
            write!(f, " (no `{}`)", Self::UNK)?;
        }
        Ok(())
    }
}

/// The tokens of one-per-line text whose first line is line `first` of the file: each line
/// whole (a token may hold spaces).
fn line_tokens(body: &str, first: usize) -> Result<Vec<String>, String> {
    let tokens = body
        .lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line).to_string())
        .collect();
    check_unique(tokens, |id| format!("line {}", id + first))
}

/// The tokens of a JSON object of token → id (`word_to_ix`; the ids must be 0, 1, ... n−1,
/// once each) or of a JSON list of tokens in id order (`itos`), by id.
fn json_tokens(text: &str) -> Result<Vec<String>, String> {
    const FORMS: &str = "a JSON object of token → id (as json.dump(word_to_ix, f) writes it) or \
                         a JSON list of tokens in id order";
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("not valid JSON ({e}); expected {FORMS}"))?;
    let map = match value {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Array(list) => {
            let tokens = list
                .into_iter()
                .map(|token| match token {
                    serde_json::Value::String(token) => Ok(token),
                    other => Err(format!(
                        "the list holds {other}, not a token; expected {FORMS}"
                    )),
                })
                .collect::<Result<Vec<String>, String>>()?;
            return check_unique(tokens, |id| format!("id {id}"));
        }
        other => return Err(format!("the file holds {other}; expected {FORMS}")),
    };
    let mut by_id: Vec<Option<String>> = vec![None; map.len()];
    for (token, id) in map {
        let Some(id) = id.as_u64().map(|id| id as usize) else {
            return Err(format!(
                "`{token}` has the id {id}; ids are whole numbers from 0"
            ));
        };
        let Some(slot) = by_id.get_mut(id) else {
            return Err(format!(
                "`{token}` has the id {id}, but {} tokens take the ids 0 to {}",
                by_id.len(),
                by_id.len() - 1
            ));
        };
        if let Some(other) = slot.replace(token.clone()) {
            return Err(format!("`{other}` and `{token}` both have the id {id}"));
        }
    }
    // Every slot is filled: n distinct ids below n.
    Ok(by_id.into_iter().flatten().collect())
}

/// `tokens`, where none is empty and none appears twice; `place(id)` says where a token is in
/// the file (`line 3`, `id 2`).
fn check_unique(
    tokens: Vec<String>,
    place: impl Fn(usize) -> String,
) -> Result<Vec<String>, String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (id, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err(format!(
                "{} is empty; a vocabulary holds one token per line, its id the line's place",
                place(id)
            ));
        }
        if let Some(earlier) = seen.insert(token, id) {
            return Err(format!(
                "`{token}` is at {} and again at {}; each token has one id",
                place(earlier),
                place(id)
            ));
        }
    }
    Ok(tokens)
}

/// `token`, lowercased if `lowercase`.
pub(crate) fn normalize(token: &str, lowercase: bool) -> String {
    if lowercase {
        token.to_lowercase()
    } else {
        token.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "runs/x/vocab-words.txt";

    fn read(text: &str) -> Result<Vocab, String> {
        Vocab::from_text(text, Path::new(PATH)).map_err(|e| e.to_string())
    }

    #[test]
    fn built_vocabularies_order_by_count_drop_rare_words_and_round_trip() {
        let words = "the dog the cat The a a the".split(' ');
        let vocab = Vocab::build(words.clone(), 2, true);
        assert_eq!(vocab.tokens(), ["<pad>", "<unk>", "the", "a"]);
        assert_eq!(vocab.id("THE"), Ok(2));
        assert_eq!(vocab.id("dog"), Ok(Vocab::UNK_ID));
        let cased = Vocab::build(words, 1, false);
        assert_eq!(
            cased.tokens(),
            ["<pad>", "<unk>", "the", "a", "The", "cat", "dog"]
        );
        assert_eq!(cased.id("THE"), Ok(Vocab::UNK_ID));
        assert_eq!(read(&vocab.to_text()).unwrap(), vocab);
        assert_eq!(read(&cased.to_text()).unwrap(), cased);
    }

    #[test]
    fn plain_lines_and_seed_json_number_tokens_as_the_file_does() {
        let lines = read("DET\nNN\r\nV\n").unwrap();
        assert_eq!(lines.tokens(), ["DET", "NN", "V"]);
        assert_eq!(lines.unk(), None);
        assert!(!lines.lowercase());
        // The sequence-models tutorial's word_to_ix, as json.dump writes it (keys in insertion order).
        let json = read(r#"{"The": 0, "dog": 1, "ate": 2, "the": 3, "apple": 4, "Everybody": 5}"#)
            .unwrap();
        assert_eq!(json.id("the"), Ok(3));
        assert_eq!(json.id("The"), Ok(0)); // case kept, as the seed's dictionary does
        assert_eq!(
            json.id("cat"),
            Err(UnknownToken {
                token: "cat".into(),
                size: 6
            })
        );
        // The zoo's own form round-trips a vocabulary without <pad> or <unk> too.
        assert_eq!(read(&json.to_text()).unwrap(), json);
        // A file with <unk> anywhere uses it for what it lacks.
        assert_eq!(read("a\n<unk>\nb\n").unwrap().id("zzz"), Ok(1));
        // A JSON list of tokens in id order (torchtext's get_itos()).
        assert_eq!(read(r#"["<unk>", "the"]"#).unwrap().id("dog"), Ok(0));
    }

    #[test]
    fn a_broken_vocabulary_file_says_what_is_wrong_where() {
        for (text, expected) in [
            ("", "no tokens"),
            ("the\n\ndog\n", "line 2 is empty"),
            ("the\ndog\nthe\n", "`the` is at line 1 and again at line 3"),
            (
                "# zoo vocabulary v1 lowercase=maybe\nthe\n",
                "the header line ends in `lowercase=maybe`",
            ),
            (
                "# zoo vocabulary v1 lowercase=true\na\na\n",
                "`a` is at line 2 and again at line 3",
            ),
            (r#"{"a": 0, "b": 0}"#, "`a` and `b` both have the id 0"),
            (
                r#"{"a": 0, "b": 2}"#,
                "`b` has the id 2, but 2 tokens take the ids 0 to 1",
            ),
            (r#"{"a": -1}"#, "`a` has the id -1; ids are whole numbers"),
            (r#"{"a": 0,"#, "not valid JSON"),
            (r#"["a", 3]"#, "the list holds 3, not a token"),
            (r#"["a", "b", "a"]"#, "`a` is at id 0 and again at id 2"),
        ] {
            let err = read(text).unwrap_err();
            assert!(err.starts_with(&format!("{PATH}: ")), "{err}");
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
