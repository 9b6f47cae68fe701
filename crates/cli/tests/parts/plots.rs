//! A run's pictures: the curves and the confusion matrix.

use plotters::style::Color;
use zoo_cli::plots::*;
use zoo_train::run::artifacts::EpochRow;

fn row(epoch: usize, split: &str, loss: f64, accuracy: Option<f64>) -> EpochRow {
    EpochRow {
        epoch,
        split: split.into(),
        loss,
        accuracy,
        seconds: 1.0,
    }
}

#[test]
fn curves_name_every_metric_and_split_and_make_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        row(1, "train", 0.9, Some(0.7)),
        row(1, "valid", 0.8, Some(0.75)),
        row(2, "train", 0.5, Some(0.85)),
        row(2, "valid", 0.45, Some(0.88)),
    ];
    curves(dir.path(), &rows).unwrap();
    let svg = std::fs::read_to_string(dir.path().join(CURVES_SVG)).unwrap();
    for label in [
        "loss per epoch",
        "accuracy per epoch",
        "train loss",
        "valid accuracy",
        "epoch",
    ] {
        assert!(svg.contains(label), "curves.svg lacks {label:?}");
    }
    let png = std::fs::read(dir.path().join(CURVES_PNG)).unwrap();
    let picture = image::load_from_memory(&png).unwrap();
    assert_eq!((picture.width(), picture.height()), (1100, 420));
    // Not a blank canvas: the train line's blue is drawn.
    let rgb = picture.to_rgb8();
    assert!(rgb.pixels().any(|p| p.0 == [31, 119, 180]));
}

#[test]
fn a_regression_run_has_only_the_loss_panel() {
    let dir = tempfile::tempdir().unwrap();
    curves(
        dir.path(),
        &[row(1, "train", 0.2, None), row(1, "valid", f64::NAN, None)],
    )
    .unwrap();
    let svg = std::fs::read_to_string(dir.path().join(CURVES_SVG)).unwrap();
    assert!(svg.contains("loss per epoch") && !svg.contains("accuracy"));
}

#[test]
fn confusion_cells_are_shaded_by_their_share_of_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let classes: Vec<String> = ["cat", "dog"].map(String::from).to_vec();
    confusion(dir.path(), &[vec![9, 1], vec![0, 10]], &classes).unwrap();
    let picture = image::open(dir.path().join(CONFUSION_PNG))
        .unwrap()
        .to_rgb8();
    let full = shade(1.0).rgb();
    assert!(picture.pixels().any(|p| p.0 == [full.0, full.1, full.2]));
    let empty_cell = picture.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    assert!(empty_cell > 0);
}
