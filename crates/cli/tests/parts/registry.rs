//! The zoo's registry: every model file is found and every built-in config loads.

use zoo_cli::models::*;

#[test]
fn every_built_in_config_loads_as_its_own_model() {
    let registry = registry();
    assert_eq!(registry.entries()[0].name, DEFAULT_MODEL);
    for registration in registry.entries() {
        let experiment = registry
            .load(Some(registration.name), None)
            .unwrap_or_else(|e| panic!("{}: {e}", registration.name));
        assert_eq!(experiment.model_name(), registration.name);
        let table: toml::Table = registration.config.parse().unwrap();
        assert_eq!(
            table["model"]["name"].as_str(),
            Some(registration.name),
            "the built-in config of `{}` names another model",
            registration.name
        );
    }
    let names: Vec<&str> = registry.entries().iter().map(|r| r.name).collect();
    for expected in [
        "mnist-lstm",
        "mnist-lstm-small",
        "mnist-cnn",
        "small-cnn",
        "regression",
        "classification",
        "pos-tagger",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} is not registered: {names:?}"
        );
    }
}
