//! `zoo import` of a PyTorch-trained MNIST LSTM (seed 001's code, one epoch, written by
//! tools/make_fixtures.py), then `zoo eval`: the same test predictions as PyTorch.

use zoo_tests::{workspace, zoo};

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
fn importing_into_the_wrong_shape_lists_the_mismatches() {
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
    assert!(line.contains("unexpected (4): lstm.layers.1."), "{line}");
    assert!(
        line.contains("lstm.layers.0.forward.weight_hh: model [256, 64], file [512, 128]"),
        "{line}"
    );
    assert!(!tmp.path().join("r/model.mpk").exists());
}
