//! Experiment configs: one TOML file per experiment in `configs/`, embedded in the binary as the
//! defaults of each registered model. A user's `--config FILE` may give only the keys it changes;
//! every key is checked (unknown keys and out-of-range values are errors naming the key), and the
//! command-line flags override the result. The resolved config is written into the run folder,
//! so `zoo train --config runs/<name>/config.toml` repeats a run.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zoo_data::mnist::MnistVariant;
use zoo_data::pos::TagColumn;
use zoo_models::{
    InvalidConfig, LstmTaggerConfig, MlpConfig, MnistCnnConfig, MnistLstmConfig, ModelInfo,
    ModelKind, SmallCnnConfig,
};

/// The built-in experiment of each registered model: `configs/<name>.toml`.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "mnist-lstm",
        include_str!("../../../configs/mnist-lstm.toml"),
    ),
    (
        "mnist-lstm-small",
        include_str!("../../../configs/mnist-lstm-small.toml"),
    ),
    ("mnist-cnn", include_str!("../../../configs/mnist-cnn.toml")),
    ("small-cnn", include_str!("../../../configs/small-cnn.toml")),
    (
        "regression",
        include_str!("../../../configs/regression.toml"),
    ),
    (
        "classification",
        include_str!("../../../configs/classification.toml"),
    ),
    (
        "pos-tagger",
        include_str!("../../../configs/pos-tagger-ewt.toml"),
    ),
];

/// The model trained when neither `--model` nor a config names one.
pub const DEFAULT_MODEL: &str = "mnist-lstm";

/// Where the MNIST sample lives in a checkout, relative to its root.
const MNIST_SAMPLE: &str = "data/mnist-sample";
/// Where UD English-EWT lives in a checkout, relative to its root.
const UD_ENGLISH_EWT: &str = "data/ud-english-ewt";
/// Where Debian's `dataset-fashion-mnist` package installs the full Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

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
    #[error("unknown model `{name}`{origin}; the zoo has: {known} (`zoo models` describes them)")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// Where the name came from, when a file gave it: ` (model.name in FILE)`.
        origin: String,
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

/// A whole experiment: which model with which shape, which data, how to train it.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentConfig {
    /// The model and its architecture's hyper-parameters.
    pub model: ModelSection,
    /// The data to train and test on.
    pub data: DataSection,
    /// The training loop.
    pub train: TrainSection,
    /// The optimizer.
    pub optimizer: OptimizerSection,
}

/// `[model]`: the registered name, then the architecture's own keys.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSection {
    /// A name of `zoo models`.
    pub name: String,
    /// The architecture's config.
    #[serde(flatten)]
    pub network: Network,
}

/// The architecture config of a model, one variant per [`ModelKind`]'s architecture.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Network {
    /// [`zoo_models::MnistLstm`].
    MnistLstm(MnistLstmConfig),
    /// [`zoo_models::MnistCnn`].
    MnistCnn(MnistCnnConfig),
    /// [`zoo_models::SmallCnn`].
    SmallCnn(SmallCnnConfig),
    /// [`zoo_models::Mlp`].
    Mlp(MlpConfig),
    /// [`zoo_models::LstmTagger`], less the sizes that come from the data.
    Tagger(TaggerNetwork),
}

/// `[model]` of the part-of-speech tagger: [`LstmTaggerConfig`] without `vocab_size` and
/// `num_tags`, which the training data's vocabularies decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaggerNetwork {
    /// Size of a word embedding.
    pub embedding_dim: usize,
    /// Hidden units of each LSTM layer and direction.
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    pub num_layers: usize,
    /// Read sentences in both directions.
    pub bidirectional: bool,
    /// Dropout on embeddings, between layers and before the tag layer.
    pub dropout: f64,
}

impl TaggerNetwork {
    fn defaults() -> Self {
        let model = LstmTaggerConfig::new(3, 2);
        Self {
            embedding_dim: model.embedding_dim,
            hidden_size: model.hidden_size,
            num_layers: model.num_layers,
            bidirectional: model.bidirectional,
            dropout: model.dropout,
        }
    }

