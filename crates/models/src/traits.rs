//! What a model computes, by kind: class logits ([`Classifier`]), predicted values
//! ([`Regressor`]), tag scores per word ([`Tagger`]). Each model of the zoo implements the one it
//! is; a training loop (the zoo's toolkit, or your own) needs nothing else to run it.

use burn::prelude::*;

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

/// A model that gives every word of a padded batch of sentences a log-probability per tag.
pub trait Tagger<B: Backend> {
    /// Word ids `Int [sentences, longest]` (padded with id 0) and each sentence's length →
    /// log-probabilities `[sentences, longest, tags]`; values at padded positions mean nothing.
    fn tag(&self, words: Tensor<B, 2, Int>, lengths: &[usize]) -> Tensor<B, 3>;
}
