//! What a model computes, by kind: class logits ([`Classifier`]), predicted values
//! ([`Regressor`]), tag scores per word ([`Tagger`]). Each model of the zoo implements the one it
//! is; a training loop (the zoo's toolkit, or your own) needs nothing else to run it.

use burn::prelude::*;

use crate::nn::Crf;

/// A model that maps inputs of rank `D` (`[batch, ...]`) to class logits `[batch, classes]`.
pub trait Classifier<B: Backend, const D: usize> {
    /// `inputs` → logits `[batch, classes]`.
    fn logits(&self, inputs: Tensor<B, D>) -> Tensor<B, 2>;
}

/// A model that maps inputs `[batch, features]` to predictions `[batch, outputs]`.
pub trait Regressor<B: Backend> {
    /// `inputs` → predictions `[batch, outputs]`.
    fn predict(&self, inputs: Tensor<B, 2>) -> Tensor<B, 2>;
}

/// A padded batch of sentences, as a [`Tagger`] reads it.
#[derive(Debug, Clone)]
pub struct Sentences<B: Backend> {
    /// Word ids `Int [sentences, longest]`, padded with id 0.
    pub words: Tensor<B, 2, Int>,
    /// Each sentence's length.
    pub lengths: Vec<usize>,
    /// The characters of every word position, for taggers that read words as written; `None`
    /// where the data gives none.
    pub chars: Option<WordChars<B>>,
}

/// The characters of every word position of a [`Sentences`] batch.
#[derive(Debug, Clone)]
pub struct WordChars<B: Backend> {
    /// Character ids `Int [rows, longest word]`, padded with id 0, a word as written a row.
    pub ids: Tensor<B, 2, Int>,
    /// Characters of each row (at least 1: a padded word position counts one padding
    /// character).
    pub lengths: Vec<usize>,
    /// The row of `ids` that each word position reads, `Int [sentences * longest]` (position
    /// `s * longest + t` is word `t` of sentence `s`), so a batch can write each distinct word
    /// once and have it encoded once; `None`: row `s * longest + t` is that position's.
    pub rows: Option<Tensor<B, 1, Int>>,
}

/// A model that gives every word of a padded batch of sentences a log-probability per tag.
pub trait Tagger<B: Backend> {
    /// The sentences → log-probabilities `[sentences, longest, tags]`; values at padded
    /// positions mean nothing.
    fn tag(&self, sentences: Sentences<B>) -> Tensor<B, 3>;

    /// The CRF that scores whole tag sequences on top of [`Tagger::tag`]'s word scores, where
    /// the model has one: it is then trained on the sentences' likelihood and read by Viterbi
    /// decoding instead of word by word.
    fn crf(&self) -> Option<&Crf<B>> {
        None
    }
}
