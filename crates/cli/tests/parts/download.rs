//! The datasets `zoo data download` knows: their checksums, mirrors and checksum files.

use std::path::Path;

use zoo_cli::download::*;

#[test]
fn the_builtin_checksums_are_those_of_the_official_test_files() {
    // The repository's MNIST sample holds the official test set, byte for byte.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist-sample");
    let mnist = source("mnist").unwrap();
    for archive in &mnist.archives[2..] {
        let path = sample.join(&archive.name);
        assert_eq!(
            sha256_of(&path).unwrap(),
            archive.sha256,
            "{}",
            archive.name
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            archive.bytes.unwrap()
        );
    }
    for name in DATASETS {
        let s = source(name).unwrap();
        assert_eq!(s.archives.len(), 4);
        assert!(s.mirrors.len() >= 2, "{name} has several mirrors");
    }
}

#[test]
fn checksum_files_replace_the_builtin_list_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("SHA256SUMS");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist-sample/SHA256SUMS");
    let s = source("mnist").unwrap().with_checksums(&sample).unwrap();
    assert!(s.archives.iter().all(|a| a.bytes.is_none()));
    assert_ne!(
        s.archives[0].sha256,
        source("mnist").unwrap().archives[0].sha256
    );

    std::fs::write(&file, "abc  train-images-idx3-ubyte.gz\n").unwrap();
    let err = source("mnist")
        .unwrap()
        .with_checksums(&file)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 1") && err.contains("not a SHA-256"),
        "{err}"
    );
    std::fs::write(
        &file,
        format!("{}  train-images-idx3-ubyte.gz\n", "a".repeat(64)),
    )
    .unwrap();
    let err = source("mnist")
        .unwrap()
        .with_checksums(&file)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no line for train-labels-idx1-ubyte.gz"),
        "{err}"
    );
}

#[test]
fn mirrors_get_a_trailing_slash() {
    let s = source("mnist")
        .unwrap()
        .with_mirrors(&["http://h/a".into(), "http://h/b/".into()]);
    assert_eq!(s.mirrors, ["http://h/a/", "http://h/b/"]);
}
