//! The training toolkit of the Burn model zoo, for the zoo's models and for yours.
//!
//! A model tells the toolkit what it is by implementing [`ZooModel`]: its name, its config, its
//! data ([`data::DataSource`]), its task ([`task::Task`]) and how to build it. From that, every
//! operation works for it on every backend ([`backend`]): training with burn-train's learner
//! inside the zoo's loop (exact resume, a divergence guard, global gradient clipping, several
//! devices and several machines; [`learner`], [`parallel`]), evaluation, prediction, PyTorch
//! import and step timing ([`run`]). A [`Registry`] finds models by name and loads their
//! configs ([`config`]); the `zoo` command line (crate zoo-cli) is built on it.
#![deny(missing_docs)]

pub mod backend;
pub mod config;
pub mod data;
pub mod learner;
pub mod model;
pub mod parallel;
pub mod registry;
pub mod run;
pub mod task;

pub use model::ZooModel;
pub use registry::{LoadedExperiment, Registration, Registry};
