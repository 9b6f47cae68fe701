//! Training, evaluation and the `zoo` command line of the Burn model zoo.
//!
//! `zoo train` reads an experiment config (`configs/<model>.toml`, embedded; flags override it),
//! trains with burn-train's supervised learner on the chosen backend and writes
//! `runs/<name>/`: `config.toml`, `checkpoint/`, `metrics.csv`, `model.mpk`, `summary.json`.
//! `zoo eval --run DIR` reloads the model and reproduces the test figures; `zoo predict --run DIR
//! "A sentence"` tags words with a trained `pos-tagger`. `zoo import` turns a
//! PyTorch `state_dict` file into a run folder.

pub mod artifacts;
pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod cli;
mod clip;
pub mod compare;
pub mod config;
#[cfg(feature = "distributed")]
pub mod distributed;
pub mod download;
pub mod eval;
pub mod import;
pub mod models;
mod optim;
pub mod plots;
pub mod predict;
pub mod predict_image;
pub mod progress;
pub mod report;
pub mod shard;
mod strategy;
pub mod task;
pub mod train;
