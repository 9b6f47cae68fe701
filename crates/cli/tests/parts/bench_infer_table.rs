//! `zoo bench --epoch`'s inference table: the least time of each side, samples per second over
//! the test set, and the ratios.

use zoo_cli::commands::bench_infer::*;

#[test]
fn each_side_keeps_its_least_times_and_the_table_gives_rates_and_ratios() {
    let zoo = Inference {
        eval: 2.0,
        predict: Some(0.012),
    }
    .least(Inference {
        eval: 1.6,
        predict: Some(0.02),
    });
    assert_eq!(
        zoo,
        Inference {
            eval: 1.6,
            predict: Some(0.012)
        }
    );
    let torch = Inference {
        eval: 3.2,
        predict: Some(1.6),
    };
    // A tagger predicts no image; without PyTorch its cells are dashes. A ratio below 0.1 keeps
    // three significant digits.
    let tagger = Inference {
        eval: 4.0,
        predict: None,
    };
    let table = markdown(&[
        ("mnist-cnn".into(), 10_000, zoo, Some(torch)),
        ("pos-tagger".into(), 2_077, tagger, None),
    ]);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| m") || l.starts_with("| p"))
        .collect();
    assert_eq!(
        rows[1..],
        [
            "| mnist-cnn | 1.60 (6250) | 3.20 (3125) | 0.50× | 0.012 | 1.600 | 0.00750× |",
            "| pos-tagger | 4.00 (519) | - | - | - | - | - |",
        ],
        "{table}"
    );
}
