//! The zoo's models: each file of this folder implements [`zoo_train::ZooModel`] for one model of
//! zoo-models and exports its registrations (`pub const REGISTER`), usually one, or one per
//! built-in config of the same code. The build script finds the files, so adding a model is
//! adding its file here, its module in `crates/models/src/models/` and its config in `configs/`.

use zoo_train::Registry;

include!(concat!(env!("OUT_DIR"), "/models.rs"));

/// The model `zoo` trains when neither `--model` nor a config file names one.
pub const DEFAULT_MODEL: &str = "mnist-lstm";

/// Every model of the zoo, `mnist-lstm` first (the default), then in file order.
pub fn registry() -> Registry {
    let all = FILES.iter().flat_map(|file| file.iter());
    let default = all.clone().filter(|r| r.name == DEFAULT_MODEL);
    let others = all.filter(|r| r.name != DEFAULT_MODEL);
    default
        .chain(others)
        .fold(Registry::new(), |registry, r| registry.with(*r))
}
