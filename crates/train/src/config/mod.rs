//! Experiment configs: one TOML file per experiment in `configs/`, embedded in the binary as the
//! defaults of each registered model. A user's `--config FILE` may give only the keys it changes;
//! every key is checked (unknown keys and out-of-range values are errors naming the key), and the
//! command-line flags override the result. The resolved config is written into the run folder,
//! so `zoo train --config runs/<name>/config.toml` repeats a run.

use std::path::{Path, PathBuf};

use serde::Serialize;
use zoo_models::InvalidConfig;

use crate::data::{DataFlags, DataSource};
use crate::model::ZooModel;

mod sections;
mod strict;

pub use sections::{OptimizerName, OptimizerSection, TrainSection};
pub(crate) use strict::{flatten, merge, parse_toml};

/// A config that cannot be used, with the file and key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the config: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{file}: not valid TOML: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// No registered model has this name.
    #[error("unknown model `{name}`{origin}{suggestion}; the zoo has: {known} (`zoo models` describes them)")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// Where the name came from, when a file gave it: ` (model.name in FILE)`.
        origin: String,
        /// ` (did you mean `NAME`?)` for the nearest registered name, if one is near.
        suggestion: String,
        /// The registered names.
        known: String,
    },
    /// `--model` and the config file name different models.
    #[error(
        "--model {flag} disagrees with `model.name = \"{file_model}\"` in {file}; drop one of them"
    )]
    ModelMismatch {
        /// The flag's model.
        flag: String,
        /// The file's model.
        file_model: String,
        /// The file.
        file: String,
    },
    /// A key the schema does not have.
    #[error("{file}: unknown key `{key}`{known}")]
    UnknownKey {
        /// The file.
        file: String,
        /// The key, with its section (`train.epochz`).
        key: String,
        /// The keys this section accepts, formatted, or nothing.
        known: String,
    },
    /// A value of the wrong type or out of range.
    #[error("{file}: `{key}` {reason}")]
    Invalid {
        /// The file (or the flag that set the value).
        file: String,
        /// The key, with its section (`optimizer.lr`).
        key: String,
        /// What is wrong and what it must be.
        reason: String,
    },
}

