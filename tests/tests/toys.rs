//! The seed-004 toys train to the seed's results.

use zoo_tests::{summary, zoo};

#[test]
fn the_two_clusters_are_separated() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    zoo(
        tmp.path(),
        &[
            "train",
            "--model",
            "classification",
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .assert_ok();
    let accuracy = summary(&run)["test_accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.97, "held-out accuracy {accuracy}");
}

#[test]
fn the_curve_is_fitted() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    zoo(
        tmp.path(),
        &[
            "train",
            "--model",
            "regression",
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .assert_ok();
    let s = summary(&run);
    assert!(s["test_accuracy"].is_null(), "a regression has no accuracy");
    // The noise alone (0.2 * U[0,1) around its mean) has a variance of 0.04/12 = 0.0033.
    let mse = s["test_loss"].as_f64().unwrap();
    assert!(mse < 0.01, "held-out mean-squared error {mse}");
}