    /// The model's config for vocabularies of `vocab_size` words and `num_tags` tags.
    pub fn model(&self, vocab_size: usize, num_tags: usize) -> LstmTaggerConfig {
        LstmTaggerConfig::new(vocab_size, num_tags)
            .with_embedding_dim(self.embedding_dim)
            .with_hidden_size(self.hidden_size)
            .with_num_layers(self.num_layers)
            .with_bidirectional(self.bidirectional)
            .with_dropout(self.dropout)
    }
}

/// `[data]`: MNIST-format files for the image models, generated points for the toys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DataSection {
    /// MNIST or Fashion-MNIST from a folder.
    Mnist(MnistData),
    /// The seed-004 synthetic sets.
    Toy(ToyData),
    /// Tagged sentences: a CoNLL-U treebank or seed 000's toy sentences.
    Pos(PosData),
}

/// `[data]` of the part-of-speech tagger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosData {
    /// `conllu` (a Universal Dependencies treebank folder) or `toy` (seed 000's two sentences,
    /// trained and tested on).
    pub corpus: String,
    /// The treebank folder, holding `*train.conllu`, `*dev.conllu` and `*test.conllu` (each may
    /// be `.gz`); absent means `data/ud-english-ewt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// `upos` (column 4, universal tags) or `xpos` (column 5, the treebank's own).
    pub tag_column: String,
    /// Lowercase words before looking them up.
    pub lowercase: bool,
    /// Training words seen fewer times become `<unk>`, so the model learns what to do with
    /// words it never saw.
    pub min_count: usize,
    /// Train on the first N training sentences only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
}

/// `[data]` of the MNIST models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistData {
    /// `mnist` or `fashion-mnist` (decides the class names and the default folder).
    pub dataset: String,
    /// The folder of the four IDX files; absent means the dataset's default folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Fraction of the training files held out (from their end) for validation.
    pub valid_fraction: f64,
    /// Train on the first N training images only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Normalization mean of pixels scaled to [0, 1].
    pub mean: f32,
    /// Normalization standard deviation.
    pub std: f32,
}

/// `[data]` of the toy models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToyData {
    /// Training points (per cluster for `classification`).
    pub train_points: usize,
    /// Held-out points (per cluster for `classification`).
    pub test_points: usize,
}

/// `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step (also used for validation and test).
    pub batch_size: usize,
    /// Seeds weights, shuffling and the toy data.
    pub seed: u64,
    /// Batches between two progress lines.
    pub log_interval: usize,
}

/// The optimizers the zoo offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    /// Adam with PyTorch's defaults (betas 0.9/0.999, eps 1e-8).
    Adam,
    /// SGD, with optional momentum (no dampening, as in PyTorch).
    Sgd,
}

