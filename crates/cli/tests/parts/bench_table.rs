//! `zoo bench`'s table: each row over PyTorch's time for the same model.

use zoo_cli::commands::bench::*;

fn row(case: &str, backend: &str, ms: f64) -> BenchRow {
    BenchRow {
        case: case.into(),
        backend: backend.into(),
        device: "CPU".into(),
        ms_per_step: ms,
    }
}

#[test]
fn each_row_is_divided_by_pytorchs_time_for_the_same_model() {
    let table = table(&[
        row("mnist-lstm", "ndarray", 150.0),
        row("mnist-lstm/burn-nn-lstm", "ndarray", 300.0),
        row("mnist-cnn", "ndarray", 45.0),
        row("mnist-lstm", "torch 2.15.0 (cpu)", 100.0),
        row("mnist-cnn", "torch 2.15.0 (cpu)", 30.0),
    ]);
    let ratios: Vec<&str> = table
        .lines()
        .skip(2)
        .map(|l| l.trim_end_matches(" |").rsplit("| ").next().unwrap())
        .collect();
    assert_eq!(ratios, ["1.50", "3.00", "1.50", "—", "—"], "{table}");
}
