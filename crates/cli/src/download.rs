//! `zoo data download mnist|fashion-mnist`: the four IDX archives from the standard mirrors, each
//! checked against its published SHA-256 before it is moved into place.
//!
//! A file is downloaded into `DIR/.NAME.part`; a broken connection keeps that partial file and the
//! next mirror (or the next `zoo data download`) continues it with an HTTP range request. A file
//! whose size or SHA-256 is wrong is deleted, never renamed into `DIR/NAME`, so the loader can
//! never read it. Mirrors are tried in turn, per file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

/// One archive of a dataset: its standard name, size and SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    /// The file name, the same on every mirror.
    pub name: String,
    /// Its size in bytes, when known (the built-in lists know it).
    pub bytes: Option<u64>,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// A downloadable dataset: where it comes from and what its files must be.
#[derive(Debug, Clone)]
pub struct Source {
    /// `mnist` or `fashion-mnist`.
    pub name: &'static str,
    /// The folder it goes to when `--dir` is not given.
    pub default_dir: &'static str,
    /// Base URLs, tried in turn; a file's URL is the base followed by its name.
    pub mirrors: Vec<String>,
    /// The four archives.
    pub archives: Vec<Archive>,
}

fn archive(name: &str, bytes: u64, sha256: &str) -> Archive {
    Archive {
        name: name.to_string(),
        bytes: Some(bytes),
        sha256: sha256.to_string(),
    }
}

/// The datasets `zoo data download` knows.
pub const DATASETS: [&str; 2] = ["mnist", "fashion-mnist"];

/// The built-in description of dataset `name` (one of [`DATASETS`]).
pub fn source(name: &str) -> Option<Source> {
    match name {
        // LeCun, Cortes and Burges' MNIST: the mirrors torchvision and TensorFlow use, then the
        // original site (which has refused downloads at times).
        "mnist" => Some(Source {
            name: "mnist",
            default_dir: "data/mnist",
            mirrors: [
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ]
            .map(String::from)
            .to_vec(),
            archives: vec![
                archive(
                    "train-images-idx3-ubyte.gz",
                    9_912_422,
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                ),
                archive(
                    "train-labels-idx1-ubyte.gz",
                    28_881,
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                ),
                archive(
                    "t10k-images-idx3-ubyte.gz",
                    1_648_877,
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                ),
                archive(
                    "t10k-labels-idx1-ubyte.gz",
                    4_542,
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                ),
            ],
        }),
        // Zalando Research's Fashion-MNIST: its S3 site, then its GitHub repository.
        "fashion-mnist" => Some(Source {
            name: "fashion-mnist",
            default_dir: "data/fashion-mnist",
            mirrors: [
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            ]
            .map(String::from)
            .to_vec(),
            archives: vec![
                archive(
                    "train-images-idx3-ubyte.gz",
                    26_421_880,
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                ),
                archive(
                    "train-labels-idx1-ubyte.gz",
                    29_515,
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                ),
                archive(
                    "t10k-images-idx3-ubyte.gz",
                    4_422_102,
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                ),
                archive(
                    "t10k-labels-idx1-ubyte.gz",
                    5_148,
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                ),
            ],
        }),
        _ => None,
    }
}

impl Source {
    /// Replaces the mirror list (each base gets a trailing `/`).
    pub fn with_mirrors(mut self, mirrors: &[String]) -> Self {
        if !mirrors.is_empty() {
            self.mirrors = mirrors
                .iter()
                .map(|m| match m.ends_with('/') {
                    true => m.clone(),
                    false => format!("{m}/"),
                })
                .collect();
        }
        self
    }

    /// Replaces the expected checksums by those of a `sha256sum`-style file (`HEX  NAME` per
    /// line), for a mirror of another edition of the files; sizes are then not checked.
    pub fn with_checksums(mut self, file: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the checksum file {}", file.display()))?;
        let mut listed = std::collections::HashMap::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let mut parts = line.split_whitespace();
            let (Some(hex), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
                anyhow::bail!(
                    "{} line {}: expected `SHA256  NAME` (as sha256sum writes), got `{line}`",
                    file.display(),
                    i + 1
                );
            };
            anyhow::ensure!(
                hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()),
                "{} line {}: `{hex}` is not a SHA-256 (64 hex digits)",
                file.display(),
                i + 1
            );
            listed.insert(name.trim_start_matches('*').to_string(), hex.to_lowercase());
        }
        for archive in &mut self.archives {
            let sha256 = listed.get(&archive.name).with_context(|| {
                format!(
                    "{} has no line for {}: it must list all four files",
                    file.display(),
                    archive.name
                )
            })?;
            archive.sha256 = sha256.clone();
            archive.bytes = None;
        }
        Ok(self)
    }
}

