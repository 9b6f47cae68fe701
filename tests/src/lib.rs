//! Helpers for the end-to-end tests of the `zoo` binary (the tests themselves are in `tests/`).

pub mod alloc;
pub mod chromium;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The embedded MNIST sample.
pub fn mnist_sample() -> PathBuf {
    workspace().join("data/mnist-sample")
}

/// The `zoo` binary, built once per test process in the profile of the running tests, so a test
/// never exercises a stale binary.
pub fn zoo_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_bin("zoo-cli", "zoo"))
}

/// The binary of the `examples/use-zoo-models` crate, built like [`zoo_bin`].
pub fn example_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_bin("use-zoo-models", "use-zoo-models"))
}

/// The zoo-cli features the tests build `zoo` with (`ZOO_TEST_FEATURES`, which `cargo xtask
/// test` sets to `wgpu,failpoints`, the features of its test build), or `None` for the default
/// set.
pub fn zoo_features() -> Option<&'static str> {
    static FEATURES: OnceLock<Option<String>> = OnceLock::new();
    FEATURES
        .get_or_init(|| {
            std::env::var("ZOO_TEST_FEATURES")
                .ok()
                .filter(|f| !f.is_empty())
        })
        .as_deref()
}

/// A `cargo` command without the variables `cargo test` sets for the running test
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...): ring's build script watches `CARGO_MANIFEST_DIR`,
/// so with them every build started here would recompile ring and all above it (zoo-cli
/// included) for the next build started elsewhere, and the other way round.
pub fn cargo() -> Command {
    let mut command = Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
            ]
            .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// Builds `bin` of `package` in the running tests' profile and returns its path.
fn build_bin(package: &str, bin: &str) -> PathBuf {
    // target/<profile>/deps/<test-binary>
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    if std::env::var_os("ZOO_TEST_BINS_BUILT").is_some() {
        // `cargo xtask test` runs `cargo test --workspace`, which builds every binary with
        // integration tests (zoo, use-zoo-models) in this same build. Building it again with
        // `cargo build -p` would resolve Burn's features for that package alone and compile a
        // second Burn.
        let path = profile_dir.join(bin);
        assert!(
            path.is_file(),
            "{} was not built by the test build",
            path.display()
        );
        return path;
    }
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let mut build = cargo();
    build
        .current_dir(workspace())
        .args(["build", "--quiet", "--package", package, "--bin", bin]);
    if release {
        build.arg("--release");
    }
    if let Some(features) = zoo_features().filter(|_| package == "zoo-cli") {
        build.args(["--features", features]);
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building {bin} failed");
    profile_dir.join(bin)
}

/// What a run of `zoo` printed and how it ended.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the run succeeded.
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "zoo failed:\n{}\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The one-line error of a failed run, after checking the failure is clean: exit code 1, a
    /// single `error:` line, no panic or backtrace.
    pub fn error_line(&self) -> &str {
        assert_eq!(
            self.code,
            Some(1),
            "expected a clean failure:\n{}\n{}",
            self.stdout,
            self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr, got:\n{}",
            self.stderr
        );
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        lines[0]
    }
}

/// Runs `zoo` with `args` in `cwd`.
pub fn zoo(cwd: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(zoo_bin())
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("start the zoo binary");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Reads a run's `summary.json`.
pub fn summary(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// Checks that `path` is a PNG file (signature and header) and returns its `(width, height)`.
pub fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 33 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "{} is not a PNG file",
        path.display()
    );
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let size = (number(16), number(20));
    assert!(size.0 > 0 && size.1 > 0, "{}: empty image", path.display());
    size
}

/// Checks that `path` is an SVG document naming each of `words`.
pub fn assert_svg_names(path: &Path, words: &[&str]) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.contains("<svg") && text.trim_end().ends_with("</svg>"),
        "{} is not an SVG document",
        path.display()
    );
    for word in words {
        assert!(text.contains(word), "{} lacks {word:?}", path.display());
    }
}

/// The variable naming the file where checks against PyTorch note how they ran (`cargo xtask
/// test` sets it and counts the lines in its summary).
pub const PYTORCH_LEDGER: &str = "ZOO_PYTORCH_LEDGER";

/// Notes that the check `what` ran against live PyTorch (`live`) or, PyTorch being missing,
/// against its recorded figures only: a line of the ledger file `cargo xtask test` counts, and
/// one on stderr.
pub fn note_pytorch_check(what: &str, live: bool) {
    let how = if live { "live" } else { "recorded" };
    eprintln!("PyTorch check {what}: {how}");
    if let Some(path) = std::env::var_os(PYTORCH_LEDGER) {
        use std::io::Write;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path);
        if let Ok(mut file) = file {
            let _ = writeln!(file, "{how} {what}");
        }
    }
}

/// One tensor of a `.safetensors` file: its dtype (`F32`), shape and bytes.
pub struct StoredTensor {
    /// The dtype as the header names it.
    pub dtype: String,
    /// The shape.
    pub shape: Vec<u64>,
    /// The little-endian bytes.
    pub bytes: Vec<u8>,
}

/// The tensors of the `.safetensors` file at `path`, by name, read as the format says (an
/// 8-byte header length, the JSON header, the data), for checking what `zoo export` wrote.
pub fn safetensors(path: &Path) -> std::collections::BTreeMap<String, StoredTensor> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let data = &bytes[8 + header_len..];
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, entry)| {
            let at = |i: usize| entry["data_offsets"][i].as_u64().unwrap() as usize;
            let shape = (entry["shape"].as_array().unwrap().iter())
                .map(|d| d.as_u64().unwrap())
                .collect();
            let tensor = StoredTensor {
                dtype: entry["dtype"].as_str().unwrap().to_string(),
                shape,
                bytes: data[at(0)..at(1)].to_vec(),
            };
            (name, tensor)
        })
        .collect()
}
