//! `report.html`: every run, both charts, failed rows, and refused folders.

use zoo_cli::report::*;

fn entry(name: &str, seconds: f64, accuracy: Option<f64>) -> Entry {
    Entry {
        name: name.into(),
        model: "mnist-lstm".into(),
        backend: "ndarray".into(),
        device: "cpu <1>".into(),
        epochs: Some(2),
        seconds_per_epoch: Some(seconds),
        test_accuracy: accuracy,
        test_loss: Some(0.25),
        dir: None,
        error: None,
    }
}

#[test]
fn the_page_holds_every_run_both_charts_and_escapes_names() {
    let page = render(
        "a <b> & c",
        &[
            entry("run-<one>", 12.5, Some(0.9588)),
            entry("two", 7.25, Some(0.9764)),
        ],
    )
    .unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<title>a &lt;b&gt; &amp; c</title>"));
    assert!(page.contains("run-&lt;one&gt;") && !page.contains("run-<one>"));
    assert!(page.contains("95.88%") && page.contains("97.64%") && page.contains("12.50 s"));
    assert_eq!(
        page.matches("<svg").count(),
        2,
        "one chart of seconds, one of accuracy"
    );
    assert!(
        !page.contains("<?xml"),
        "inline SVG carries no XML declaration"
    );
    assert!(
        !page.contains("src=\"http") && !page.contains("<script"),
        "self-contained"
    );
}

#[test]
fn a_failed_row_is_shown_with_its_error_and_no_bar() {
    let mut failed = entry("cuda", 0.0, None);
    failed.seconds_per_epoch = None;
    failed.error = Some("no CUDA driver".into());
    let page = render("compare", &[entry("ndarray", 3.0, None), failed]).unwrap();
    assert!(page.contains("failed: no CUDA driver"));
    assert_eq!(
        page.matches("<svg").count(),
        1,
        "seconds only: no run has an accuracy"
    );
}

#[test]
fn a_folder_without_a_summary_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let error = Entry::from_run(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("is not a finished run") && error.contains("summary.json"),
        "{error}"
    );
}
