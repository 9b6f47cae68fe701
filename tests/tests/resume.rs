//! Runs that survive a kill: `zoo train` killed with SIGKILL (mid-epoch, then at random
//! instants, several times) and continued with `zoo train --resume DIR` ends with the same
//! `metrics.csv` and test figures as the uninterrupted run; after every kill each file of the run
//! folder is whole (no half-written checkpoint, model, metrics or summary).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zoo_tests::{mnist_sample, summary, zoo, zoo_bin};

/// A small mnist-lstm experiment: three epochs of ~2.5 s, then the 10,000-image test set.
fn experiment(out_flag: &str, dir: &Path) -> Vec<String> {
    let data = mnist_sample();
    [
        "train",
        "--model",
        "mnist-lstm",
        "--epochs",
        "3",
        "--train-limit",
        "2000",
        "--seed",
        "3",
        "--data-dir",
        data.to_str().unwrap(),
        out_flag,
        dir.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn spawn(cwd: &Path, args: &[String]) -> Child {
    Command::new(zoo_bin())
        .current_dir(cwd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the zoo binary")
}

/// `metrics.csv` without its timing column (the only one that may differ between runs).
fn metrics_without_seconds(run: &Path) -> String {
    std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|line| line.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect()
}

/// Every artifact in the run folder is complete: config.toml parses, metrics.csv holds whole
/// rows of consecutive epochs, every `.mpk` decodes as a whole MessagePack document, summary.json
/// parses. Temporary `.partial-*` files of an interrupted write may lie beside them.
fn assert_whole(run: &Path, after: &str) {
    let config = std::fs::read_to_string(run.join("config.toml"))
        .unwrap_or_else(|e| panic!("{after}: config.toml: {e}"));
    toml::from_str::<toml::Table>(&config)
        .unwrap_or_else(|e| panic!("{after}: config.toml is not whole: {e}"));
    if let Ok(metrics) = std::fs::read_to_string(run.join("metrics.csv")) {
        let mut lines = metrics.lines();
        assert_eq!(
            lines.next(),
            Some("epoch,split,loss,accuracy,seconds"),
            "{after}"
        );
        for (i, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 5, "{after}: metrics.csv row `{line}`");
            let epoch: usize = fields[0].parse().unwrap();
            let split = if i % 2 == 0 { "train" } else { "valid" };
            assert_eq!((epoch, fields[1]), (i / 2 + 1, split), "{after}: {metrics}");
            assert!(
                fields[2].parse::<f64>().unwrap().is_finite(),
                "{after}: {line}"
            );
        }
    }
    let mut mpk = Vec::new();
    for folder in [run.to_path_buf(), run.join("checkpoint")] {
        for entry in std::fs::read_dir(&folder).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "mpk") {
                mpk.push(path);
            }
        }
    }
    for path in mpk {
        let bytes = std::fs::read(&path).unwrap();
        rmp_serde::from_slice::<serde::de::IgnoredAny>(&bytes)
            .unwrap_or_else(|e| panic!("{after}: {} is not whole: {e}", path.display()));
    }
    if run.join("summary.json").exists() {
        summary(run);
    }
}