/// How one attempt at one mirror went wrong.
enum Failure {
    /// The server could not be reached at all (name lookup, connection, timeout): it is not
    /// tried again for the other files.
    Unreachable(String),
    /// Nothing usable came back (an HTTP error status); the partial file is as it was.
    Unavailable(String),
    /// The transfer broke; the bytes received so far are kept for the next attempt.
    Broken(String),
    /// The file arrived but is not the expected one; it was deleted.
    Wrong(String),
}

/// Downloads the archives of `source` into `dir`, skipping those already there with the right
/// SHA-256; `timeout` bounds connecting and each read. Prints one line per file.
pub fn download(source: &Source, dir: &Path, timeout: Duration) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_per_read(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("zoo/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut failed = Vec::new();
    let mut unreachable: Vec<(String, String)> = Vec::new();
    for archive in &source.archives {
        let target = dir.join(&archive.name);
        if target.is_file() {
            let sha = sha256_of(&target)?;
            if sha == archive.sha256 {
                println!("{}: already there, SHA-256 ok", archive.name);
                continue;
            }
            println!(
                "{}: present but its SHA-256 is {sha}, not {}; downloading it again",
                archive.name, archive.sha256
            );
        }
        let partial = dir.join(format!(".{}.part", archive.name));
        let mut done = false;
        for mirror in &source.mirrors {
            if unreachable.iter().any(|(m, _)| m == mirror) {
                continue;
            }
            let url = format!("{mirror}{}", archive.name);
            match fetch(&agent, &url, &partial, archive) {
                Ok(bytes) => {
                    std::fs::rename(&partial, &target).with_context(|| {
                        format!("cannot move {} into place", target.display())
                    })?;
                    println!(
                        "{}: {} from {url}, SHA-256 ok",
                        archive.name,
                        human_bytes(bytes)
                    );
                    done = true;
                    break;
                }
                Err(Failure::Unreachable(why)) => {
                    println!("{}: {url}: {why}; not trying this mirror again", archive.name);
                    unreachable.push((mirror.clone(), why));
                }
                Err(Failure::Unavailable(why)) | Err(Failure::Wrong(why)) => {
                    println!("{}: {url}: {why}", archive.name);
                }
                Err(Failure::Broken(why)) => println!(
                    "{}: {url}: {why}; the bytes received are kept in {} and the next try resumes there",
                    archive.name,
                    partial.display()
                ),
            }
        }
        if !done {
            failed.push(archive.name.clone());
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = source.archives.iter().map(|a| a.name.as_str()).collect();
    let offline = format!(
        "Offline? Copy the four files ({}) obtained elsewhere into a folder and train with `--data-dir FOLDER`{} (zoo checks every header), or give --mirror URL (repeatable) of a server you can reach",
        names.join(", "),
        match source.name {
            "fashion-mnist" => " --dataset fashion-mnist",
            _ => "",
        },
    );
    let unreached: Vec<String> = unreachable
        .iter()
        .map(|(mirror, why)| format!("{mirror}: {why}"))
        .collect();
    if unreachable.len() == source.mirrors.len() {
        anyhow::bail!(
            "cannot reach any mirror of {} ({}). {offline}",
            source.name,
            unreached.join("; ")
        );
    }
    let mut why = String::new();
    if !unreached.is_empty() {
        why = format!(" (unreachable: {})", unreached.join("; "));
    }
    anyhow::bail!(
        "cannot download {} of {} into {}: no mirror gave the right file (what each sent is printed above){why}. Run the command again to resume interrupted transfers. {offline}",
        failed.join(", "),
        source.name,
        dir.display(),
    )
}

/// Downloads `url` into `partial` (continuing what it holds), then checks size and SHA-256.
/// Returns the file's size; on success `partial` holds exactly the expected file, synced.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    partial: &Path,
    archive: &Archive,
) -> Result<u64, Failure> {
    let mut offset = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    if archive.bytes.is_some_and(|total| offset > total) {
        discard(partial);
        offset = 0;
    }
    let mut request = agent.get(url);
    if offset > 0 {
        request = request.header("Range", format!("bytes={offset}-"));
    }
    let response = request.call().map_err(|err| {
        let text = err.to_string();
        Failure::Unreachable(text.strip_prefix("io: ").unwrap_or(&text).to_string())
    })?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let length = header("content-length").and_then(|v| v.parse::<u64>().ok());
    // The size of the whole file on this server: Content-Length of a 200, or the total in the
    // Content-Range (`bytes START-END/TOTAL`) of a 206.
    let (append, whole) = match status {
        200 => (false, length),
        206 => {
            let range = header("content-range").unwrap_or_default();
            let (span, total) = range
                .strip_prefix("bytes ")
                .and_then(|r| r.split_once('/'))
                .unwrap_or_default();
            let start = span.split('-').next().and_then(|v| v.parse::<u64>().ok());
            if start != Some(offset) {
                return Err(Failure::Unavailable(format!(
                    "answered a request for bytes {offset}- with another range (`{range}`)"
                )));
            }
            (true, total.parse::<u64>().ok())
        }
        // Nothing after `offset`: the partial file may already be whole.
        416 if offset > 0 => return verify(partial, archive, offset),
        _ => {
            let reason = response.status().canonical_reason().unwrap_or("");
            return Err(Failure::Unavailable(
                format!("HTTP {status} {reason}").trim_end().to_string(),
            ));
        }
    };
    if let (Some(expected), Some(whole)) = (archive.bytes, whole) {
        if whole != expected {
            // Another file (an error page, a truncated or different copy): nothing is written.
            return Err(Failure::Wrong(format!(
                "its file is {whole} bytes, not the {expected} of the published file (not downloaded)"
            )));
        }
    }
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(partial)
        .map_err(|err| {
            Failure::Unavailable(format!("cannot write {}: {err}", partial.display()))
        })?;
    let start = if append { offset } else { 0 };
    let total = archive.bytes.or(length.map(|l| start + l));
    let bar = progress_bar(&archive.name, total, start);
    let mut body = response.into_body().into_reader();
    let outcome = copy_body(&mut body, &mut file, start, archive, partial, &bar);
    bar.finish_and_clear();
    let synced = file.sync_all();
    drop(file);
    match outcome {
        Err(Failure::Wrong(why)) => {
            discard(partial);
            Err(Failure::Wrong(why))
        }
        Err(failure) => Err(failure),
        Ok(received) => {
            synced.map_err(|err| {
                Failure::Unavailable(format!("cannot write {}: {err}", partial.display()))
            })?;
            // A body shorter than its announced length ends in an error above; one without a
            // length that stops short is caught by the size or the checksum here.
            verify(partial, archive, received)
        }
    }
}

/// Appends `body` to `file` (which holds `start` bytes), moving `bar`; the bytes the file then
/// holds, or why the transfer failed.
fn copy_body(
    body: &mut impl Read,
    file: &mut File,
    start: u64,
    archive: &Archive,
    partial: &Path,
    bar: &ProgressBar,
) -> Result<u64, Failure> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut received = start;
    loop {
        match body.read(&mut buffer) {
            Ok(0) => return Ok(received),
            Ok(n) => {
                file.write_all(&buffer[..n]).map_err(|err| {
                    Failure::Unavailable(format!("cannot write {}: {err}", partial.display()))
                })?;
                received += n as u64;
                bar.set_position(received);
                if archive.bytes.is_some_and(|total| received > total) {
                    return Err(Failure::Wrong(format!(
                        "sent more than the {} bytes the file has",
                        archive.bytes.unwrap_or(0)
                    )));
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                return Err(Failure::Broken(format!(
                    "the transfer broke after {} ({err})",
                    human_bytes(received)
                )))
            }
        }
    }
}

/// Checks the downloaded file's size and SHA-256; deletes it if either is wrong.
fn verify(partial: &Path, archive: &Archive, size: u64) -> Result<u64, Failure> {
    if let Some(total) = archive.bytes {
        if size < total {
            return Err(Failure::Broken(format!(
                "the transfer ended after {} of {}",
                human_bytes(size),
                human_bytes(total)
            )));
        }
    }
    let sha = sha256_of(partial).map_err(|err| Failure::Unavailable(format!("{err:#}")))?;
    if sha != archive.sha256 {
        discard(partial);
        return Err(Failure::Wrong(format!(
            "sent a file whose SHA-256 is {sha}, not {} (deleted, never used)",
            archive.sha256
        )));
    }
    Ok(size)
}

fn discard(partial: &Path) {
    let _ = std::fs::remove_file(partial);
}

/// The SHA-256 of a file, lowercase hex.
pub fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A byte-count bar on standard error (drawn only on a terminal).
fn progress_bar(name: &str, total: Option<u64>, position: u64) -> ProgressBar {
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    bar.set_message(name.to_string());
    bar.set_position(position);
    bar
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

/// The folder a dataset goes to: `dir` if given, else the dataset's default.
pub fn target_dir(source: &Source, dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| PathBuf::from(source.default_dir))
}
