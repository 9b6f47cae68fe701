//! `zoo data download` against a real HTTP server on 127.0.0.1, started by each test. The server
//! is written out here (std's TcpListener) because it must misbehave on purpose: besides serving
//! the real MNIST files (with range requests), it answers 404, sends a file cut short under a
//! correct length, breaks the connection in the middle of a transfer, and sends a corrupted copy.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zoo_tests::{mnist_sample, zoo_bin, Run};

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// A request the server received: its path and its `Range` header.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    range: Option<String>,
}

/// Serves the files of `root` under `/MODE/NAME`, MODE being how to misbehave:
/// `good` (whole file, honours `Range: bytes=N-`), `missing` (404), `short` (the first half, with
/// a Content-Length saying so), `cut` (announces the whole length, sends half, closes),
/// `corrupt` (whole length, one byte changed).
struct Server {
    base: String,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    fn start(root: PathBuf) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (root, log) = (root.clone(), shared.clone());
                std::thread::spawn(move || serve(stream, &root, &log));
            }
        });
        Self { base, log }
    }

    fn mirror(&self, mode: &str) -> String {
        format!("{}/{mode}/", self.base)
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, root: &Path, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    log.lock().unwrap().push(Request {
        path: path.clone(),
        range: range.clone(),
    });
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (mode, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let file = std::fs::read(root.join(name))
        .ok()
        .filter(|_| !name.contains(".."));
    let send = |stream: &mut TcpStream, status: &str, headers: &str, body: &[u8]| {
        let head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n{headers}\r\n");
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
    };
    let (Some(bytes), true) = (file, mode != "missing") else {
        send(
            &mut stream,
            "404 Not Found",
            "Content-Length: 9\r\n",
            b"not found",
        );
        return;
    };
    let len = bytes.len();
    match mode {
        "good" => match range.and_then(|r| {
            r.strip_prefix("bytes=")?
                .strip_suffix('-')?
                .parse::<usize>()
                .ok()
        }) {
            Some(start) if start < len => send(
                &mut stream,
                "206 Partial Content",
                &format!(
                    "Content-Length: {}\r\nContent-Range: bytes {start}-{}/{len}\r\n",
                    len - start,
                    len - 1
                ),
                &bytes[start..],
            ),
            Some(_) => send(
                &mut stream,
                "416 Range Not Satisfiable",
                &format!("Content-Range: bytes */{len}\r\nContent-Length: 0\r\n"),
                b"",
            ),
            None => send(
                &mut stream,
                "200 OK",
                &format!("Content-Length: {len}\r\n"),
                &bytes,
            ),
        },
        "short" => send(
            &mut stream,
            "200 OK",
            &format!("Content-Length: {}\r\n", len / 2),
            &bytes[..len / 2],
        ),
        "cut" => send(
            &mut stream,
            "200 OK",
            &format!("Content-Length: {len}\r\n"),
            &bytes[..len / 2],
        ),
        "corrupt" => {
            let mut bad = bytes.clone();
            bad[len / 2] ^= 0x55;
            send(
                &mut stream,
                "200 OK",
                &format!("Content-Length: {len}\r\n"),
                &bad,
            )
        }
        _ => send(&mut stream, "400 Bad Request", "Content-Length: 0\r\n", b""),
    }
    // Dropping the stream closes the connection (for `cut`: before the announced length).
}

/// Runs `zoo data download ...` in `cwd`, with no proxy in the way of 127.0.0.1.
fn download(cwd: &Path, args: &[&str]) -> Run {
    let mut command = std::process::Command::new(zoo_bin());
    command
        .current_dir(cwd)
        .args(["data", "download"])
        .args(args);
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    let out = command.output().expect("start the zoo binary");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

#[test]
fn bad_mirrors_are_passed_over_a_broken_transfer_resumes_and_the_files_train() {
    let server = Server::start(mnist_sample());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mnist");
    let checksums = mnist_sample().join("SHA256SUMS");
    let mirrors = ["missing", "corrupt", "cut", "good"].map(|m| server.mirror(m));
    let mut args = vec!["mnist", "--dir", dir.to_str().unwrap()];
    args.extend(["--checksums", checksums.to_str().unwrap()]);
    for m in &mirrors {
        args.extend(["--mirror", m.as_str()]);
    }
    let run = download(tmp.path(), &args);
    run.assert_ok();

    // Each file is the served file, byte for byte, and nothing else is left in the folder.
    assert_eq!(names_in(&dir), sorted(&FILES));
    for name in FILES {
        let got = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            got,
            std::fs::read(mnist_sample().join(name)).unwrap(),
            "{name}"
        );
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(name) && l.contains("SHA-256 ok"))
            .unwrap_or_else(|| panic!("no success line for {name}:\n{}", run.stdout));
        assert!(line.contains(&mirrors[3]), "{line}");
    }
    for what in ["HTTP 404", "not ", "the transfer broke after", "kept in"] {
        assert!(
            run.stdout.contains(what),
            "{what:?} missing from:\n{}",
            run.stdout
        );
    }
    // The good mirror was asked for the rest of each file, from where the cut transfer stopped.
    let requests = server.requests();
    for name in FILES {
        let half = std::fs::metadata(mnist_sample().join(name)).unwrap().len() / 2;
        let resumed = requests
            .iter()
            .find(|r| r.path == format!("/good/{name}"))
            .unwrap_or_else(|| panic!("no request for {name} at the good mirror: {requests:?}"));
        assert_eq!(
            resumed.range.as_deref(),
            Some(format!("bytes={half}-").as_str())
        );
    }

    // The folder is a dataset zoo trains on.
    let run_dir = tmp.path().join("run");
    zoo_tests::zoo(
        tmp.path(),
        &[
            "train",
            "--model",
            "mnist-cnn",
            "--epochs",
            "1",
            "--train-limit",
            "300",
            "--data-dir",
            dir.to_str().unwrap(),
            "--out",
            run_dir.to_str().unwrap(),
        ],
    )
    .assert_ok();

    // A second download finds every file in place and asks the server for nothing.
    let before = server.requests().len();
    let again = download(tmp.path(), &args);
    again.assert_ok();
    assert_eq!(
        again.stdout.matches("already there, SHA-256 ok").count(),
        4,
        "{}",
        again.stdout
    );
    assert_eq!(server.requests().len(), before);
}

