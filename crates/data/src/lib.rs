//! Datasets, parsers and batchers of the Burn model zoo; no model code.
//!
//! - [`mnist`]: the four standard IDX files of MNIST (or Fashion-MNIST, same format), raw or
//!   gzip-compressed, from any folder, validated down to the last byte; batchers that make
//!   `[B, 28, 28]` (rows as a sequence) or `[B, 1, 28, 28]` (images) tensors.
//! - [`digit`]: a picture (PNG, any size) as a 28×28 MNIST digit, for prediction.
//! - [`pos`]: part-of-speech tagging: the sequence-models tutorial's toy sentences, a CoNLL-U reader (Universal
//!   Dependencies treebanks), vocabularies and a length-bucketing batcher of padded sentences.
//! - [`vocab`]: vocabularies of words or tags, built from data or read from the zoo's files,
//!   plain lines, or PyTorch users' JSON (`word_to_ix`).
//! - [`toy`]: the synthetic regression and two-cluster classification sets of Morvan's PyTorch tutorial.
//!
//! Every reader returns a typed error naming the file and the fault; nothing here panics on input.
#![deny(missing_docs)]

mod batch;
pub mod digit;
pub mod idx;
pub mod mnist;
pub mod pos;
mod sniff;
pub mod toy;
pub mod vocab;

pub use batch::{ClassificationBatch, RegressionBatch};