/// A small deterministic generator for the kill instants (printed, so a failure can be replayed
/// with `ZOO_KILL_SEED`).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_run_killed_again_and_again_resumes_to_the_metrics_of_the_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let killed = tmp.path().join("killed");

    let started = Instant::now();
    zoo(
        tmp.path(),
        &experiment("--out", &whole)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .assert_ok();
    let duration = started.elapsed();

    // 1. Killed in the middle of epoch 2: as soon as it reports a batch of epoch 2 short of 100%.
    let mut child = spawn(tmp.path(), &experiment("--out", &killed));
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        let mid_epoch_2 = line.starts_with("Train Epoch: 2 [") && !line.contains("(100%)");
        seen.push(line);
        if mid_epoch_2 {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert!(
        seen.last()
            .is_some_and(|l| l.starts_with("Train Epoch: 2 [")),
        "never saw epoch 2 under way:\n{}",
        seen.join("\n")
    );
    assert_whole(&killed, "the kill in epoch 2");
    assert!(killed.join("checkpoint/model-1.mpk").exists());
    assert!(!killed.join("model.mpk").exists() && !killed.join("summary.json").exists());

    // 2. Resumed and killed again at random instants (anywhere: loading, a step, validation,
    //    a checkpoint or model save, the test pass, the summary), from each of a fixed set of
    //    seeds, and from one drawn afresh (printed, so that a failure can be replayed with
    //    `ZOO_KILL_SEED`), each on its own copy of the killed run.
    let drawn = std::env::var("ZOO_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| started.elapsed().as_nanos() as u64);
    for seed in FIXED_KILL_SEEDS.into_iter().chain([drawn]) {
        let copy = tmp.path().join(format!("killed-{seed}"));
        copy_dir(&killed, &copy);
        let replay = match seed == drawn {
            true => format!(" (drawn: replay with ZOO_KILL_SEED={seed})"),
            false => " (fixed)".to_string(),
        };
        eprintln!("kill instants from seed {seed}{replay}");
        kill_and_resume(tmp.path(), &copy, Lcg(seed), duration);
        assert_same_run(&copy, &whole, &format!("seed {seed}{replay}"));
    }
}

/// The kill seeds every run of the suite tries, beside one drawn afresh.
const FIXED_KILL_SEEDS: [u64; 2] = [1, 7];

/// Copies the run folder `from` (files and the `checkpoint/` folder) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// `zoo train --resume killed`, killed up to five times at instants drawn from `random` (each
/// within half the uninterrupted run's `duration`, checking after each that every file is
/// whole), then resumed to its end.
fn kill_and_resume(cwd: &Path, killed: &Path, mut random: Lcg, duration: Duration) {
    let resume = [
        "train".to_string(),
        "--resume".into(),
        killed.display().to_string(),
    ];
    for attempt in 1..=5 {
        let delay = Duration::from_millis(200 + random.below(duration.as_millis() as u64 / 2));
        let mut child = spawn(cwd, &resume);
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = match child.try_wait().unwrap() {
            Some(status) => status,
            None => {
                child.kill().unwrap();
                child.wait().unwrap()
            }
        };
        let after = format!("kill {attempt} after {} ms", delay.as_millis());
        eprintln!("{after}: {status}");
        assert_whole(killed, &after);
        if status.success() || killed.join("summary.json").exists() {
            // The run got to its end before the kill (or was killed after writing its summary,
            // on its way out): nothing is left to resume.
            return;
        }
    }
    let args: Vec<&str> = resume.iter().map(String::as_str).collect();
    zoo(cwd, &args).assert_ok();
}

/// The resumed run `killed` ended as the uninterrupted `whole` did: the same metrics, test
/// figures and epochs, and no temporary file left.
fn assert_same_run(killed: &Path, whole: &Path, what: &str) {
    assert_whole(killed, &format!("{what}: the final resume"));
    assert_eq!(
        metrics_without_seconds(killed),
        metrics_without_seconds(whole),
        "{what}: a resumed run ends with the uninterrupted run's metrics"
    );
    let (a, b) = (summary(whole), summary(killed));
    for key in ["test_correct", "test_loss", "valid_loss", "epochs"] {
        assert_eq!(a[key], b[key], "{what}: {key}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(killed.join("checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".partial-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "{what}: temporary files left: {leftovers:?}"
    );
}

/// An unfinished run of the classification toy (trained, then its end-of-run files removed).
fn unfinished_toy(cwd: &Path) -> std::path::PathBuf {
    let run = cwd.join("toy");
    zoo(
        cwd,
        &[
            "train",
            "--model",
            "classification",
            "--epochs",
            "3",
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .assert_ok();
    std::fs::remove_file(run.join("summary.json")).unwrap();
    std::fs::remove_file(run.join("model.mpk")).unwrap();
    run
}

#[test]
fn resuming_refuses_another_model_other_settings_a_finished_run_and_a_missing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let run = unfinished_toy(tmp.path());
    let dir = run.to_str().unwrap();

    let line = zoo(
        tmp.path(),
        &["train", "--resume", dir, "--model", "regression"],
    )
    .error_line()
    .to_string();
    assert!(
        line.contains("is a run of `classification`") && line.contains("as `regression`"),
        "{line}"
    );

    let line = zoo(
        tmp.path(),
        &["train", "--resume", dir, "--lr", "0.5", "--seed", "9"],
    )
    .error_line()
    .to_string();
    for part in [
        "cannot resume",
        "`optimizer.lr` is",
        "0.5 here",
        "`train.seed` is",
        "9 here",
    ] {
        assert!(line.contains(part), "{part:?} missing from: {line}");
    }

    let missing = tmp.path().join("nowhere");
    let line = zoo(
        tmp.path(),
        &["train", "--resume", missing.to_str().unwrap()],
    )
    .error_line()
    .to_string();
    assert!(line.contains("no such folder"), "{line}");

    // All three epochs are in its checkpoints: resuming only writes the end-of-run files; more
    // epochs may be asked for.
    let out = zoo(tmp.path(), &["train", "--resume", dir, "--epochs", "4"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("Resuming after epoch 3 of 4"),
        "{}",
        out.stdout
    );
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 2 * 4, "{metrics}");
    assert_eq!(summary(&run)["epochs"], 4);

    let line = zoo(tmp.path(), &["train", "--resume", dir])
        .error_line()
        .to_string();
    assert!(line.contains("is a finished run"), "{line}");
}
