//! Opening a data file that may be gzip-compressed, whatever its name says.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// The first two bytes of every gzip stream.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `path` opened for buffered reading, and whether its content starts with gzip's magic bytes;
/// the caller picks its decoder.
pub(crate) fn open_sniffed(path: &Path) -> io::Result<(BufReader<File>, bool)> {
    let mut reader = BufReader::new(File::open(path)?);
    let gzip = reader.fill_buf()?.starts_with(&GZIP_MAGIC);
    Ok((reader, gzip))
}
