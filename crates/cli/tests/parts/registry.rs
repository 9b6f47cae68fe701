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

#[test]
fn every_built_in_config_is_its_models_rust_recipe() {
    for registration in registry().entries() {
        let differences = registration.check_recipe();
        assert!(
            differences.is_empty(),
            "configs of `{}` and its Rust defaults (ZooModel::recipe) differ: {}",
            registration.name,
            differences.join("; ")
        );
    }
}

#[test]
fn the_data_decides_a_taggers_sizes_not_the_config() {
    let registry = registry();
    let file = std::env::temp_dir().join(format!("zoo-vocab-size-{}.toml", std::process::id()));
    std::fs::write(&file, "[model]\nname = \"pos-tagger\"\nvocab_size = 10\n").unwrap();
    let err = registry
        .load(None, Some(&file))
        .err()
        .expect("refused")
        .to_string();
    std::fs::remove_file(&file).unwrap();
    assert!(
        err.contains("`model.vocab_size` is decided by the data"),
        "{err}"
    );
    // ... and the config a run writes leaves them out.
    let written = registry
        .load(Some("pos-tagger-char"), None)
        .unwrap()
        .to_toml();
    for key in ["vocab_size", "num_chars", "num_tags", "rare_from", "unk_id"] {
        assert!(!written.contains(key), "{key} written: {written}");
    }
    assert!(written.contains("crf = true"), "{written}");
}

#[test]
fn a_mistyped_model_name_suggests_the_nearest() {
    let err = registry()
        .load(Some("mnist-lsmt"), None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("did you mean `mnist-lstm`?"), "{err}");
    let err = registry()
        .load(Some("word2vec"), None)
        .err()
        .unwrap()
        .to_string();
    assert!(!err.contains("did you mean"), "{err}");
}
