//! Models by name: a [`Registry`] of [`Registration`]s, each made from a [`ZooModel`]
//! implementation, and the loaded experiment of any of them as one type ([`LoadedExperiment`]),
//! which every command drives without knowing the model.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use crate::backend::Placement;
use crate::config::{
    differences, parse_toml, read_file, ConfigError, Experiment, OptimizerSection, Overrides,
    TrainSection,
};
use crate::data::{DataSource, PredictFlags};
use crate::model::ZooModel;
use crate::run::bench::{time_steps, StepTiming};
use crate::run::eval::{evaluate_run, Evaluation};
use crate::run::export::{export, Exported};
use crate::run::fit::{fit, FitRequest, Trained};
use crate::run::import::{import, ImportSource};
use crate::run::pack::pack;
use crate::run::predict::predict;
use crate::run::serve::{serve, Batching, ServeRequest, ServedModel};
use crate::task::Tally;
use zoo_models::import::Rename;

/// Loads the experiment of one registration from its built-in config and the user's file.
type Loader = fn(
    name: &'static str,
    builtin: (toml::Table, &str),
    user: Option<(toml::Table, &str)>,
) -> Result<Box<dyn LoadedExperiment>, ConfigError>;

/// A model a user can ask for by name: a [`ZooModel`] with its name, description and built-in
/// config. The same module under another recipe is another `ZooModel` (as timm registers
/// `resnet18` and `resnet34`): `mnist-lstm-small` is `MnistLstm` with
/// `MnistLstmConfig::small()`.
#[derive(Clone, Copy)]
pub struct Registration {
    /// The name on the command line (`zoo train --model NAME`).
    pub name: &'static str,
    /// One line on what it is (`zoo models`).
    pub description: &'static str,
    /// The built-in experiment, TOML.
    pub config: &'static str,
    loader: Loader,
    recipe_differences: fn(&str) -> Vec<String>,
    keys: fn() -> Vec<(&'static str, Vec<&'static str>)>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish()
    }
}

impl Registration {
    /// Model `M` under its name, description and built-in config.
    pub const fn of<M: ZooModel>() -> Self {
        Self {
            name: M::NAME,
            description: M::DESCRIPTION,
            config: M::CONFIG,
            loader: load::<M>,
            recipe_differences: Experiment::<M>::recipe_differences,
            keys: Experiment::<M>::keys,
        }
    }

    /// The keys a config file may set for this model, section by section: `model` (without
    /// `name`), `data`, `train`, `optimizer` (docs/configs.md documents each).
    pub fn keys(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        (self.keys)()
    }

    /// Where the built-in config's `[model]` and the model's Rust recipe
    /// ([`ZooModel::recipe`]) differ, a line each; empty when they describe the same network.
    pub fn check_recipe(&self) -> Vec<String> {
        (self.recipe_differences)(self.config)
    }

    /// The experiment of this model: its built-in config with the user's `file` over it.
    fn load(
        &self,
        user: Option<(toml::Table, String)>,
    ) -> Result<Box<dyn LoadedExperiment>, ConfigError> {
        let builtin_label = format!("the built-in config of `{}`", self.name);
        let builtin = parse_toml(self.config, &builtin_label)?;
        let user = user
            .as_ref()
            .map(|(table, label)| (table.clone(), label.as_str()));
        (self.loader)(self.name, (builtin, &builtin_label), user)
    }
}

fn load<M: ZooModel>(
    name: &'static str,
    builtin: (toml::Table, &str),
    user: Option<(toml::Table, &str)>,
) -> Result<Box<dyn LoadedExperiment>, ConfigError> {
    Ok(Box::new(Experiment::<M>::from_tables(name, builtin, user)?))
}

