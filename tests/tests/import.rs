//! `zoo import` of PyTorch-trained checkpoints, then `zoo eval`: the same test predictions as
//! PyTorch. Seed 001's MNIST LSTM (tools/make_fixtures.py) fits by name; the seeds' other classes
//! (tools/make_seed_checkpoints.py: seed 000's `Net`, seed 004's `CNN` and `RNN`, seed 003's
//! `Rnn`) import with the `--rename` flags `zoo import` proposes when they do not fit. `zoo export`
//! then gives the file's own tensors back, bit for bit.

use std::path::Path;

use zoo_tests::{workspace, zoo, Run};

fn correct_in(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Test set: "))
        .unwrap_or_else(|| panic!("no test line in:\n{stdout}"));
    let after = line.split("Accuracy: ").nth(1).unwrap();
    after.split('/').next().unwrap().parse().unwrap()
}

#[test]
fn a_pytorch_trained_mnist_lstm_scores_as_in_pytorch() {
    let fixtures = workspace().join("tests/fixtures");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("mnist_lstm_1epoch.json")).unwrap(),
    )
    .unwrap();
    let pytorch = reference["correct"].as_u64().unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("imported");
    let import = zoo(
        tmp.path(),
        &[
            "import",
            "--model",
            "mnist-lstm",
            "--from",
            fixtures.join("mnist_lstm_1epoch.pt").to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ],
    );
    import.assert_ok();
    let eval = zoo(tmp.path(), &["eval", "--run", run.to_str().unwrap()]);
    eval.assert_ok();
    let ours = correct_in(&eval.stdout);
    assert_eq!(ours, correct_in(&import.stdout));
    assert!(
        ours.abs_diff(pytorch) <= 2,
        "PyTorch: {pytorch}/10000 correct, zoo: {ours}/10000"
    );
}

#[test]
fn importing_into_the_wrong_shape_lists_the_mismatches_and_the_config_that_fits() {
    let fixtures = workspace().join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let run = zoo(
        tmp.path(),
        &[
            "import",
            "--model",
            "mnist-lstm-small",
            "--from",
            fixtures.join("mnist_lstm_1epoch.pt").to_str().unwrap(),
            "--out",
            "r",
        ],
    );
    let line = run.error_line();
    assert!(
        line.contains("the state_dict does not fit the model"),
        "{line}"
    );
    // PyTorch's names, as the file has them.
    assert!(
        line.contains("not in the model (4): lstm.bias_hh_l1 [512], "),
        "{line}"
    );
    assert!(
        line.contains("lstm.weight_hh_l0: model [256, 64], file [512, 128]"),
        "{line}"
    );
    assert!(
        line.contains(
            "the file's shapes are those of [model] hidden_size = 128, num_layers = 2 (put it \
             in a --config file)"
        ),
        "{line}"
    );
    assert!(!tmp.path().join("r/model.mpk").exists());
}

/// The `--rename` rules at the end of an import error, unquoted.
fn proposed_renames(line: &str) -> Vec<String> {
    let Some((_, flags)) = line.split_once("add: ") else {
        return Vec::new();
    };
    flags
        .split("--rename ")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| f.trim_matches('\'').to_string())
        .collect()
}

/// `zoo import` of `file` with `config` and the `renames`, into `out`.
fn import(dir: &Path, config: &Path, file: &Path, renames: &[String], out: &str) -> Run {
    let mut args = vec![
        "import".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--from".into(),
        file.display().to_string(),
        "--out".into(),
        out.into(),
    ];
    for rule in renames {
        args.extend(["--rename".to_string(), rule.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    zoo(dir, &args)
}

#[test]
fn the_seeds_own_classes_import_with_the_renames_the_error_proposes() {
    let seeds = workspace().join("tests/fixtures/seeds");
    let tmp = tempfile::tempdir().unwrap();
    for (name, expected_renames) in [
        ("seed000_net", vec![]),
        (
            "seed004_cnn",
            vec![r"^conv1\.0\.=conv1.", r"^conv2\.0\.=conv2."],
        ),
        ("seed004_rnn", vec![r"^out\.=fc.", r"^rnn\.=lstm."]),
        ("seed003_rnn", vec![r"^classifier\.=fc."]),
    ] {
        let reference: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(seeds.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        // The preprocessing the file was trained with, in a config of the user's own.
        let config = tmp.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[model]\nname = {}\n\n[data]\nmean = {}\nstd = {}\n",
                reference["model"], reference["mean"], reference["std"]
            ),
        )
        .unwrap();
        let file = seeds.join(format!("{name}.pt"));
        let first = import(tmp.path(), &config, &file, &[], &format!("{name}-plain"));
        let renames = if expected_renames.is_empty() {
            first.assert_ok();
            Vec::new()
        } else {
            let line = first.error_line();
            assert!(line.contains("the state_dict does not fit"), "{line}");
            let renames = proposed_renames(line);
            assert_eq!(renames, expected_renames, "{name}: {line}");
            let run = import(tmp.path(), &config, &file, &renames, name);
            run.assert_ok();
            renames
        };
        let out = if renames.is_empty() {
            format!("{name}-plain")
        } else {
            name.to_string()
        };
        let eval = zoo(tmp.path(), &["eval", "--run", &out]);
        eval.assert_ok();
        let ours = correct_in(&eval.stdout);
        let pytorch = reference["correct"].as_u64().unwrap();
        assert!(
            ours.abs_diff(pytorch) <= 3,
            "{name}: PyTorch {pytorch}/10000 correct, zoo {ours}/10000"
        );
    }
}
