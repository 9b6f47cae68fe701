//! The divergence guard: a NaN or infinite training loss stops `zoo train` with one message that
//! says where and what to try, and no model or summary is written from the broken weights.

use zoo_tests::zoo;

#[test]
fn an_exploding_learning_rate_stops_training_with_the_epoch_step_and_remedies() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = zoo(
        tmp.path(),
        &[
            "train",
            "--model",
            "classification",
            "--lr",
            "1e30",
            "--out",
            run.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    let line = out.error_line();
    for part in [
        "training diverged: the loss became ",
        "--lr, now 1e30",
        "grad_clip_norm",
    ] {
        assert!(line.contains(part), "{part:?} missing from: {line}");
    }
    // Adam's first step is already 1e30 wide; the loss is NaN from the next step on.
    let epoch: usize = line
        .split(" at epoch ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no epoch in: {line}"));
    if epoch > 1 {
        let kept = run.join(format!("checkpoint/model-{}.mpk", epoch - 1));
        assert!(line.contains(&kept.display().to_string()), "{line}");
        assert!(
            kept.is_file(),
            "the message names {} but it is missing",
            kept.display()
        );
        // The completed epochs' rows are in metrics.csv, the diverged one is not.
        let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        let last = csv.lines().last().unwrap();
        assert!(last.starts_with(&format!("{},valid,", epoch - 1)), "{csv}");
    } else {
        assert!(line.contains("no epoch had finished"), "{line}");
    }
    assert!(run.join("config.toml").is_file());
    assert!(
        !run.join("model.mpk").exists(),
        "weights of a diverged run must not be saved"
    );
    assert!(!run.join("summary.json").exists());
}
