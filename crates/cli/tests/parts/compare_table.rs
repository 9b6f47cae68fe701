//! `compare.md`: one row per backend, failures shown.

use zoo_cli::commands::compare::*;

#[test]
fn the_table_has_one_row_per_backend_and_shows_failures() {
    let comparison = Comparison {
        model: "mnist-lstm".into(),
        epochs: 1,
        train_samples: Some(2000),
        seed: 1,
        rows: vec![
            CompareRow {
                backend: "ndarray".into(),
                device: "CPU: x (2 threads)".into(),
                seconds_per_epoch: Some(9.5),
                samples_per_second: Some(210.4),
                peak_memory_mib: Some(300.2),
                test_accuracy: Some(0.81234),
                error: None,
            },
            failed_row("wgpu", anyhow::anyhow!("no adapter | none")),
        ],
    };
    let table = markdown(&comparison);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "mnist-lstm, 1 epoch(s), 2000 training samples, seed 1"
    );
    assert_eq!(
        lines[4],
        "| ndarray | CPU: x (2 threads) | 9.50 | 210 | 300 | 0.8123 |"
    );
    assert_eq!(
        lines[5],
        "| wgpu | - | - | - | - | failed: no adapter / none |"
    );
}
