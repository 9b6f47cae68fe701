//! Property tests of the readers on hostile bytes: arbitrary files never panic, and never make
//! the reader allocate more than the file really holds (a header's claimed size is checked
//! against the data before anything of that size is allocated).
//!
//! A counting global allocator (zoo-tests' `alloc`) records the largest single allocation the
//! reader's thread makes.
//! The number of cases is bounded (`PROPTEST_CASES`, default 256 per property), so CI's time is.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;
use zoo_data::idx::{read_idx, IdxKind};
use zoo_data::pos::{parse_conllu, TagColumn};
use zoo_tests::alloc::{largest_allocation, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// What any read may allocate at once beside the data itself, whatever the file claims: buffers
/// of readers, paths and messages, and the gzip decoder's state.
const OVERHEAD: usize = 64 * 1024;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// An IDX header (`magic`, then `dims` big-endian) followed by `body`.
fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend_from_slice(body);
    bytes
}

/// Reads `bytes` from a file as `kind`; checks the allocation bound `limit` (the data the file
/// holds, decompressed) and that an accepted file is self-consistent.
fn read_checked(dir: &Path, bytes: &[u8], kind: IdxKind, holds: usize) {
    let path = dir.join("file");
    std::fs::write(&path, bytes).unwrap();
    let (result, largest) = largest_allocation(|| read_idx(&path, kind));
    assert!(
        largest <= holds + OVERHEAD,
        "reading a file that holds {holds} bytes allocated {largest} at once"
    );
    match result {
        Ok(data) => {
            let per_item = if kind == IdxKind::Images { 784 } else { 1 };
            assert_eq!(data.bytes.len(), data.count * per_item);
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
    }
}

fn kind() -> impl Strategy<Value = IdxKind> {
    prop_oneof![Just(IdxKind::Images), Just(IdxKind::Labels)]
}

proptest! {
    #[test]
    fn arbitrary_bytes_are_an_error_or_a_consistent_file(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        kind in kind(),
        compressed in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let file = if compressed { gzip(&bytes) } else { bytes.clone() };
        read_checked(dir.path(), &file, kind, bytes.len());
    }

    /// A real gzip file of a valid IDX file, cut or with bytes overwritten anywhere (its
    /// header, its compressed blocks, its checksum): an error or a consistent file.
    #[test]
    fn a_damaged_gzip_stream_is_an_error_or_a_consistent_file(
        count in 0u32..6,
        cut in any::<prop::sample::Index>(),
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        truncate in any::<bool>(),
        kind in kind(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let body: Vec<u8> = (0..count as usize * 784).map(|i| (i % 251) as u8).collect();
        let raw = match kind {
            IdxKind::Images => idx(2051, &[count, 28, 28], &body),
            IdxKind::Labels => idx(2049, &[count], &body[..count as usize]),
        };
        let mut file = gzip(&raw);
        for (at, byte) in damage {
            let i = at.index(file.len());
            file[i] = byte;
        }
        if truncate {
            file.truncate(cut.index(file.len() + 1));
        }
        read_checked(dir.path(), &file, kind, raw.len());
    }

    /// Well-formed headers with any counts and sizes, over bodies of any length: the claim is
    /// never what decides the allocation.
    #[test]
    fn a_header_claiming_anything_allocates_only_what_is_there(
        count in prop_oneof![0u32..8, any::<u32>()],
        rows in prop_oneof![Just(28u32), any::<u32>()],
        cols in prop_oneof![Just(28u32), any::<u32>()],
        body_len in 0usize..4000,
        kind in kind(),
        compressed in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let body: Vec<u8> = (0..body_len).map(|i| (i % 10) as u8).collect();
        let bytes = match kind {
            IdxKind::Images => idx(2051, &[count, rows, cols], &body),
            IdxKind::Labels => idx(2049, &[count], &body),
        };
        let file = if compressed { gzip(&bytes) } else { bytes.clone() };
        read_checked(dir.path(), &file, kind, bytes.len());
    }

    #[test]
    fn arbitrary_text_never_panics_the_conllu_reader(
        lines in proptest::collection::vec(
            prop_oneof![
                // Lines shaped like CoNLL-U: ten tab-separated fields of anything.
                proptest::collection::vec("[^\t\n]{0,6}", 0..12).prop_map(|f| f.join("\t")),
                "#[^\n]{0,20}",
                Just(String::new()),
                "[^\n]{0,40}",
            ],
            0..40,
        ),
        xpos in any::<bool>(),
    ) {
        let text = lines.join("\n");
        let column = if xpos { TagColumn::Xpos } else { TagColumn::Upos };
        let (result, largest) = largest_allocation(|| {
            parse_conllu(std::io::Cursor::new(text.as_bytes()), Path::new("fuzz.conllu"), column)
        });
        prop_assert!(largest <= 8 * text.len() + OVERHEAD, "{largest} bytes at once for {} bytes of text", text.len());
        match result {
            Ok(sentences) => {
                for s in sentences {
                    prop_assert_eq!(s.words.len(), s.tags.len());
                    prop_assert!(!s.words.is_empty());
                }
            }
            Err(error) => prop_assert!(error.to_string().contains("fuzz.conllu")),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_conllu_reader(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let result = parse_conllu(std::io::Cursor::new(bytes), Path::new("bytes.conllu"), TagColumn::Upos);
        if let Err(error) = result {
            prop_assert!(error.to_string().contains("bytes.conllu"));
        }
    }
}

/// A valid image header claiming 10⁹ images (784 GB) over a 4-byte body, raw and gzip.
#[test]
fn a_short_file_claiming_a_billion_images_is_rejected_before_allocating_them() {
    let dir = tempfile::tempdir().unwrap();
    for compressed in [false, true] {
        let bytes = idx(2051, &[1_000_000_000, 28, 28], &[0; 4]);
        let file = if compressed {
            gzip(&bytes)
        } else {
            bytes.clone()
        };
        let path = dir.path().join("claims");
        std::fs::write(&path, &file).unwrap();
        let (result, largest) = largest_allocation(|| read_idx(&path, IdxKind::Images));
        let message = result.expect_err("a truncated file").to_string();
        assert!(
            message.contains("truncated") || message.contains("declares"),
            "{message}"
        );
        assert!(largest < OVERHEAD, "allocated {largest} bytes at once");
    }
}
