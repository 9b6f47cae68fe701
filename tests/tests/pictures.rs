//! What a person looks at: the toys' pictures, `zoo report` over two runs (opened in headless
//! Chromium where it is installed), and the report `zoo compare` writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use zoo_tests::{assert_svg_names, png_size, workspace, zoo};

fn train_toy(cwd: &Path, model: &str) -> PathBuf {
    let run = cwd.join(model);
    zoo(
        cwd,
        &[
            "train",
            "--model",
            model,
            "--epochs",
            "20",
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .assert_ok();
    run
}

#[test]
fn the_toys_draw_their_fit_and_regions_and_a_report_shows_both_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let regression = train_toy(tmp.path(), "regression");
    let classification = train_toy(tmp.path(), "classification");

    png_size(&regression.join("fit.png"));
    assert_svg_names(
        &regression.join("curves.svg"),
        &["loss per epoch", "train loss", "valid loss"],
    );
    assert!(
        !regression.join("confusion.png").exists(),
        "a regression has no classes"
    );
    png_size(&classification.join("regions.png"));
    png_size(&classification.join("confusion.png"));

    let page = tmp.path().join("report.html");
    zoo(
        tmp.path(),
        &[
            "report",
            regression.to_str().unwrap(),
            classification.to_str().unwrap(),
            "--out",
            page.to_str().unwrap(),
            "--title",
            "toys",
        ],
    )
    .assert_ok();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<title>toys</title>"));
    for name in [
        "regression",
        "classification",
        "seconds per epoch",
        "test accuracy, %",
    ] {
        assert!(html.contains(name), "report.html lacks {name:?}");
    }
    // Self-contained: the curves inline, the PNGs as data URIs, nothing to fetch.
    assert_eq!(
        html.matches("data:image/png;base64,").count(),
        3,
        "fit, regions, confusion"
    );
    assert!(!html.contains("src=\"http") && !html.contains("<?xml"));

    let script = workspace().join("tools/screenshot_report.sh");
    if Command::new("chromium").arg("--version").output().is_err() {
        eprintln!("note: chromium is not installed; the report's screenshot is not taken (apt-get install chromium)");
        return;
    }
    let shot = tmp.path().join("report.png");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&page)
        .arg(&shot)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "headless Chromium reported errors on report.html"
    );
    assert_eq!(png_size(&shot), (1280, 2000));
}

#[test]
fn a_report_of_a_folder_that_is_not_a_run_is_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = zoo(tmp.path(), &["report", tmp.path().to_str().unwrap()]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.error_line().contains("is not a finished run"),
        "{}",
        run.stderr
    );
    assert!(!tmp.path().join("report.html").exists());
}

#[test]
fn compare_writes_its_report_beside_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    zoo(
        tmp.path(),
        &[
            "compare",
            "--model",
            "classification",
            "--backends",
            "ndarray",
            "--epochs",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .assert_ok();
    for file in ["compare.json", "compare.md", "ndarray/curves.svg"] {
        assert!(out.join(file).is_file(), "missing {file}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("zoo compare: classification") && html.contains("ndarray"));
    assert_eq!(
        html.matches("data:image/png;base64,").count(),
        2,
        "regions and confusion"
    );
}
