//! Every corrupt-input case of the reader, each on a real file written here, each asserting that
//! the message names the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::*;
use crate::mnist::{MnistDataset, MnistFolder, MnistSplit};
use crate::sniff::GZIP_MAGIC;

const IMAGES: u32 = 2051;
const LABELS: u32 = 2049;

/// Writes an IDX file: `magic`, `dims` as big-endian words, then `body`; gzip-compressed if the
/// name ends in `.gz`.
fn write_idx(dir: &Path, name: &str, magic: u32, dims: &[u32], body: &[u8]) -> PathBuf {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend_from_slice(body);
    write_raw(dir, name, &bytes)
}

fn write_raw(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if name.ends_with(".gz") && !bytes.starts_with(&GZIP_MAGIC) {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
    } else {
        std::fs::write(&path, bytes).unwrap();
    }
    path
}

fn images(n: usize) -> Vec<u8> {
    (0..n * IMAGE_PIXELS).map(|i| (i % 251) as u8).collect()
}

/// The error of reading `path` as `kind`, after checking that its message names the file.
fn error_of(path: &Path, kind: IdxKind) -> (IdxError, String) {
    let err = read_idx(path, kind).expect_err("a corrupt file must be rejected");
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "message does not name the file: {message}"
    );
    (err, message)
}

#[test]
fn reads_valid_files_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "a.gz"] {
        let path = write_idx(dir.path(), name, IMAGES, &[2, 28, 28], &images(2));
        let data = read_idx(&path, IdxKind::Images).unwrap();
        assert_eq!((data.count, data.bytes), (2, images(2)));
    }
    let path = write_idx(dir.path(), "l", LABELS, &[3], &[9, 0, 4]);
    assert_eq!(read_idx(&path, IdxKind::Labels).unwrap().bytes, [9, 0, 4]);
}

#[test]
fn wrong_magic_is_named_and_swapped_files_are_suspected() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_idx(dir.path(), "garbage", 0x1234_5678, &[1, 28, 28], &images(1));
    let (err, message) = error_of(&path, IdxKind::Images);
    assert!(
        matches!(
            err,
            IdxError::BadMagic {
                found: 0x1234_5678,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("starts with 2051"), "{message}");

    let labels_file = write_idx(dir.path(), "labels-as-images", LABELS, &[3], &[1, 2, 3]);
    let (_, message) = error_of(&labels_file, IdxKind::Images);
    assert!(message.contains("wrong magic number 2049"), "{message}");
    assert!(message.contains("swapped"), "{message}");
}

#[test]
fn wrong_rank_is_reported_with_both_magics() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_idx(
        dir.path(),
        "rank4",
        0x0000_0804,
        &[1, 1, 28, 28],
        &images(1),
    );
    let (err, message) = error_of(&path, IdxKind::Images);
    assert!(
        matches!(err, IdxError::WrongRank { found: 4, .. }),
        "{err:?}"
    );
    assert!(message.contains("declares 4 dimensions"), "{message}");
    assert!(message.contains("need 3"), "{message}");
}

#[test]
fn images_not_28_by_28_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_idx(dir.path(), "big", IMAGES, &[1, 32, 32], &[0; 32 * 32]);
    let (err, message) = error_of(&path, IdxKind::Images);
    assert!(
        matches!(
            err,
            IdxError::WrongImageSize {
                rows: 32,
                cols: 32,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("32x32"), "{message}");
}

#[test]
fn a_file_shorter_than_its_header_says_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["short", "short.gz"] {
        let body = &images(3)[..2 * IMAGE_PIXELS + 100];
        let path = write_idx(dir.path(), name, IMAGES, &[3, 28, 28], body);
        let (err, message) = error_of(&path, IdxKind::Images);
        let expected = 16 + 3 * IMAGE_PIXELS as u64;
        let found = 16 + 2 * IMAGE_PIXELS as u64 + 100;
        assert!(
            matches!(err, IdxError::Truncated { expected: e, found: f, .. } if e == expected && f == found),
            "{err:?}"
        );
        assert!(
            message.contains("the 3 images the header declares"),
            "{message}"
        );
    }
}

#[test]
fn a_file_cut_inside_the_header_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_raw(dir.path(), "stub", &IMAGES.to_be_bytes()[..3]);
    let (err, message) = error_of(&path, IdxKind::Images);
    assert!(
        matches!(
            err,
            IdxError::Truncated {
                expected: 16,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("the IDX header"), "{message}");
}

#[test]
fn a_header_claiming_a_billion_images_is_rejected_without_allocating_them() {
    // 784 GB claimed by a 16-byte file; reading must fail on the length check, not on memory.
    let dir = tempfile::tempdir().unwrap();
    for name in ["huge", "huge.gz"] {
        let path = write_idx(dir.path(), name, IMAGES, &[1_000_000_000, 28, 28], &[]);
        let (err, _) = error_of(&path, IdxKind::Images);
        assert!(
            matches!(err, IdxError::Truncated { found: 16, .. }),
            "{err:?}"
        );
    }
}

#[test]
fn a_file_longer_than_its_header_says_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["long", "long.gz"] {
        let path = write_idx(dir.path(), name, LABELS, &[3], &[1, 2, 3, 4, 5]);
        let (err, message) = error_of(&path, IdxKind::Labels);
        assert!(
            matches!(
                err,
                IdxError::TrailingBytes {
                    extra: 2,
                    count: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(message.contains("longer than its header says"), "{message}");
    }
}

#[test]
fn a_label_above_nine_is_reported_with_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_idx(dir.path(), "labels", LABELS, &[4], &[3, 9, 10, 2]);
    let (err, message) = error_of(&path, IdxKind::Labels);
    assert!(
        matches!(
            err,
            IdxError::LabelOutOfRange {
                index: 2,
                label: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("label 10 of item 2"), "{message}");
}

#[test]
fn corrupt_gzip_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_raw(
        dir.path(),
        "broken.gz",
        &[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef],
    );
    let (err, message) = error_of(&path, IdxKind::Labels);
    assert!(matches!(err, IdxError::Gzip { .. }), "{err:?}");
    assert!(message.contains("corrupt gzip"), "{message}");
}

#[test]
fn image_and_label_counts_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = write_idx(dir.path(), "i", IMAGES, &[2, 28, 28], &images(2));
    let labels = write_idx(dir.path(), "l", LABELS, &[3], &[1, 2, 3]);
    let err = MnistDataset::from_files(&imgs, &labels).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            IdxError::CountMismatch {
                images: 2,
                labels: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains(&imgs.display().to_string()), "{message}");
    assert!(message.contains(&labels.display().to_string()), "{message}");
}

#[test]
fn missing_files_are_all_listed() {
    let dir = tempfile::tempdir().unwrap();
    write_idx(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        IMAGES,
        &[1, 28, 28],
        &images(1),
    );
    write_idx(dir.path(), "train-labels-idx1-ubyte", LABELS, &[1], &[5]);
    let err = MnistFolder::open(dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("missing t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz];"),
        "{message}"
    );
    // The train split alone is complete, whatever the compression of each file.
    let train = MnistDataset::open(dir.path(), MnistSplit::Train).unwrap();
    assert_eq!(train.labels(), [5]);
}

#[test]
fn a_missing_file_inside_a_file_path_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent");
    let (err, _) = error_of(&path, IdxKind::Images);
    assert!(matches!(err, IdxError::Io { .. }), "{err:?}");
}
