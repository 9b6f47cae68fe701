//! Every backend end to end, in a build with `--features wgpu` (`cargo xtask test` runs it; CI
//! gives wgpu Mesa's software Vulkan, lavapipe; add `cuda` on a machine that has the driver or
//! should show its absence): `zoo check --backend wgpu` finds every zoo model's outputs and the
//! fused LSTM and GRU kernels' outputs and gradients equal to ndarray's, a wgpu training run works, and a
//! backend without its device or driver is one clear line and a non-zero exit.
//!
//! Everything here runs the `zoo` binary, so this test compiles none of Burn's GPU code itself
//! (that is minutes of a release build, already spent on zoo-cli).
#![cfg(all(feature = "ndarray", feature = "wgpu"))]

use std::path::{Path, PathBuf};
use std::process::Command;

fn zoo(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zoo"));
    command.args(args);
    // Mesa prints a warning line when this is unset (headless machines, CI).
    let runtime = std::env::temp_dir();
    command.env("XDG_RUNTIME_DIR", runtime);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().expect("run zoo");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The single `error:` line of a clean failure (exit 1, no panic, no backtrace).
fn error_line(code: Option<i32>, stdout: &str, stderr: &str) -> String {
    assert_eq!(
        code,
        Some(1),
        "expected a clean failure:\n{stdout}\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

/// `zoo check --backend wgpu` for a model of each kind of layer (an LSTM through the kernel,
/// convolutions; every model takes minutes on lavapipe, which compiles each kernel on first use:
/// that is `zoo check --backend wgpu`), then the LSTM's and the GRU's outputs and every gradient,
/// through the kernels and through Burn's tensor operations, at a small shape and at the models'
/// own sizes: 28 steps × 100 of two 128-unit layers (mnist-lstm, mnist-gru) and a padded
/// bidirectional batch of the tagger's size.
#[test]
fn the_models_and_the_fused_recurrent_kernels_agree_with_ndarray_on_wgpu() {
    let models = ["mnist-lstm", "mnist-cnn"];
    let mut args = vec!["check", "--backend", "wgpu"];
    for model in models {
        args.extend(["--model", model]);
    }
    let (code, stdout, stderr) = zoo(&args, &[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for model in models {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{model} outputs ")))
            .unwrap_or_else(|| panic!("no check of {model}:\n{stdout}"));
        assert!(line.contains(" agrees "), "{line}");
    }
    // The kernels serve wgpu: each shape through them and through Burn's tensor operations.
    let shapes = [
        "LSTM 5→6, 2 layers, bidirectional",
        "GRU 5→6, 2 layers, bidirectional",
        "LSTM 28→128, 2 layers, 28 steps × 100 (mnist-lstm)",
        "GRU 28→128, 2 layers, 28 steps × 100 (mnist-gru)",
        "LSTM 100→128, bidirectional, padded 1-40 steps × 32 (pos-tagger)",
    ];
    for shape in shapes {
        for path in ["fused", "tensor operations"] {
            let lines = stdout
                .lines()
                .filter(|l| l.contains(shape) && l.contains(&format!(", {path} ")))
                .filter(|l| l.contains(" agrees "))
                .count();
            assert_eq!(lines, 1, "{shape}, {path}:\n{stdout}");
        }
    }
    assert!(stdout.contains("All 12 checks agree on wgpu"), "{stdout}");
}

#[test]
fn wgpu_without_any_vulkan_driver_is_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let (code, stdout, stderr) = zoo(
        &[
            "train",
            "--model",
            "classification",
            "--backend",
            "wgpu",
            "--out",
            out.to_str().unwrap(),
        ],
        // Hide every installed Vulkan driver from the loader.
        &[
            ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
            ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
        ],
    );
    let line = error_line(code, &stdout, &stderr);
    assert!(
        line.contains("backend `wgpu` found no Vulkan adapter"),
        "{line}"
    );
    assert!(line.contains("mesa-vulkan-drivers"), "{line}");
    assert!(
        !out.exists(),
        "nothing is created before the backend is checked"
    );
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_without_the_nvidia_driver_is_one_clear_line() {
    if zoo_train::backend::cuda_driver().is_ok() {
        println!(
            "this machine has the NVIDIA driver; the missing-driver path cannot be shown here"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let (code, stdout, stderr) = zoo(
        &[
            "train",
            "--model",
            "classification",
            "--backend",
            "cuda",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let line = error_line(code, &stdout, &stderr);
    assert!(
        line.contains("needs the NVIDIA driver's libcuda.so.1"),
        "{line}"
    );
    assert!(line.contains("--backend wgpu"), "{line}");
    assert!(!out.exists());
}

#[test]
fn a_device_that_does_not_exist_is_named_with_the_ones_that_do() {
    let (code, stdout, stderr) = zoo(
        &[
            "train",
            "--model",
            "classification",
            "--backend",
            "wgpu",
            "--device",
            "7",
        ],
        &[],
    );
    let line = error_line(code, &stdout, &stderr);
    assert!(line.contains("--device 7: backend `wgpu` has"), "{line}");
    assert!(line.contains("0: "), "lists the adapters: {line}");
    let (code, stdout, stderr) = zoo(&["train", "--backend", "ndarray", "--device", "1"], &[]);
    let line = error_line(code, &stdout, &stderr);
    assert!(
        line.contains("the ndarray backend has one device"),
        "{line}"
    );
}

/// Three runs at once: burn-fusion 0.21 lost a tensor's handle when a checkpoint was read on
/// burn-train's saving thread while training went on ("Should have handle for tensor",
/// tracel-ai/burn#4347), in about one run in three here with three runs at once, before the
/// checkpoint gate (crates/train/src/learner/save_gate.rs). Then two logical devices on one adapter
/// against one device, after the three (one test, so that their kernels come from Mesa's shader
/// cache, which the three filled, rather than being compiled by five processes at once).
#[test]
fn toys_train_on_wgpu_at_once_and_on_two_logical_devices() {
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<_> = (0..3)
        .map(|k| {
            let out = tmp.path().join(format!("run{k}"));
            std::thread::spawn(move || toy_on_wgpu(&out, &[]))
        })
        .collect();
    for run in runs {
        let (summary, _, out) = run.join().unwrap();
        assert_eq!(summary["backend"], "wgpu");
        let device = summary["device"].as_str().unwrap();
        println!("wgpu trained on {device}");
        assert!(!device.is_empty() && device != "DefaultDevice", "{device}");
        // The toy separates its clusters almost perfectly (0.995 on ndarray); wgpu draws its
        // initial weights from its own generator and a GPU rounds as it does, so its figure is
        // held above 0.9 rather than to one value.
        let accuracy = summary["test_accuracy"].as_f64().unwrap();
        assert!(accuracy > 0.9, "{accuracy}");
        assert!(Path::new(&out.join("model.mpk")).is_file());
    }
    two_logical_devices_on_one_adapter_train_as_one_device_does(tmp.path());
}

/// The summary of the wgpu run `args` (the classification toy: 20 full-batch steps of 200 points)
/// into `out`, its stdout, and the run folder.
fn toy_on_wgpu(out: &Path, args: &[&str]) -> (serde_json::Value, String, PathBuf) {
    let mut all = vec![
        "train",
        "--model",
        "classification",
        "--backend",
        "wgpu",
        "--epochs",
        "20",
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend(args);
    let (code, stdout, stderr) = zoo(&all, &[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    (
        serde_json::from_str(&summary).unwrap(),
        stdout,
        out.to_path_buf(),
    )
}

fn two_logical_devices_on_one_adapter_train_as_one_device_does(dir: &Path) {
    // `--devices 0,0`: two Burn devices on adapter 0 (lavapipe in CI), each computing the
    // gradient of half of every batch on its own copy of the model; their mean makes each update,
    // so the run is the one-device run up to float rounding.
    let (two, stdout, _) = toy_on_wgpu(&dir.join("two"), &["--seed", "3", "--devices", "0,0"]);
    assert!(stdout.contains("Devices: 2 ("), "{stdout}");
    assert!(
        stdout.contains("batch 100 on each of the global 200"),
        "{stdout}"
    );
    assert_eq!(two["devices"], 2, "{two}");
    let (one, _, _) = toy_on_wgpu(&dir.join("one"), &["--seed", "3", "--device", "0"]);
    assert!(one.get("devices").is_none(), "{one}");
    for key in ["valid_loss", "test_loss"] {
        let (a, b) = (two[key].as_f64().unwrap(), one[key].as_f64().unwrap());
        println!("{key}: 2 devices {a}, 1 device {b}");
        assert!(
            (a - b).abs() <= 1e-3 * b,
            "{key}: 2 devices {a} vs 1 device {b}"
        );
    }
    assert!(two["test_accuracy"].as_f64().unwrap() > 0.9, "{two}");
}