/// The models a `zoo` command line knows, in the order `zoo models` lists them. The first is the
/// one trained when neither `--model` nor a config file names one.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entries: Vec<Registration>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// This registry and `registration`.
    ///
    /// # Panics
    ///
    /// When a model of the same name is registered already: two models cannot share a name.
    pub fn with(mut self, registration: Registration) -> Self {
        assert!(
            self.find(registration.name).is_none(),
            "two models are registered as `{}`",
            registration.name
        );
        self.entries.push(registration);
        self
    }

    /// Every registration, in order.
    pub fn entries(&self) -> &[Registration] {
        &self.entries
    }

    /// The registration called `name`.
    pub fn find(&self, name: &str) -> Option<&Registration> {
        self.entries.iter().find(|r| r.name == name)
    }

    /// Loads the experiment for `model` (or the model `file` names, or the first registered):
    /// its built-in config, overlaid with `file`'s keys, every key checked.
    pub fn load(
        &self,
        model: Option<&str>,
        file: Option<&Path>,
    ) -> Result<Box<dyn LoadedExperiment>, ConfigError> {
        let user = file.map(read_file).transpose()?;
        let label = user.as_ref().map(|(_, label)| label.clone());
        let file_model = (user.as_ref())
            .and_then(|(t, _)| t.get("model"))
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_string);
        let name = match (model, file_model) {
            (Some(flag), Some(in_file)) if flag != in_file => {
                return Err(ConfigError::ModelMismatch {
                    flag: flag.to_string(),
                    file_model: in_file,
                    file: label.unwrap_or_default(),
                })
            }
            (Some(flag), _) => flag.to_string(),
            (None, Some(in_file)) => in_file,
            (None, None) => match self.entries.first() {
                Some(first) => first.name.to_string(),
                None => String::new(),
            },
        };
        let registration = self.find(&name).ok_or_else(|| ConfigError::UnknownModel {
            origin: match (model, &label) {
                (None, Some(label)) => format!(" (model.name in {label})"),
                _ => String::new(),
            },
            suggestion: did_you_mean(&name, self.entries.iter().map(|r| r.name)),
            name: name.clone(),
            known: self
                .entries
                .iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        registration.load(user)
    }
}

/// ` (did you mean `NAME`?)` for the name of `known` nearest to the mistyped `name` (as clap
/// suggests a subcommand), or nothing where none is near.
pub fn did_you_mean<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    known
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, nearest)| format!(" (did you mean `{nearest}`?)"))
        .unwrap_or_default()
}

/// The experiment of any registered model, loaded and checked: what every command works on.
pub trait LoadedExperiment: Send + Sync {
    /// The registered name of its model.
    fn model_name(&self) -> &str;
    /// `[train]`.
    fn train_section(&self) -> &TrainSection;
    /// `[optimizer]`.
    fn optimizer_section(&self) -> &OptimizerSection;
    /// The folder the data is read from, if it comes from one.
    fn data_dir(&self) -> Option<PathBuf>;
    /// The config as TOML, every key present.
    fn to_toml(&self) -> String;
    /// The keys whose values differ from `other`'s (see [`crate::config::differences`]).
    fn differences(&self, other: &dyn LoadedExperiment, ignore: &[&str]) -> Vec<String> {
        differences(&self.to_toml(), &other.to_toml(), ignore)
    }
    /// Applies the command-line overrides and checks the result again.
    fn apply(&mut self, flags: &Overrides) -> Result<(), ConfigError>;
    /// Fills in the data folder, so the written config names it.
    fn pin_data_dir(&mut self);
    /// A copy.
    fn boxed_clone(&self) -> Box<dyn LoadedExperiment>;

