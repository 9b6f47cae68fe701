//! Property tests of config parsing on hostile files: arbitrary text, and TOML of the real keys
//! with arbitrary values, is either a checked config or one error naming the file; never a panic.
//! The number of cases is bounded (`PROPTEST_CASES`, default 256 per property).

use std::path::Path;

use proptest::prelude::*;

/// Loads `text` as a config file; asserts what an accepted config guarantees, or that the error
/// names the file.
fn check(dir: &Path, text: &str) -> Result<(), TestCaseError> {
    let path = dir.join("experiment.toml");
    std::fs::write(&path, text).unwrap();
    let registry = zoo_cli::models::registry();
    match registry.load(None, Some(&path)) {
        Ok(config) => {
            prop_assert!(config.train_section().epochs >= 1);
            prop_assert!(config.train_section().batch_size >= 1);
            let lr = config.optimizer_section().lr;
            prop_assert!(lr.is_finite() && lr > 0.0);
            // What is accepted writes back as a file that loads to the same config.
            let again = dir.join("again.toml");
            std::fs::write(&again, config.to_toml()).unwrap();
            let reloaded = registry.load(None, Some(&again));
            prop_assert!(reloaded.is_ok(), "{:?}", reloaded.err());
            prop_assert_eq!(reloaded.unwrap().to_toml(), config.to_toml());
        }
        Err(error) => {
            let message = error.to_string();
            prop_assert!(message.contains("experiment.toml"), "{}", message);
        }
    }
    Ok(())
}

/// A TOML value of any kind, including the awkward ones (huge, negative, NaN, wrong type).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        (0i64..300).prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("true".to_string()),
        "[a-z0-9-]{0,12}".prop_map(|s| format!("{s:?}")),
        Just("[1, 2]".to_string()),
        Just("{ a = 1 }".to_string()),
    ]
}

const SECTIONS: [(&str, &[&str]); 4] = [
    (
        "model",
        &[
            "name",
            "input_size",
            "hidden_size",
            "num_layers",
            "num_classes",
            "bidirectional",
            "dropout",
        ],
    ),
    (
        "data",
        &[
            "dataset",
            "dir",
            "valid_fraction",
            "mean",
            "std",
            "train_limit",
            "train_points",
        ],
    ),
    (
        "train",
        &[
            "epochs",
            "batch_size",
            "seed",
            "log_interval",
            "unknown_key",
        ],
    ),
    ("optimizer", &["name", "lr", "momentum", "grad_clip_norm"]),
];

/// A config of the real sections and keys (and one unknown) with arbitrary values.
fn config_text() -> impl Strategy<Value = String> {
    let model = prop_oneof![
        Just("mnist-lstm"),
        Just("mnist-cnn"),
        Just("regression"),
        Just("classification"),
        Just("pos-tagger"),
        Just("no-such-model"),
    ];
    (
        model,
        proptest::collection::vec((0usize..4, 0usize..8, value()), 0..10),
    )
        .prop_map(|(model, entries)| {
            let mut text = String::new();
            for (s, (section, keys)) in SECTIONS.iter().enumerate() {
                text.push_str(&format!("[{section}]\n"));
                if *section == "model" {
                    text.push_str(&format!("name = {model:?}\n"));
                }
                let mut seen = std::collections::HashSet::new();
                for (in_section, key, value) in &entries {
                    let key = keys[key % keys.len()];
                    if *in_section == s && key != "name" && seen.insert(key) {
                        text.push_str(&format!("{key} = {value}\n"));
                    }
                }
            }
            text
        })
}

proptest! {
    #[test]
    fn arbitrary_text_is_a_config_or_an_error_naming_the_file(text in "[^\u{0}]{0,300}") {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), &text)?;
    }

    #[test]
    fn real_keys_with_arbitrary_values_never_panic(text in config_text()) {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), &text)?;
    }
}