/// `[optimizer]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSection {
    /// `adam` or `sgd`.
    pub name: OptimizerName,
    /// Learning rate.
    pub lr: f64,
    /// SGD momentum in [0, 1); 0 is plain SGD.
    #[serde(default)]
    pub momentum: f64,
    /// L2 penalty added to the gradients.
    #[serde(default)]
    pub weight_decay: f64,
    /// Rescale the gradients so their global L2 norm is at most this (`clip_grad_norm_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_clip_norm: Option<f64>,
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
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--dataset`.
    pub dataset: Option<String>,
    /// `--train-limit`.
    pub train_limit: Option<usize>,
}

impl ExperimentConfig {
    /// Loads the experiment for `model` (or the one `file` names, or [`DEFAULT_MODEL`]): the
    /// model's built-in config, overlaid with `file`'s keys, checked.
    pub fn load(model: Option<&str>, file: Option<&Path>) -> Result<Self, ConfigError> {
        let (label, user) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let label = path.display().to_string();
                (label.clone(), Some(parse_toml(&text, &label)?))
            }
            None => (String::new(), None),
        };
        let file_model = user
            .as_ref()
            .and_then(|t| t.get("model"))
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_string);
        let name = match (model, file_model) {
            (Some(flag), Some(in_file)) if flag != in_file => {
                return Err(ConfigError::ModelMismatch {
                    flag: flag.to_string(),
                    file_model: in_file,
                    file: label,
                })
            }
            (Some(flag), _) => flag.to_string(),
            (None, Some(in_file)) => in_file,
            (None, None) => DEFAULT_MODEL.to_string(),
        };
        let (info, builtin) = builtin(&name).map_err(|error| match error {
            ConfigError::UnknownModel { name, known, .. }
                if model.is_none() && !label.is_empty() =>
            {
                ConfigError::UnknownModel {
                    name,
                    known,
                    origin: format!(" (model.name in {label})"),
                }
            }
            other => other,
        })?;
        let builtin_label = format!("configs/{name}.toml (built in)");
        let mut table = parse_toml(builtin, &builtin_label)?;
        let label = match user {
            Some(user) => {
                merge(&mut table, user);
                label
            }
            None => builtin_label,
        };
        Self::from_table(info, table, &label)
    }

    /// The registry entry of this experiment's model.
    pub fn model_info(&self) -> &'static ModelInfo {
        zoo_models::find(&self.model.name).expect("a loaded config names a registered model")
    }

    /// Applies the command-line overrides and checks the result again.
    pub fn apply(&mut self, flags: &Overrides) -> Result<(), ConfigError> {
        let flag = |name: &str| format!("--{name}");
        set(&mut self.train.epochs, flags.epochs);
        set(&mut self.train.batch_size, flags.batch_size);
        set(&mut self.train.seed, flags.seed);
        set(&mut self.optimizer.lr, flags.lr);
        match &mut self.data {
            DataSection::Mnist(data) => {
                if let Some(dataset) = &flags.dataset {
                    if data.dataset != *dataset && flags.data_dir.is_none() {
                        data.dir = None; // the new dataset's own default folder
                    }
                    data.dataset = dataset.clone();
                }
                if let Some(dir) = &flags.data_dir {
                    data.dir = Some(dir.clone());
                }
                if flags.train_limit.is_some() {
                    data.train_limit = flags.train_limit;
                }
            }
            DataSection::Pos(data) => {
                if flags.dataset.is_some() {
                    return Err(ConfigError::Invalid {
                        file: flag("dataset"),
                        key: "data.dataset".into(),
                        reason: format!(
                            "names an MNIST-format dataset; `{}` reads a treebank (give its \
                             folder with --data-dir)",
                            self.model.name
                        ),
                    });
                }
                if let Some(dir) = &flags.data_dir {
                    data.dir = Some(dir.clone());
                }
                if flags.train_limit.is_some() {
                    data.train_limit = flags.train_limit;
                }
            }
            DataSection::Toy(_) => {
                for (name, given) in [
                    ("data-dir", flags.data_dir.is_some()),
                    ("dataset", flags.dataset.is_some()),
                    ("train-limit", flags.train_limit.is_some()),
                ] {
                    if given {
                        return Err(ConfigError::Invalid {
                            file: flag(name),
                            key: format!("data.{}", name.replace('-', "_")),
                            reason: format!(
                                "does not apply to `{}`, which generates its own points",
                                self.model.name
                            ),
                        });
                    }
                }
            }
        }
        self.validate("the command line")
    }

    /// Renders the config as TOML, every key present.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("configs serialize to TOML")
    }

    /// The keys (`section.key`) whose values differ from `other`'s, each as
    /// "`train.lr` is 0.01 in the run, 0.1 here"; keys named in `ignore` are not compared.
    pub fn differences(&self, other: &Self, ignore: &[&str]) -> Vec<String> {
        let flat = |config: &Self| {
            let table: toml::Table = toml::from_str(&config.to_toml()).expect("configs re-parse");
            let mut flat = std::collections::BTreeMap::new();
            for (section, value) in table {
                match value {
                    toml::Value::Table(keys) => {
                        for (key, value) in keys {
                            flat.insert(format!("{section}.{key}"), value.to_string());
                        }
                    }
                    value => {
                        flat.insert(section, value.to_string());
                    }
                }
            }
            flat
        };
        let (mine, theirs) = (flat(self), flat(other));
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

    /// The MNIST variant and folder of an MNIST experiment: the configured folder (a relative
    /// one is looked up from the working directory, then from this checkout), or the dataset's
    /// default folder.
    pub fn mnist_source(&self) -> Option<(MnistVariant, PathBuf)> {
        let DataSection::Mnist(data) = &self.data else {
            return None;
        };
        let variant = MnistVariant::from_name(&data.dataset).expect("validated dataset name");
        let dir = data.dir.clone().unwrap_or_else(|| default_dir(variant));
        Some((variant, locate_dir(dir)))
    }

    /// The treebank folder of a tagger experiment (`None` for the toy corpus or another model),
    /// looked up as [`ExperimentConfig::mnist_source`] does.
    pub fn treebank_dir(&self) -> Option<PathBuf> {
        match &self.data {
            DataSection::Pos(data) if data.corpus == "conllu" => Some(locate_dir(
                data.dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(UD_ENGLISH_EWT)),
            )),
            _ => None,
        }
    }

    /// Fills in the data folder the experiment will read, so the written config names it.
    pub fn pin_data_dir(&mut self) {
        match &mut self.data {
            DataSection::Mnist(data) if data.dir.is_none() => {
                let variant =
                    MnistVariant::from_name(&data.dataset).expect("validated dataset name");
                data.dir = Some(default_dir(variant));
            }
            DataSection::Pos(data) if data.dir.is_none() && data.corpus == "conllu" => {
                data.dir = Some(PathBuf::from(UD_ENGLISH_EWT));
            }
            _ => {}
        }
    }

    fn from_table(
        info: &ModelInfo,
        mut table: toml::Table,
        file: &str,
    ) -> Result<Self, ConfigError> {
        for key in table.keys() {
            if !["model", "data", "train", "optimizer"].contains(&key.as_str()) {
                return Err(unknown_key(
                    file,
                    key,
                    &["model", "data", "train", "optimizer"],
                ));
            }
        }
        let mut section = |name: &str| match table.remove(name) {
            Some(toml::Value::Table(t)) => Ok(t),
            Some(other) => Err(ConfigError::Invalid {
                file: file.to_string(),
                key: name.to_string(),
                reason: format!("must be a table `[{name}]`, found a {}", other.type_str()),
            }),
            None => Ok(toml::Table::new()),
        };
        let mut model = section("model")?;
        let (data, train, optimizer) = (section("data")?, section("train")?, section("optimizer")?);
        model.remove("name");
        let network = match info.kind {
            ModelKind::MnistLstm => {
                Network::MnistLstm(network(MnistLstmConfig::new(), model, file)?)
            }
            ModelKind::MnistCnn => Network::MnistCnn(network(MnistCnnConfig::new(), model, file)?),
            ModelKind::SmallCnn => Network::SmallCnn(network(SmallCnnConfig::new(), model, file)?),
            ModelKind::MlpRegression | ModelKind::MlpClassification => {
                Network::Mlp(network(MlpConfig::new(), model, file)?)
            }
            ModelKind::LstmTagger => {
                Network::Tagger(network(TaggerNetwork::defaults(), model, file)?)
            }
        };
        let data = match info.kind {
            ModelKind::MlpRegression | ModelKind::MlpClassification => {
                DataSection::Toy(typed(data, "data", file)?)
            }
            ModelKind::LstmTagger => DataSection::Pos(typed(data, "data", file)?),
            _ => DataSection::Mnist(typed(data, "data", file)?),
        };
        let config = Self {
            model: ModelSection {
                name: info.name.to_string(),
                network,
            },
            data,
            train: typed(train, "train", file)?,
            optimizer: typed(optimizer, "optimizer", file)?,
        };
        config.validate(file)?;
        Ok(config)
    }

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            file: file.to_string(),
            key: key.to_string(),
            reason,
        };
        let checked = match &self.model.network {
            Network::MnistLstm(c) => c.validate(),
            Network::MnistCnn(c) => c.validate(),
            Network::SmallCnn(c) => c.validate(),
            Network::Mlp(c) => c.validate(),
            // The vocabulary sizes come from the data; any valid ones check the rest.
            Network::Tagger(c) => c.model(3, 2).validate(),
        };
        checked.map_err(|InvalidConfig { field, reason }| {
            invalid(&format!("model.{field}"), reason)
        })?;
        if let Network::Mlp(mlp) = &self.model.network {
            let (inputs, outputs) = match self.model_info().kind {
                ModelKind::MlpRegression => (1, 1),
                _ => (2, 2),
            };
            if mlp.input_size != inputs {
                return Err(invalid(
                    "model.input_size",
                    format!(
                        "is {}, but the points of `{}` have {inputs} coordinate(s)",
                        mlp.input_size, self.model.name
                    ),
                ));
            }
            if mlp.output_size != outputs {
                return Err(invalid(
                    "model.output_size",
                    format!(
                        "is {}, but `{}` needs {outputs}",
                        mlp.output_size, self.model.name
                    ),
                ));
            }
        }
        match &self.data {
            DataSection::Mnist(data) => {
                if MnistVariant::from_name(&data.dataset).is_none() {
                    let known: Vec<_> = MnistVariant::ALL.iter().map(|v| v.name()).collect();
                    return Err(invalid(
                        "data.dataset",
                        format!(
                            "is \"{}\", must be one of: {}",
                            data.dataset,
                            known.join(", ")
                        ),
                    ));
                }
                if !(0.0..1.0).contains(&data.valid_fraction) {
                    return Err(invalid(
                        "data.valid_fraction",
                        format!("is {}, must be in [0, 1)", data.valid_fraction),
                    ));
                }
                if data.train_limit == Some(0) {
                    return Err(invalid(
                        "data.train_limit",
                        "is 0, must be at least 1".into(),
                    ));
                }
                if !(data.std.is_finite() && data.std > 0.0 && data.mean.is_finite()) {
                    return Err(invalid(
                        "data.std",
                        format!(
                            "is {}, must be a positive number (and data.mean finite)",
                            data.std
                        ),
                    ));
                }
            }
            DataSection::Pos(data) => {
                if !["conllu", "toy"].contains(&data.corpus.as_str()) {
                    return Err(invalid(
                        "data.corpus",
                        format!(
                            "is \"{}\", must be \"conllu\" (a treebank folder) or \"toy\"",
                            data.corpus
                        ),
                    ));
                }
                if TagColumn::from_name(&data.tag_column).is_none() {
                    return Err(invalid(
                        "data.tag_column",
                        format!("is \"{}\", must be \"upos\" or \"xpos\"", data.tag_column),
                    ));
                }
                if data.min_count == 0 {
                    return Err(invalid("data.min_count", "is 0, must be at least 1".into()));
                }
                if data.train_limit == Some(0) {
                    return Err(invalid(
                        "data.train_limit",
                        "is 0, must be at least 1".into(),
                    ));
                }
                if data.corpus == "toy" && (data.dir.is_some() || data.train_limit.is_some()) {
                    return Err(invalid(
                        "data.dir",
                        "does not apply to the toy corpus (seed 000's two sentences are built \
                         in); set data.corpus = \"conllu\" to read a treebank"
                            .into(),
                    ));
                }
            }
            DataSection::Toy(data) => {
                for (key, value) in [
                    ("data.train_points", data.train_points),
                    ("data.test_points", data.test_points),
                ] {
                    if value < 2 {
                        return Err(invalid(key, format!("is {value}, must be at least 2")));
                    }
                }
            }
        }
        let train = &self.train;
        for (key, value) in [
            ("train.epochs", train.epochs),
            ("train.batch_size", train.batch_size),
            ("train.log_interval", train.log_interval),
        ] {
            if value == 0 {
                return Err(invalid(key, "is 0, must be at least 1".into()));
            }
        }
        let opt = &self.optimizer;
        if !(opt.lr.is_finite() && opt.lr > 0.0) {
            return Err(invalid(
                "optimizer.lr",
                format!("is {}, must be a positive number", opt.lr),
            ));
        }
        if !(0.0..1.0).contains(&opt.momentum) {
            return Err(invalid(
                "optimizer.momentum",
                format!("is {}, must be in [0, 1)", opt.momentum),
            ));
        }
        if opt.momentum != 0.0 && opt.name != OptimizerName::Sgd {
            return Err(invalid(
                "optimizer.momentum",
                "applies to `sgd` only (Adam has its own betas)".into(),
            ));
        }
        if !(opt.weight_decay.is_finite() && opt.weight_decay >= 0.0) {
            return Err(invalid(
                "optimizer.weight_decay",
                format!("is {}, must be >= 0", opt.weight_decay),
            ));
        }
        if let Some(norm) = opt.grad_clip_norm {
            if !(norm.is_finite() && norm > 0.0) {
                return Err(invalid(
                    "optimizer.grad_clip_norm",
                    format!("is {norm}, must be a positive number"),
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for OptimizerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptimizerName::Adam => "adam",
            OptimizerName::Sgd => "sgd",
        })
    }
}

/// The folder a dataset is read from when the config names none: the MNIST sample of this
/// checkout, or the Debian package's Fashion-MNIST folder.
pub fn default_dir(variant: MnistVariant) -> PathBuf {
    match variant {
        MnistVariant::Mnist => PathBuf::from(MNIST_SAMPLE),
        MnistVariant::FashionMnist => PathBuf::from(FASHION_MNIST_DIR),
    }
}

/// A relative folder that is not under the working directory is looked up in the checkout the
/// binary was built from, so `zoo` finds `data/mnist-sample` wherever it is started.
fn locate_dir(dir: PathBuf) -> PathBuf {
    if dir.is_absolute() || dir.is_dir() {
        return dir;
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(&dir);
    if checkout.is_dir() {
        checkout
    } else {
        dir
    }
}

fn builtin(name: &str) -> Result<(&'static ModelInfo, &'static str), ConfigError> {
    let unknown = || ConfigError::UnknownModel {
        name: name.to_string(),
        origin: String::new(),
        known: zoo_models::registry()
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", "),
    };
    let info = zoo_models::find(name).ok_or_else(unknown)?;
    let text = EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(unknown)?;
    Ok((info, text))
}

fn parse_toml(text: &str, file: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Syntax {
            file: file.to_string(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
}

/// Overlays `top` onto `base`, table by table.
fn merge(base: &mut toml::Table, top: toml::Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(below)), toml::Value::Table(above)) => merge(below, above),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn unknown_key(file: &str, key: &str, known: &[&str]) -> ConfigError {
    ConfigError::UnknownKey {
        file: file.to_string(),
        key: key.to_string(),
        known: format!("; expected one of: {}", known.join(", ")),
    }
}

/// The toml and serde messages end in a newline and a repeat of the key; the key is named already.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

/// Deserializes one section strictly, naming the key of any unknown or mistyped value.
fn typed<T: DeserializeOwned + Serialize>(
    table: toml::Table,
    section: &str,
    file: &str,
) -> Result<T, ConfigError> {
    let value = toml::Value::Table(table);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = first_line(&err.into_inner().to_string());
        if let Some(rest) = inner.strip_prefix("unknown field `") {
            let (field, known) = rest.split_once('`').unwrap_or((rest, ""));
            return ConfigError::UnknownKey {
                file: file.to_string(),
                key: format!("{section}.{field}"),
                known: format!(";{}", known.trim_start_matches(',')),
            };
        }
        let key = if path == "." {
            section.to_string()
        } else {
            format!("{section}.{path}")
        };
        ConfigError::Invalid {
            file: file.to_string(),
            key,
            reason: inner,
        }
    })
}

/// Builds an architecture config from its defaults and the `[model]` keys given.
fn network<C: Serialize + DeserializeOwned>(
    defaults: C,
    given: toml::Table,
    file: &str,
) -> Result<C, ConfigError> {
    let mut value = serde_json::to_value(&defaults).expect("model configs serialize");
    let fields = value.as_object_mut().expect("model configs are structs");
    let known: Vec<String> = std::iter::once("name".to_string())
        .chain(fields.keys().cloned())
        .collect();
    for (key, v) in given {
        if !fields.contains_key(&key) {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(unknown_key(file, &format!("model.{key}"), &known));
        }
        fields.insert(
            key,
            serde_json::to_value(v).expect("TOML values convert to JSON"),
        );
    }
    serde_path_to_error::deserialize(value).map_err(|err| ConfigError::Invalid {
        file: file.to_string(),
        key: format!("model.{}", err.path()),
        reason: first_line(&err.into_inner().to_string()),
    })
}