    /// Trains the model (`zoo train`).
    fn fit(&self, request: FitRequest) -> anyhow::Result<Trained>;
    /// Evaluates the run in `run_dir` on the test set (`zoo eval`), with every sample's answer
    /// when `answers` is set (`zoo eval --predictions`).
    fn evaluate(
        &self,
        run_dir: &Path,
        placement: &Placement,
        answers: bool,
    ) -> anyhow::Result<Evaluation>;
    /// Loads a PyTorch `state_dict` into the model, the file's names renamed first, with the
    /// data's files (a tagger's vocabularies) that go with it, and writes a run folder
    /// (`zoo import`).
    fn import(
        &self,
        from: ImportSource<'_>,
        dir: &Path,
        placement: &Placement,
    ) -> anyhow::Result<Tally>;
    /// Writes the weights of the run in `run_dir` to the `.safetensors` file `out`, PyTorch's
    /// names renamed by `renames`, and the data's files beside it (`zoo export`).
    fn export(
        &self,
        run_dir: &Path,
        out: &Path,
        renames: &[Rename],
        placement: &Placement,
    ) -> anyhow::Result<Exported>;
    /// Writes the run in `run_dir` into the folder `out` as a shipped model (`zoo pack`) and
    /// evaluates the packed weights.
    fn pack(&self, run_dir: &Path, out: &Path, placement: &Placement) -> anyhow::Result<Tally>;
    /// The answers of the run in `run_dir` to `inputs`, one line each (`zoo predict`).
    fn predict(
        &self,
        run_dir: &Path,
        inputs: &[String],
        flags: &PredictFlags,
        placement: &Placement,
    ) -> anyhow::Result<Vec<String>>;
    /// Loads the run in `run_dir`, tells `ready` what it serves, then answers the requests of
    /// `queue`, batched as `batching` says, until every sender is dropped (`zoo serve`).
    fn serve(
        &self,
        run_dir: &Path,
        placement: &Placement,
        queue: Receiver<ServeRequest>,
        batching: Batching,
        ready: Box<dyn FnOnce(ServedModel) + Send>,
    ) -> anyhow::Result<()>;
    /// The median time of a training step (`zoo bench`).
    fn time_steps(
        &self,
        placement: &Placement,
        steps: usize,
        warmup: usize,
    ) -> anyhow::Result<StepTiming>;
    /// The model's outputs on the backend of `placement` against Burn's CPU operations
    /// (`zoo check`).
    #[cfg(feature = "ndarray")]
    fn agree(&self, placement: &Placement) -> anyhow::Result<crate::run::agree::Outcome>;
}

impl<M: ZooModel> LoadedExperiment for Experiment<M> {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn train_section(&self) -> &TrainSection {
        &self.train
    }

    fn optimizer_section(&self) -> &OptimizerSection {
        &self.optimizer
    }

    fn data_dir(&self) -> Option<PathBuf> {
        self.data.dir()
    }

    fn to_toml(&self) -> String {
        Experiment::to_toml(self)
    }

    fn apply(&mut self, flags: &Overrides) -> Result<(), ConfigError> {
        Experiment::apply(self, flags)
    }

    fn pin_data_dir(&mut self) {
        Experiment::pin_data_dir(self)
    }

    fn boxed_clone(&self) -> Box<dyn LoadedExperiment> {
        Box::new(self.clone())
    }

    fn fit(&self, request: FitRequest) -> anyhow::Result<Trained> {
        fit(self, request)
    }

    fn evaluate(
        &self,
        run_dir: &Path,
        placement: &Placement,
        answers: bool,
    ) -> anyhow::Result<Evaluation> {
        evaluate_run(self, run_dir, placement, answers)
    }

    fn import(
        &self,
        from: ImportSource<'_>,
        dir: &Path,
        placement: &Placement,
    ) -> anyhow::Result<Tally> {
        import(self, from, dir, placement)
    }

    fn export(
        &self,
        run_dir: &Path,
        out: &Path,
        renames: &[Rename],
        placement: &Placement,
    ) -> anyhow::Result<Exported> {
        export(self, run_dir, out, renames, placement)
    }

    fn pack(&self, run_dir: &Path, out: &Path, placement: &Placement) -> anyhow::Result<Tally> {
        pack(self, run_dir, out, placement)
    }

    fn predict(
        &self,
        run_dir: &Path,
        inputs: &[String],
        flags: &PredictFlags,
        placement: &Placement,
    ) -> anyhow::Result<Vec<String>> {
        predict(self, run_dir, inputs, flags, placement)
    }

    fn serve(
        &self,
        run_dir: &Path,
        placement: &Placement,
        queue: Receiver<ServeRequest>,
        batching: Batching,
        ready: Box<dyn FnOnce(ServedModel) + Send>,
    ) -> anyhow::Result<()> {
        serve(self, run_dir, placement, queue, batching, ready)
    }

    fn time_steps(
        &self,
        placement: &Placement,
        steps: usize,
        warmup: usize,
    ) -> anyhow::Result<StepTiming> {
        time_steps(self, placement, steps, warmup)
    }

    #[cfg(feature = "ndarray")]
    fn agree(&self, placement: &Placement) -> anyhow::Result<crate::run::agree::Outcome> {
        crate::run::agree::model_outputs(self, placement)
    }
}
