//! `zoo bench --serve`: `zoo serve` under load against a PyTorch service on the same weights
//! (`tools/serve_torch.py`: FastAPI + uvicorn + torch), both on 127.0.0.1 — requests per second,
//! median and 99th-percentile latency at 1, 8 and 64 concurrent clients, and each server's peak
//! memory. The two take turns, level by level. The load is ureq clients on threads of this
//! process, each sending its next request as soon as the last is answered, for a bounded time
//! and count.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::compare::{tool_script, torch_importable};
use crate::cli::BenchArgs;

/// Concurrent clients of each turn.
const LEVELS: [usize; 3] = [1, 8, 64];
/// How long a turn lasts ...
const TURN: Duration = Duration::from_secs(5);
/// ... at most.
const MOST_REQUESTS: usize = 20_000;

/// One kind of request: the model and what it is sent.
struct Case {
    model: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

/// What one side did in one turn.
#[derive(Debug, Clone, Copy)]
struct Load {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    failed: usize,
}

/// A server process, killed when dropped.
struct Server {
    name: &'static str,
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `zoo bench --serve`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        torch_importable() && python_has(&["fastapi", "uvicorn", "PIL", "safetensors"]),
        "zoo bench --serve runs a PyTorch service beside zoo serve: pip install torch safetensors \
         fastapi uvicorn pillow"
    );
    let exe = std::env::current_exe().context("cannot find the zoo binary itself")?;
    let scratch = tempfile::tempdir()?;
    let cnn = scratch.path().join("mnist_cnn.safetensors");
    let tagger = scratch.path().join("tagger").join("pos_tagger.safetensors");
    std::fs::create_dir_all(tagger.parent().unwrap_or(scratch.path()))?;
    for (name, out) in [("mnist-cnn", &cnn), ("pos-tagger", &tagger)] {
        quiet(
            Command::new(&exe)
                .args(["export", "--pretrained", name, "--out"])
                .arg(out),
        )?;
    }
    let mut zoo = Command::new(&exe);
    zoo.args([
        "serve",
        "--pretrained",
        "mnist-cnn",
        "--pretrained",
        "pos-tagger",
    ])
    .args(["--backend", args.on.backend.as_str()]);
    let mut torch = Command::new("python3");
    torch
        .arg(tool_script("serve_torch.py")?)
        .arg("--mnist-cnn")
        .arg(&cnn)
        .arg("--pos-tagger")
        .arg(&tagger);
    let servers = [start("zoo serve", zoo)?, start("PyTorch", torch)?];
    let cases = cases()?;
    let mut rows = Vec::new();
    for case in &cases {
        for clients in LEVELS {
            let mut turn = Vec::new();
            for server in &servers {
                let load = measure(server, case, clients)?;
                println!(
                    "[{}] {} at {clients} client(s): {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms",
                    server.name, case.model, load.per_second, load.p50_ms, load.p99_ms
                );
                turn.push(load);
            }
            rows.push((case.model, clients, turn[0], turn[1]));
        }
    }
    let peaks: Vec<String> = (servers.iter())
        .map(|s| peak_mib(s.child.id()).map_or("-".into(), |m| format!("{m:.0}")))
        .collect();
    println!("{}", table(&rows, &peaks));
    Ok(())
}

/// Whether `python3` imports each of `modules`.
fn python_has(modules: &[&str]) -> bool {
    let script = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    Command::new("python3")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn quiet(command: &mut Command) -> anyhow::Result<()> {
    let output = command.output().context("cannot run the zoo binary")?;
    anyhow::ensure!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// `command --port P` on a free port, once its `/health` answers.
fn start(name: &'static str, mut command: Command) -> anyhow::Result<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = command
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    let server = Server {
        name,
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while ureq::get(format!("{}/health", server.base)).call().is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "{name} did not answer /health within 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

/// A digit of data/digits for the CNN, a sentence (split at spaces, as both sides read it) for
/// the tagger.
fn cases() -> anyhow::Result<Vec<Case>> {
    let digit: PathBuf = [
        "data/digits/7.png",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits/7.png"),
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .context("data/digits/7.png is missing (run zoo bench --serve from its checkout)")?;
    let sentence = r#"{"sentences": ["I would like to book a flight to Boston on Friday ."]}"#;
    Ok(vec![
        Case {
            model: "mnist-cnn",
            content_type: "image/png",
            body: std::fs::read(Path::new(&digit))?,
        },
        Case {
            model: "pos-tagger",
            content_type: "application/json",
            body: sentence.as_bytes().to_vec(),
        },
    ])
}

/// `clients` clients sending `case` to `server` for a turn, after a few untimed requests.
fn measure(server: &Server, case: &Case, clients: usize) -> anyhow::Result<Load> {
    let url = format!("{}/v1/models/{}/predict", server.base, case.model);
    let send = |agent: &ureq::Agent| -> bool {
        agent
            .post(&url)
            .header("Content-Type", case.content_type)
            .send(&case.body[..])
            .is_ok_and(|mut r| r.status() == 200 && r.body_mut().read_to_vec().is_ok())
    };
    let warm = ureq::Agent::new_with_defaults();
    for _ in 0..20 {
        anyhow::ensure!(
            send(&warm),
            "{} did not answer {} with 200",
            server.name,
            case.model
        );
    }
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    let per_client: Vec<(Vec<f64>, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let agent = ureq::Agent::new_with_defaults();
                    let (mut times, mut failed) = (Vec::new(), 0);
                    while start.elapsed() < TURN
                        && sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < MOST_REQUESTS
                    {
                        let began = Instant::now();
                        match send(&agent) {
                            true => times.push(began.elapsed().as_secs_f64() * 1000.0),
                            false => failed += 1,
                        }
                    }
                    (times, failed)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let failed = per_client.iter().map(|(_, f)| f).sum();
    let mut times: Vec<f64> = per_client.into_iter().flat_map(|(t, _)| t).collect();
    anyhow::ensure!(!times.is_empty(), "{} answered nothing", server.name);
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    Ok(Load {
        per_second: times.len() as f64 / elapsed,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        failed,
    })
}

/// The peak resident memory of process `pid` (its VmHWM), in MiB.
fn peak_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn table(rows: &[(&str, usize, Load, Load)], peaks: &[String]) -> String {
    let mut out = String::from(
        "\n| model | clients | zoo requests/s | PyTorch requests/s | zoo ÷ PyTorch | zoo p50 ms | zoo p99 ms | PyTorch p50 ms | PyTorch p99 ms | failed (zoo, PyTorch) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (model, clients, zoo, torch) in rows {
        out += &format!(
            "| {model} | {clients} | {:.0} | {:.0} | {:.1}× | {:.2} | {:.2} | {:.2} | {:.2} | {}, {} |\n",
            zoo.per_second,
            torch.per_second,
            zoo.per_second / torch.per_second,
            zoo.p50_ms,
            zoo.p99_ms,
            torch.p50_ms,
            torch.p99_ms,
            zoo.failed,
            torch.failed
        );
    }
    out += &format!(
        "\nPeak resident memory: zoo serve {} MiB, PyTorch service {} MiB (both models loaded, after every turn).",
        peaks[0], peaks[1]
    );
    out
}
