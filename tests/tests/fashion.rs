//! `--dataset fashion-mnist` reads the full Fashion-MNIST from Debian's package folder by default
//! and names its classes (`.ci/run` installs `dataset-fashion-mnist`).

use std::path::Path;

use zoo_tests::{summary, zoo};

#[test]
fn fashion_mnist_comes_from_the_debian_package_with_its_class_names() {
    assert!(
        Path::new("/usr/share/datasets/fashion-mnist").is_dir(),
        "Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (.ci/run does it)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    zoo(
        tmp.path(),
        &[
            "train",
            "--model",
            "small-cnn",
            "--dataset",
            "fashion-mnist",
            "--train-limit",
            "500",
            "--epochs",
            "1",
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .assert_ok();
    let s = summary(&run);
    assert_eq!(s["dataset"], "fashion-mnist");
    assert_eq!(s["classes"][0], "T-shirt/top");
    assert_eq!(s["classes"][9], "Ankle boot");
    assert_eq!(s["train_samples"], 500);
    assert_eq!(
        s["valid_samples"], 3_000,
        "5% of the 60,000 training images"
    );
    assert_eq!(s["test_samples"], 10_000);
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        config.contains("dir = \"/usr/share/datasets/fashion-mnist\""),
        "{config}"
    );
}
