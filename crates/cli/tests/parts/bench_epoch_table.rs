//! `zoo bench --epoch`'s table: the best round of each side, and ratios per sample.

use zoo_cli::commands::bench_epoch::*;

fn side(backend: &str, epoch: f64, train: usize, test: Option<f64>, memory: f64) -> Side {
    Side {
        backend: backend.into(),
        seconds_per_epoch: epoch,
        train_samples: train,
        test_seconds: test,
        test_samples: 10_000,
        peak_memory_mib: Some(memory),
    }
}

/// The cells of the table's rows, without the header.
fn cells(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| model") && !l.starts_with("| ---"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn each_side_keeps_its_best_round_and_ratios_are_per_sample() {
    // Two rounds of the zoo: the second trains faster, the first tests faster.
    let zoo = best(
        Some(side("ndarray", 6.0, 9500, Some(1.0), 300.0)),
        side("ndarray", 4.75, 9500, Some(1.5), 280.0),
    );
    assert_eq!(zoo.seconds_per_epoch, 4.75);
    assert_eq!(zoo.test_seconds, Some(1.0));
    assert_eq!(zoo.peak_memory_mib, Some(280.0));
    // PyTorch trained on 10,000 samples in 5 s: 0.5 ms each, the zoo 0.5 ms too.
    let torch = side("torch 2.15.0 (cpu)", 5.0, 10_000, Some(2.0), 700.0);
    let table = markdown(
        &[
            ("mnist-lstm".into(), zoo, Some(torch)),
            (
                "small-cnn".into(),
                side("ndarray", 3.0, 9500, None, 200.0),
                None,
            ),
        ],
        2,
    );
    let rows = cells(&table);
    assert_eq!(
        rows[0],
        [
            "mnist-lstm",
            "4.75",
            "5.00",
            "1.00×",
            "1.00",
            "2.00",
            "0.50×",
            "280",
            "700"
        ],
        "{table}"
    );
    // Without PyTorch (or without a timed test pass) the ratios are dashes, not numbers.
    assert_eq!(
        rows[1],
        ["small-cnn", "3.00", "-", "-", "-", "-", "-", "200", "-"],
        "{table}"
    );
    assert!(table.starts_with("Best of 2 round(s)"), "{table}");
}
