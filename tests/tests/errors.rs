//! Bad input ends in one clear line and exit code 1, never a panic.

use zoo_tests::{mnist_sample, zoo};

fn train_with_config(contents: &str) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("bad.toml");
    std::fs::write(&config, contents).unwrap();
    let run = zoo(tmp.path(), &["train", "--config", config.to_str().unwrap()]);
    let line = run.error_line().to_string();
    assert!(
        line.contains(&config.display().to_string()),
        "the file is not named: {line}"
    );
    (tmp, line)
}

#[test]
fn an_unknown_config_key_is_rejected_by_name() {
    let (_tmp, line) = train_with_config("[train]\nepochz = 3\n");
    assert!(line.contains("unknown key `train.epochz`"), "{line}");
    assert!(
        line.contains("`epochs`"),
        "the valid keys are not listed: {line}"
    );

    let (_tmp, line) = train_with_config("[model]\nname = \"mnist-lstm\"\nhiden_size = 3\n");
    assert!(line.contains("unknown key `model.hiden_size`"), "{line}");

    let (_tmp, line) = train_with_config("[dataa]\n");
    assert!(line.contains("unknown key `dataa`"), "{line}");
}

#[test]
fn out_of_range_and_mistyped_values_name_their_key() {
    let (_tmp, line) = train_with_config("[optimizer]\nlr = -1.0\n");
    assert!(
        line.contains("`optimizer.lr` is -1, must be a positive number"),
        "{line}"
    );
    let (_tmp, line) = train_with_config("[model]\nname = \"mnist-lstm\"\nnum_layers = 0\n");
    assert!(
        line.contains("`model.num_layers` is 0, must be at least 1"),
        "{line}"
    );
    let (_tmp, line) = train_with_config("[train]\nepochs = \"ten\"\n");
    assert!(line.contains("`train.epochs`"), "{line}");
    let (_tmp, line) = train_with_config("[data]\nvalid_fraction = 1.5\n");
    assert!(line.contains("`data.valid_fraction` is 1.5"), "{line}");
    let (_tmp, line) = train_with_config("[train\nepochs = 1\n");
    assert!(line.contains("not valid TOML"), "{line}");
}

#[test]
fn unknown_models_and_conflicting_names_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let line = zoo(tmp.path(), &["train", "--model", "resnet"])
        .error_line()
        .to_string();
    assert!(
        line.contains("unknown model `resnet`") && line.contains("mnist-lstm"),
        "{line}"
    );
}

#[test]
fn a_missing_dataset_lists_the_expected_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = zoo(
        tmp.path(),
        &[
            "train",
            "--data-dir",
            tmp.path().to_str().unwrap(),
            "--out",
            "r",
        ],
    );
    let line = run.error_line();
    assert!(line.contains("missing train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]"), "{line}");
}

#[test]
fn a_corrupt_dataset_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(mnist_sample()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
    }
    // Cut the compressed labels in half.
    let labels = data.join("train-labels-idx1-ubyte.gz");
    let bytes = std::fs::read(&labels).unwrap();
    std::fs::write(&labels, &bytes[..bytes.len() / 2]).unwrap();
    let run = zoo(
        tmp.path(),
        &["train", "--data-dir", data.to_str().unwrap(), "--out", "r"],
    );
    let line = run.error_line();
    assert!(line.contains(&labels.display().to_string()), "{line}");
}

#[test]
fn a_backend_not_compiled_in_names_the_cargo_feature() {
    let features = zoo_tests::zoo_features().unwrap_or("");
    let Some(backend) = ["cuda", "wgpu"]
        .into_iter()
        .find(|b| !features.split(',').any(|f| f == *b))
    else {
        // `cargo xtask test` builds zoo with every backend; the message itself is checked by
        // zoo-train's unit test `backend::tests::a_missing_backend_names_its_feature`.
        eprintln!("every backend is compiled into this zoo ({features}): nothing to refuse");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = zoo(tmp.path(), &["train", "--backend", backend, "--out", "r"]);
    let line = run.error_line();
    assert!(line.contains("not compiled into this zoo binary"), "{line}");
    assert!(
        line.contains(&format!("cargo xtask train --backend {backend}")),
        "{line}"
    );
    assert!(
        !tmp.path().join("r").exists(),
        "the backend is checked before the run folder is made"
    );
}

#[test]
fn several_devices_on_ndarray_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let run = zoo(tmp.path(), &["train", "--devices", "0,1", "--out", "r"]);
    let line = run.error_line();
    assert!(
        line.contains("--devices 0,1: the ndarray backend has one device")
            && line.contains("--backend wgpu or cuda")
            && line.contains("--nodes"),
        "{line}"
    );
    assert!(!tmp.path().join("r").exists());
}

#[test]
fn flags_that_do_not_apply_to_a_toy_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let line = zoo(
        tmp.path(),
        &["train", "--model", "regression", "--data-dir", "x"],
    )
    .error_line()
    .to_string();
    assert!(
        line.contains("--data-dir") && line.contains("generates its own points"),
        "{line}"
    );
}

#[test]
fn a_finished_run_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("summary.json"), "{}").unwrap();
    let line = zoo(
        tmp.path(),
        &[
            "train",
            "--model",
            "classification",
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .error_line()
    .to_string();
    assert!(line.contains("already holds a finished run"), "{line}");
    assert_eq!(
        std::fs::read_to_string(run.join("summary.json")).unwrap(),
        "{}"
    );
}

#[test]
fn eval_of_a_folder_that_is_not_a_run_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    // A folder of the user's with a file in it: eval neither writes there nor removes anything.
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let line = zoo(tmp.path(), &["eval", "--run", tmp.path().to_str().unwrap()])
        .error_line()
        .to_string();
    assert!(line.contains("no config.toml here"), "{line}");
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
        "mine"
    );
}
