//! [`ZooModel`]: everything the toolkit needs to know of a model, so that training, evaluation,
//! import, prediction, benchmarks and reports work for it, whoever wrote it.

use std::fmt::Debug;

use burn::module::{AutodiffModule, ModuleDisplay};
use burn::tensor::backend::AutodiffBackend;
use serde::de::DeserializeOwned;
use serde::Serialize;
use zoo_models::InvalidConfig;

use crate::data::{Batches, DataSource};
use crate::task::{Solves, Task};

/// A model the toolkit can train: its name, its config, its data, its task and how to build it.
///
/// Implemented on a marker type (the module itself stays a plain Burn module). The registry
/// ([`crate::Registration::of`]) turns an implementation into a `zoo` model with every command;
/// see `examples/bring-your-own-model` for a complete one.
///
/// ```ignore
/// pub struct MnistLstmModel;
///
/// impl ZooModel for MnistLstmModel {
///     const NAME: &'static str = "mnist-lstm";
///     const DESCRIPTION: &'static str = "MNIST rows, LSTM 128 x 2, Linear 10";
///     const CONFIG: &'static str = include_str!("../../../configs/mnist-lstm.toml");
///     type Config = MnistLstmConfig;           // [model]
///     type Data = MnistData;                   // [data]: MNIST-format folders
///     type Task = Classification<3>;           // cross-entropy on [B, 28, 28] inputs
///     type Module<B: AutodiffBackend> = MnistLstm<B>;
///
///     fn recipe() -> MnistLstmConfig {
///         MnistLstmConfig::new()                // what [model] of CONFIG says, key for key
///     }
///
///     fn init<B: AutodiffBackend>(config: &MnistLstmConfig, _: &(), device: &B::Device) -> MnistLstm<B> {
///         config.init(device)
///     }
/// }
/// ```
pub trait ZooModel: Send + Sync + 'static {
    /// The name `zoo` knows the model by (`zoo train --model NAME`).
    const NAME: &'static str;
    /// One line on what the model is and where it comes from (`zoo models`).
    const DESCRIPTION: &'static str;
    /// The built-in experiment, as TOML: `[model]` (with `name`), `[data]`, `[train]` and
    /// `[optimizer]`, every key a user may change. Usually `include_str!` of `configs/NAME.toml`.
    const CONFIG: &'static str;
    /// Fields of [`Self::Config`] that the data decides, not a config file: a tagger's
    /// vocabulary sizes. A config file may not set them, the config a run writes leaves them
    /// out, and [`Self::init`] takes them from the data's `Info`. None by default.
    const FROM_DATA: &'static [&'static str] = &[];

    /// The `[model]` section: the architecture's hyper-parameters (a Burn `#[derive(Config)]`
    /// struct serves as it is).
    type Config: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static;
    /// The `[data]` section: where the samples come from and how they become batches of
    /// [`Self::Task`].
    type Data: Batches<Self::Task>;
    /// What the model learns (loss, metrics, what `zoo predict` prints).
    type Task: Task;
    /// The Burn module on an autodiff backend; its inner module (`valid()`) runs evaluation and
    /// prediction.
    type Module<B: AutodiffBackend>: AutodiffModule<B, InnerModule: Solves<B::InnerBackend, Self::Task> + ModuleDisplay>
        + Solves<B, Self::Task>
        + ModuleDisplay;

    /// The `[model]` section as Rust builds the model by default (`MnistLstmConfig::new()`):
    /// the recipe that [`Self::CONFIG`]'s `[model]` writes out key for key
    /// ([`crate::Registration::check_recipe`] says where they differ). [`Self::FROM_DATA`]'s
    /// fields hold anything here.
    fn recipe() -> Self::Config;

    /// The model with fresh weights on `device`; `info` is what the data decides of its shape
    /// (the tagger's vocabulary sizes), `()` for most data.
    fn init<B: AutodiffBackend>(
        config: &Self::Config,
        info: &<Self::Data as DataSource>::Info,
        device: &B::Device,
    ) -> Self::Module<B>;

    /// Checks the `[model]` section (and that it fits the `[data]` one), naming the first field
    /// of `[model]` at fault. Every config the user gives goes through it before anything runs.
    fn check(config: &Self::Config, data: &Self::Data) -> Result<(), InvalidConfig> {
        let _ = (config, data);
        Ok(())
    }
}
