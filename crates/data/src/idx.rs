//! The IDX format of MNIST: a magic number (`0x0000_08_0N`: unsigned bytes, `N` dimensions), `N`
//! big-endian `u32` sizes, then the bytes. Files may be gzip-compressed (detected by content).
//!
//! The reader trusts nothing: magic, rank, image size, the exact data length against the header
//! (checked against the file's real length before anything is allocated) and label values.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::GzDecoder;

use crate::sniff::open_sniffed;

/// Side of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in one MNIST image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Largest valid label: the formats have ten classes.
pub const MAX_LABEL: u8 = 9;

const UNSIGNED_BYTE: u8 = 0x08;

/// What an IDX file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxKind {
    /// `[count, 28, 28]` unsigned bytes, magic 2051.
    Images,
    /// `[count]` unsigned bytes in `0..=9`, magic 2049.
    Labels,
}

impl IdxKind {
    /// Number of dimensions the header must declare.
    pub fn rank(self) -> u8 {
        match self {
            IdxKind::Images => 3,
            IdxKind::Labels => 1,
        }
    }

    /// The magic number that starts such a file.
    pub fn magic(self) -> u32 {
        u32::from_be_bytes([0, 0, UNSIGNED_BYTE, self.rank()])
    }
}

impl fmt::Display for IdxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdxKind::Images => "images",
            IdxKind::Labels => "labels",
        })
    }
}

/// Everything that can be wrong with an IDX file; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error("{}: corrupt gzip data ({source}); download the file again", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decompressor's error.
        source: io::Error,
    },
    /// The first four bytes are not the magic number of the expected kind of file.
    #[error("{}: wrong magic number {found} (0x{found:08x}): an IDX {kind} file starts with {expected} (0x{expected:08x}){hint}", path.display(), expected = kind.magic())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found.
        found: u32,
        /// What the file should hold.
        kind: IdxKind,
        /// A likely cause, or nothing.
        hint: &'static str,
    },
    /// The header declares another number of dimensions than the kind needs.
    #[error("{}: the header declares {found} dimensions (magic {magic}); IDX {kind} need {expected} (magic {expected_magic})", path.display(), magic = u32::from_be_bytes([0, 0, UNSIGNED_BYTE, *found]), expected = kind.rank(), expected_magic = kind.magic())]
    WrongRank {
        /// The file.
        path: PathBuf,
        /// Dimensions declared.
        found: u8,
        /// What the file should hold.
        kind: IdxKind,
    },
    /// Images are not 28×28.
    #[error("{}: images are {rows}x{cols} pixels; this format needs {IMAGE_SIDE}x{IMAGE_SIDE}", path.display())]
    WrongImageSize {
        /// The file.
        path: PathBuf,
        /// Rows declared.
        rows: u32,
        /// Columns declared.
        cols: u32,
    },
    /// The file ends before the header or the data it declares.
    #[error("{}: truncated: {what} needs {expected} bytes{gz}, the file has only {found}; download it again", path.display(), gz = if *compressed { " (after decompression)" } else { "" })]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The part that is cut short ("the IDX header", "the 60000 images the header declares").
        what: String,
        /// Bytes needed up to the end of that part.
        expected: u64,
        /// Bytes present.
        found: u64,
        /// Whether the sizes are of the decompressed stream.
        compressed: bool,
    },
    /// The file goes on after the data its header declares.
    #[error("{}: {extra} bytes follow the {count} {kind} the header declares; the file is longer than its header says (corrupt or not an IDX file)", path.display())]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Items declared.
        count: u32,
        /// What the file holds.
        kind: IdxKind,
        /// Bytes past the declared end.
        extra: u64,
    },
    /// A label is not a digit class.
    #[error("{}: label {label} of item {index} is out of range 0..={MAX_LABEL}", path.display())]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Index of the item.
        index: usize,
        /// The value found.
        label: u8,
    },
    /// The images and labels files disagree on the number of items.
    #[error("{} holds {images} images but {} holds {labels} labels; the counts must match", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Images declared.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Labels declared.
        labels: usize,
    },
    /// Some of the four standard files are not in the folder.
    #[error("{}: missing {}; expected the four standard MNIST-format files, raw or .gz: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (point --data-dir at the folder that holds them)", dir.display(), missing.join(", "))]
    MissingFiles {
        /// The folder searched.
        dir: PathBuf,
        /// The standard names not found.
        missing: Vec<String>,
    },
}

/// The validated contents of one IDX file.
#[derive(Debug, Clone)]
pub struct IdxData {
    /// Number of items (images or labels).
    pub count: usize,
    /// The bytes: `count × 784` pixels row-major, or `count` labels.
    pub bytes: Vec<u8>,
}