#[test]
fn the_published_checksums_take_the_official_files_and_refuse_any_other() {
    // The sample's test files are the official ones; its training files are a 10,000-image
    // sample, so their SHA-256 is not the published one.
    let server = Server::start(mnist_sample());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mnist");
    std::fs::create_dir_all(&dir).unwrap();
    // A damaged earlier copy of one file is replaced.
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), b"damaged").unwrap();
    let mirrors = ["short", "corrupt", "good"].map(|m| server.mirror(m));
    let mut args = vec!["mnist", "--dir", dir.to_str().unwrap()];
    for m in &mirrors {
        args.extend(["--mirror", m.as_str()]);
    }
    let run = download(tmp.path(), &args);
    let line = run.error_line();
    assert!(
        line.contains(
            "cannot download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz of mnist"
        ),
        "{line}"
    );
    assert!(line.contains("--data-dir"), "{line}");
    for what in [
        "present but its SHA-256 is",
        // A copy cut short on the server (its announced size is not the published one).
        "not the 1648877 of the published file (not downloaded)",
        // A copy of the right size with one byte changed.
        "not 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 (deleted, never used)",
        // The sample's training images are not the published file.
        "not the 9912422 of the published file",
    ] {
        assert!(run.stdout.contains(what), "{what:?} missing from:\n{}", run.stdout);
    }
    // Only the two verified files are where the loader looks; the rejected ones left nothing.
    assert_eq!(
        names_in(&dir),
        sorted(&["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
    );
    for name in &FILES[2..] {
        assert_eq!(
            std::fs::read(dir.join(name)).unwrap(),
            std::fs::read(mnist_sample().join(name)).unwrap()
        );
    }
}

#[test]
fn offline_it_says_how_to_use_files_obtained_elsewhere() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fashion");
    let mirror = format!("http://127.0.0.1:{port}/");
    let run = download(
        tmp.path(),
        &[
            "fashion-mnist",
            "--dir",
            dir.to_str().unwrap(),
            "--mirror",
            &mirror,
            "--timeout",
            "5",
        ],
    );
    let line = run.error_line();
    for part in [
        "cannot reach any mirror of fashion-mnist",
        &mirror,
        "--data-dir FOLDER` --dataset fashion-mnist",
        "train-images-idx3-ubyte.gz",
    ] {
        assert!(line.contains(part), "{part:?} missing from: {line}");
    }
    assert!(names_in(&dir).is_empty());
}
