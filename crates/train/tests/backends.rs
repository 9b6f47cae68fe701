//! Every backend end to end, in a build with `--features wgpu,cuda` (`cargo xtask test` runs it;
//! CI gives wgpu Mesa's software Vulkan, lavapipe): each zoo model gives the same forward outputs
//! on ndarray and wgpu from the same weights, a wgpu training run works, and a backend without
//! its device or driver is one clear line and a non-zero exit.
#![cfg(all(feature = "ndarray", feature = "wgpu"))]

use std::path::Path;
use std::process::Command;

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{NdArray, Wgpu};
use burn::module::Module;
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::Distribution;
use zoo_models::{LstmTaggerConfig, MlpConfig, MnistCnnConfig, MnistLstmConfig, SmallCnnConfig};

type Cpu = NdArray;
type Gpu = Wgpu;

/// The largest |a - b| of two outputs.
fn max_error<const D: usize>(cpu: Tensor<Cpu, D>, gpu: Tensor<Gpu, D>) -> f32 {
    let a = cpu.into_data().to_vec::<f32>().unwrap();
    let b = gpu.into_data().to_vec::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The ndarray model's weights, loaded into the same architecture on wgpu.
fn on_gpu<MC: Module<Cpu>, MG: Module<Gpu>>(cpu: &MC, fresh_gpu: MG, device: &WgpuDevice) -> MG {
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = recorder.record(cpu.clone().into_record(), ()).unwrap();
    fresh_gpu.load_record(Recorder::<Gpu>::load(&recorder, bytes, device).unwrap())
}

fn random<const D: usize>(shape: [usize; D]) -> TensorData {
    Tensor::<Cpu, D>::random(shape, Distribution::Normal(0.0, 1.0), &Default::default()).into_data()
}

fn check(name: &str, error: f32) {
    println!("{name}: max |ndarray - wgpu| = {error:.2e}");
    assert!(
        error <= 1e-4,
        "{name}: outputs differ by {error:e} between ndarray and wgpu"
    );
}

#[test]
fn every_zoo_model_agrees_on_ndarray_and_wgpu() {
    let cpu = Default::default();
    let gpu = WgpuDevice::default();
    <Cpu as Backend>::seed(&cpu, 7);

    // Each model runs on ndarray first: Burn draws a parameter on first use, and a copy of a
    // module made before that would draw its own values.
    let images = random([8, 28, 28]);
    let model = MnistLstmConfig::new().init::<Cpu>(&cpu);
    let expected = model.forward(Tensor::from_data(images.clone(), &cpu));
    let twin = on_gpu(&model, MnistLstmConfig::new().init::<Gpu>(&gpu), &gpu);
    check(
        "mnist-lstm",
        max_error(expected, twin.forward(Tensor::from_data(images, &gpu))),
    );

    let pictures = random([8, 1, 28, 28]);
    let model = MnistCnnConfig::new().init::<Cpu>(&cpu);
    let expected = model.forward(Tensor::from_data(pictures.clone(), &cpu));
    let twin = on_gpu(&model, MnistCnnConfig::new().init::<Gpu>(&gpu), &gpu);
    check(
        "mnist-cnn",
        max_error(
            expected,
            twin.forward(Tensor::from_data(pictures.clone(), &gpu)),
        ),
    );
    let model = SmallCnnConfig::new().init::<Cpu>(&cpu);
    let expected = model.forward(Tensor::from_data(pictures.clone(), &cpu));
    let twin = on_gpu(&model, SmallCnnConfig::new().init::<Gpu>(&gpu), &gpu);
    check(
        "small-cnn",
        max_error(expected, twin.forward(Tensor::from_data(pictures, &gpu))),
    );

    let points = random([16, 2]);
    let mlp = MlpConfig::new().with_input_size(2).with_output_size(2);
    let model = mlp.init::<Cpu>(&cpu);
    let expected = model.forward(Tensor::from_data(points.clone(), &cpu));
    let twin = on_gpu(&model, mlp.init::<Gpu>(&gpu), &gpu);
    check(
        "classification",
        max_error(expected, twin.forward(Tensor::from_data(points, &gpu))),
    );

    // The tagger: bidirectional, two layers, a padded batch run packed.
    let tagger = LstmTaggerConfig::new(50, 17)
        .with_embedding_dim(16)
        .with_hidden_size(24)
        .with_num_layers(2)
        .with_bidirectional(true);
    let words = TensorData::new(vec![4i64, 9, 2, 7, 3, 11, 5, 8, 6, 0, 0, 0], [2, 6]);
    let lengths = [6, 3];
    let model = tagger.init::<Cpu>(&cpu);
    let expected = model.forward(
        Tensor::from_data(words.clone().convert::<i64>(), &cpu),
        Some(&lengths),
    );
    let twin = on_gpu(&model, tagger.init::<Gpu>(&gpu), &gpu);
    let got = twin.forward(
        Tensor::from_data(words.convert::<i32>(), &gpu),
        Some(&lengths),
    );
    check("pos-tagger", max_error(expected, got));
}

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

#[test]
fn a_toy_trains_on_wgpu_and_names_its_adapter() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let (code, stdout, stderr) = zoo(
        &[
            "train",
            "--model",
            "classification",
            "--backend",
            "wgpu",
            "--epochs",
            "20",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["backend"], "wgpu");
    let device = summary["device"].as_str().unwrap();
    println!("wgpu trained on {device}");
    assert!(!device.is_empty() && device != "DefaultDevice", "{device}");
    let accuracy = summary["test_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.9, "{accuracy}");
    assert!(Path::new(&out.join("model.mpk")).is_file());
}

#[test]
fn several_wgpu_devices_are_refused_with_the_reason() {
    // Tried on lavapipe with two logical devices on one adapter: cubecl 0.10's wgpu server
    // panics with `not implemented` (comm_init) on its device threads and the run hangs.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let (code, stdout, stderr) = zoo(
        &[
            "train",
            "--backend",
            "wgpu",
            "--devices",
            "0,0",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let line = error_line(code, &stdout, &stderr);
    assert!(
        line.contains("--devices 0,0: several devices in one process do not work on wgpu")
            && line.contains("--backend cuda")
            && line.contains("--nodes"),
        "{line}"
    );
    assert!(!out.exists());
}
