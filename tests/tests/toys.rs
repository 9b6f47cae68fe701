//! The toys of Morvan's PyTorch tutorial train to the README's figures (seed 1).

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
    // The README's 0.995 (199 of 200 held-out points) from seed 1; one point either way, because
    // another CPU's matrix-product kernels (AVX-512 or AVX2) round differently.
    let correct = summary(&run)["test_correct"].as_u64().unwrap();
    assert!(
        (198..=200).contains(&correct),
        "held-out points right: {correct}/200"
    );
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
    // The README's 0.0088 from seed 1 (the noise alone, 0.2 * U[0,1) around its mean, has a
    // variance of 0.04/12 = 0.0033), within 0.0005: another CPU rounds the products differently.
    let mse = s["test_loss"].as_f64().unwrap();
    assert!(
        (mse - 0.0088).abs() < 0.0005,
        "held-out mean-squared error {mse}"
    );
}

/// The valid rows of a run's `metrics.csv`: `(epoch, loss, accuracy)`.
fn valid_rows(run: &std::path::Path) -> Vec<(u64, f64, Option<f64>)> {
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|f| f[1] == "valid")
        .map(|f| {
            (
                f[0].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().ok(),
            )
        })
        .collect()
}

#[test]
fn keep_best_keeps_the_best_validation_epoch_and_eval_reproduces_it() {
    for (model, by_accuracy) in [("classification", true), ("regression", false)] {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("best.toml");
        std::fs::write(
            &config,
            format!(
                "[model]\nname = \"{model}\"\n\n[train]\nkeep_best = true\n\n[optimizer]\n\
                 lr_decay = 0.97\n"
            ),
        )
        .unwrap();
        let run = tmp.path().join("run");
        let out = zoo(
            tmp.path(),
            &[
                "train",
                "--config",
                config.to_str().unwrap(),
                "--out",
                run.to_str().unwrap(),
            ],
        );
        out.assert_ok();
        assert!(
            out.stdout.contains("Keeping the weights of epoch"),
            "{}",
            out.stdout
        );
        let rows = valid_rows(&run);
        // The best row, the earliest of equals: highest accuracy, or lowest loss.
        let best = rows
            .iter()
            .fold(None::<&(u64, f64, Option<f64>)>, |best, row| match best {
                Some(b) if by_accuracy && b.2 >= row.2 => Some(b),
                Some(b) if !by_accuracy && b.1 <= row.1 => Some(b),
                _ => Some(row),
            })
            .unwrap();
        let s = summary(&run);
        assert_eq!(s["kept_epoch"], best.0, "{model}: {rows:?}");
        assert_eq!(s["valid_loss"].as_f64().unwrap(), best.1, "{model}");
        assert!(run
            .join(format!("checkpoint/model-{}.mpk", best.0))
            .is_file());
        // The saved weights are the kept epoch's: eval gives the summary's test figure.
        let eval = zoo(tmp.path(), &["eval", "--run", run.to_str().unwrap()]);
        eval.assert_ok();
        // Held to its accuracy, or (the regression, which has none) to its mean loss.
        let recorded = match by_accuracy {
            true => format!("recorded {}/", s["test_correct"]),
            false => format!(
                "recorded a mean loss of {:.6} over ",
                s["test_loss"].as_f64().unwrap()
            ),
        };
        assert!(
            eval.stdout.contains(&recorded) && eval.stdout.contains("reproduced exactly"),
            "{model}: {}",
            eval.stdout
        );
        let loss = s["test_loss"].as_f64().unwrap();
        let printed = match by_accuracy {
            true => format!("Test set: Average loss: {loss:.4}, Accuracy: "),
            false => format!("Test set: Average loss: {loss:.6} "),
        };
        assert!(
            eval.stdout.contains(&printed),
            "{model}: {printed}\n{}",
            eval.stdout
        );
    }
}