/// Command-line values that replace config values.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--epochs`.
    pub epochs: Option<usize>,
    /// `--batch-size`.
    pub batch_size: Option<usize>,
    /// `--lr`.
    pub lr: Option<f64>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--fused`.
    pub fused: Option<bool>,
    /// `--data-dir`, `--dataset`, `--train-limit`.
    pub data: DataFlags,
}

impl Overrides {
    /// Only `--data-dir`, when given: for commands on a finished run.
    pub fn data_dir(dir: Option<PathBuf>) -> Self {
        Self {
            data: DataFlags {
                dir,
                ..DataFlags::default()
            },
            ..Self::default()
        }
    }
}

/// A whole experiment of model `M`: its architecture, its data, how to train it.
pub struct Experiment<M: ZooModel> {
    /// The registered name (a model may be registered under several names, each with its own
    /// built-in config).
    pub name: String,
    /// `[model]`.
    pub model: M::Config,
    /// `[data]`.
    pub data: M::Data,
    /// `[train]`.
    pub train: TrainSection,
    /// `[optimizer]`.
    pub optimizer: OptimizerSection,
}

impl<M: ZooModel> Clone for Experiment<M> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            model: self.model.clone(),
            data: self.data.clone(),
            train: self.train.clone(),
            optimizer: self.optimizer.clone(),
        }
    }
}

impl<M: ZooModel> std::fmt::Debug for Experiment<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_toml())
    }
}

/// The sections of a config file.
const SECTIONS: [&str; 4] = ["model", "data", "train", "optimizer"];

impl<M: ZooModel> Experiment<M> {
    /// The experiment `name` from its built-in config `builtin` (labelled `builtin_label`), with
    /// the user's file `user` (labelled `file`) over it, every key checked.
    pub(crate) fn from_tables(
        name: &str,
        builtin: (toml::Table, &str),
        user: Option<(toml::Table, &str)>,
    ) -> Result<Self, ConfigError> {
        let (mut table, builtin_label) = builtin;
        let mut builtin_model = section(&mut table.clone(), "model", builtin_label)?;
        builtin_model.remove("name");
        let defaults = strict::network(&M::recipe(), M::FROM_DATA, builtin_model, builtin_label)?;
        let file = match user {
            Some((user, file)) => {
                merge(&mut table, user);
                file
            }
            None => builtin_label,
        };
        if let Some(key) = table.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
            return Err(strict::unknown_key(file, key, &SECTIONS));
        }
        let mut model = section(&mut table, "model", file)?;
        model.remove("name");
        let experiment = Self {
            name: name.to_string(),
            model: strict::network(&defaults, M::FROM_DATA, model, file)?,
            data: strict::typed(section(&mut table, "data", file)?, "data", file)?,
            train: strict::typed(section(&mut table, "train", file)?, "train", file)?,
            optimizer: strict::typed(section(&mut table, "optimizer", file)?, "optimizer", file)?,
        };
        experiment.validate(file)?;
        Ok(experiment)
    }

    /// Checks every section, naming the file (or flag) and the key at fault.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let at = |section: &'static str| {
            move |InvalidConfig { field, reason }| ConfigError::Invalid {
                file: file.to_string(),
                key: format!("{section}.{field}"),
                reason,
            }
        };
        M::check(&self.model, &self.data).map_err(at("model"))?;
        self.data.validate().map_err(at("data"))?;
        self.train.validate().map_err(at("train"))?;
        self.optimizer.validate().map_err(at("optimizer"))
    }

    /// Applies the command-line overrides and checks the result again.
    pub fn apply(&mut self, flags: &Overrides) -> Result<(), ConfigError> {
        set(&mut self.train.epochs, flags.epochs);
        set(&mut self.train.batch_size, flags.batch_size);
        set(&mut self.train.seed, flags.seed);
        set(&mut self.train.fused, flags.fused);
        set(&mut self.optimizer.lr, flags.lr);
        self.data.apply(&flags.data, &self.name)?;
        self.validate("the command line")
    }

    /// Renders the config as TOML, every key present but [`ZooModel::FROM_DATA`]'s, `[model]`'s
    /// in its config's field order.
    pub fn to_toml(&self) -> String {
        #[derive(Serialize)]
        struct Named<'a> {
            name: &'a str,
            #[serde(flatten)]
            config: Fields,
        }
        #[derive(Serialize)]
        struct File<'a, D> {
            model: Named<'a>,
            data: &'a D,
            train: &'a TrainSection,
            optimizer: &'a OptimizerSection,
        }
        toml::to_string(&File {
            model: Named {
                name: &self.name,
                config: Fields::of::<M>(&self.model),
            },
            data: &self.data,
            train: &self.train,
            optimizer: &self.optimizer,
        })
        .expect("configs serialize to TOML")
    }

    /// The keys a config file may set for this model, section by section (`model`, `data`,
    /// `train`, `optimizer`), [`ZooModel::FROM_DATA`]'s fields left out.
    pub(crate) fn keys() -> Vec<(&'static str, Vec<&'static str>)> {
        let mut model = strict::field_names::<M::Config>();
        model.retain(|key| !M::FROM_DATA.contains(key));
        vec![
            ("model", model),
            ("data", strict::field_names::<M::Data>()),
            ("train", strict::field_names::<TrainSection>()),
            ("optimizer", strict::field_names::<OptimizerSection>()),
        ]
    }

    /// Where the built-in config `config`'s `[model]` and [`ZooModel::recipe`] differ, one line
    /// each: a key one has and the other lacks, or a value they disagree on ([`ZooModel::FROM_DATA`]'s
    /// fields aside). Empty when they describe the same network.
    pub(crate) fn recipe_differences(config: &str) -> Vec<String> {
        let table = match parse_toml(config, "the built-in config") {
            Ok(table) => table,
            Err(err) => return vec![err.to_string()],
        };
        let mut written = match table.get("model") {
            Some(toml::Value::Table(model)) => model.clone(),
            _ => return vec!["the built-in config has no [model] section".to_string()],
        };
        written.remove("name");
        let recipe = serde_json::to_value(M::recipe()).expect("model configs serialize");
        let recipe = recipe.as_object().expect("model configs are structs");
        let mut found = Vec::new();
        for (key, rust) in recipe
            .iter()
            .filter(|(k, _)| !M::FROM_DATA.contains(&k.as_str()))
        {
            match written.remove(key) {
                None => found.push(format!("`model.{key}` is missing (Rust: {rust})")),
                Some(value) => {
                    let value = serde_json::to_value(&value).expect("TOML values convert to JSON");
                    if !same_value(&value, rust) {
                        found.push(format!("`model.{key}` is {value}, Rust's recipe {rust}"));
                    }
                }
            }
        }
        found.extend(
            (written.keys()).map(|key| format!("`model.{key}` is no field of the Rust config")),
        );
        found
    }

    /// Fills in the data folder the experiment will read, so the written config names it.
    pub fn pin_data_dir(&mut self) {
        self.data.pin_dir();
    }
}

/// A model config's fields as a config file holds them: in the struct's order, without the
/// fields the data decides.
struct Fields(Vec<(&'static str, serde_json::Value)>);

impl Fields {
    fn of<M: ZooModel>(config: &M::Config) -> Self {
        let value = serde_json::to_value(config).expect("model configs serialize");
        let names = strict::field_names::<M::Config>();
        Self(
            (names.into_iter())
                .filter(|name| !M::FROM_DATA.contains(name))
                .filter_map(|name| value.get(name).map(|v| (name, v.clone())))
                .collect(),
        )
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Whether two JSON values are the same, numbers compared as numbers (a TOML integer and a
/// Rust float of the same value are the same).
fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a, b) {
        (serde_json::Value::Number(x), serde_json::Value::Number(y)) => x.as_f64() == y.as_f64(),
        (serde_json::Value::Array(x), serde_json::Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        _ => a == b,
    }
}

/// The keys (`section.key`) whose values differ between two configs' TOML texts, each as
/// "`train.lr` is 0.01 in the run, 0.1 here"; keys named in `ignore` are not compared.
pub fn differences(run: &str, here: &str, ignore: &[&str]) -> Vec<String> {
    let (mine, theirs) = (flatten(run), flatten(here));
    let mut keys: Vec<&String> = mine.keys().chain(theirs.keys()).collect();
    keys.sort();
    keys.dedup();
    let absent = "absent".to_string();
    keys.into_iter()
        .filter(|key| !ignore.contains(&key.as_str()))
        .filter_map(|key| {
            let (a, b) = (
                mine.get(key).unwrap_or(&absent),
                theirs.get(key).unwrap_or(&absent),
            );
            (a != b).then(|| format!("`{key}` is {a} in the run, {b} here"))
        })
        .collect()
}

/// Takes section `name` out of `table` (empty if absent); an error if it is not a table.
fn section(table: &mut toml::Table, name: &str, file: &str) -> Result<toml::Table, ConfigError> {
    match table.remove(name) {
        Some(toml::Value::Table(t)) => Ok(t),
        Some(other) => Err(ConfigError::Invalid {
            file: file.to_string(),
            key: name.to_string(),
            reason: format!("must be a table `[{name}]`, found a {}", other.type_str()),
        }),
        None => Ok(toml::Table::new()),
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// Reads a config file into a table, labelled by its path.
pub(crate) fn read_file(path: &Path) -> Result<(toml::Table, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let label = path.display().to_string();
    Ok((parse_toml(&text, &label)?, label))
}

#[cfg(test)]
mod tests {
    use burn::tensor::backend::AutodiffBackend;
    use zoo_models::{Mlp, MlpConfig};

    use super::*;
    use crate::data::CurveData;
    use crate::task::Regression;

    /// The regression toy's config with a recipe of another hidden size.
    struct Strayed;

    impl ZooModel for Strayed {
        const NAME: &'static str = "strayed";
        const DESCRIPTION: &'static str = "the regression toy with another recipe";
        const CONFIG: &'static str =
            "[model]\nname = \"strayed\"\ninput_size = 1\nhidden_size = 10\n\
                                      output_size = 1\nlayers = 2\n";
        type Config = MlpConfig;
        type Data = CurveData;
        type Task = Regression;
        type Module<B: AutodiffBackend> = Mlp<B>;

        fn recipe() -> MlpConfig {
            MlpConfig::new().with_hidden_size(20)
        }

        fn init<B: AutodiffBackend>(config: &MlpConfig, _: &(), device: &B::Device) -> Mlp<B> {
            config.init(device)
        }
    }

    #[test]
    fn a_recipe_that_strays_from_its_config_is_caught_key_by_key() {
        assert_eq!(
            Experiment::<Strayed>::recipe_differences(Strayed::CONFIG),
            [
                "`model.hidden_size` is 10, Rust's recipe 20",
                "`model.layers` is no field of the Rust config"
            ]
        );
        let without = "[model]\nname = \"strayed\"\ninput_size = 1\nhidden_size = 20\n";
        assert_eq!(
            Experiment::<Strayed>::recipe_differences(without),
            ["`model.output_size` is missing (Rust: 1)"]
        );
    }

    #[test]
    fn every_key_a_file_may_set_is_listed_by_section() {
        let keys = Experiment::<Strayed>::keys();
        assert_eq!(
            keys[0],
            ("model", vec!["input_size", "hidden_size", "output_size"])
        );
        assert_eq!(keys[1], ("data", vec!["train_points", "test_points"]));
        assert!(keys[2].1.contains(&"keep_best") && keys[3].1.contains(&"lr_decay"));
    }
}