/// Reads and validates one IDX file of the given kind.
pub fn read_idx(path: &Path, kind: IdxKind) -> Result<IdxData, IdxError> {
    let io_err = |source| IdxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let (buffered, compressed) = open_sniffed(path).map_err(io_err)?;
    let file_len = buffered.get_ref().metadata().map_err(io_err)?.len();
    let reader: Box<dyn Read> = if compressed {
        Box::new(GzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let mut reader = IdxReader {
        inner: reader,
        path,
        compressed,
        consumed: 0,
    };

    let header_len = 4 + 4 * u64::from(kind.rank());
    let magic = reader.header_word(header_len)?;
    check_magic(path, magic, kind)?;
    let mut dims = Vec::with_capacity(kind.rank().into());
    for _ in 0..kind.rank() {
        dims.push(reader.header_word(header_len)?);
    }
    let count = dims[0];
    if kind == IdxKind::Images && (dims[1] as usize, dims[2] as usize) != (IMAGE_SIDE, IMAGE_SIDE) {
        return Err(IdxError::WrongImageSize {
            path: path.to_path_buf(),
            rows: dims[1],
            cols: dims[2],
        });
    }
    let data_len: u64 = dims.iter().map(|&d| u64::from(d)).product();
    let what = format!("the {count} {kind} the header declares");
    if !compressed {
        // Compare the claim with the real length before allocating anything of that size.
        let body = file_len - header_len;
        if body < data_len {
            return Err(reader.truncated(what, header_len + data_len, file_len));
        }
        if body > data_len {
            return Err(IdxError::TrailingBytes {
                path: path.to_path_buf(),
                count,
                kind,
                extra: body - data_len,
            });
        }
    }
    // Reading through `take` grows the buffer only as real bytes arrive, so a compressed file
    // that claims more than it holds cannot make us allocate the claim.
    let mut bytes = Vec::new();
    reader.read_limited(&mut bytes, data_len)?;
    if (bytes.len() as u64) < data_len {
        let found = reader.consumed;
        return Err(reader.truncated(what, header_len + data_len, found));
    }
    let extra = reader.count_rest()?;
    if extra > 0 {
        return Err(IdxError::TrailingBytes {
            path: path.to_path_buf(),
            count,
            kind,
            extra,
        });
    }
    if kind == IdxKind::Labels {
        if let Some((index, &label)) = bytes.iter().enumerate().find(|(_, &l)| l > MAX_LABEL) {
            return Err(IdxError::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label,
            });
        }
    }
    Ok(IdxData {
        count: count as usize,
        bytes,
    })
}

fn check_magic(path: &Path, magic: u32, kind: IdxKind) -> Result<(), IdxError> {
    if magic == kind.magic() {
        return Ok(());
    }
    let other = match kind {
        IdxKind::Images => IdxKind::Labels,
        IdxKind::Labels => IdxKind::Images,
    };
    let [zero_a, zero_b, element, rank] = magic.to_be_bytes();
    if magic != other.magic() && [zero_a, zero_b, element] == [0, 0, UNSIGNED_BYTE] {
        return Err(IdxError::WrongRank {
            path: path.to_path_buf(),
            found: rank,
            kind,
        });
    }
    let hint = if magic == other.magic() {
        " (this is a labels/images file in the other's place: are the names swapped?)"
    } else {
        ""
    };
    Err(IdxError::BadMagic {
        path: path.to_path_buf(),
        found: magic,
        kind,
        hint,
    })
}

/// A reader that counts what it consumed and turns read errors into [`IdxError`]s.
struct IdxReader<'a> {
    inner: Box<dyn Read + 'a>,
    path: &'a Path,
    compressed: bool,
    consumed: u64,
}

impl IdxReader<'_> {
    fn error(&self, source: io::Error) -> IdxError {
        let path = self.path.to_path_buf();
        if self.compressed && source.kind() != io::ErrorKind::PermissionDenied {
            IdxError::Gzip { path, source }
        } else {
            IdxError::Io { path, source }
        }
    }

    fn truncated(&self, what: String, expected: u64, found: u64) -> IdxError {
        IdxError::Truncated {
            path: self.path.to_path_buf(),
            what,
            expected,
            found,
            compressed: self.compressed,
        }
    }

    fn read_limited(&mut self, buf: &mut Vec<u8>, limit: u64) -> Result<(), IdxError> {
        let read = (&mut self.inner)
            .take(limit)
            .read_to_end(buf)
            .map_err(|e| self.error(e))?;
        self.consumed += read as u64;
        Ok(())
    }

    /// Reads one big-endian `u32` of a header `header_len` bytes long.
    fn header_word(&mut self, header_len: u64) -> Result<u32, IdxError> {
        let mut word = Vec::with_capacity(4);
        self.read_limited(&mut word, 4)?;
        match <[u8; 4]>::try_from(word.as_slice()) {
            Ok(bytes) => Ok(u32::from_be_bytes(bytes)),
            Err(_) => {
                let found = self.consumed;
                Err(self.truncated("the IDX header".into(), header_len, found))
            }
        }
    }

    fn count_rest(&mut self) -> Result<u64, IdxError> {
        io::copy(&mut self.inner, &mut io::sink()).map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests;
