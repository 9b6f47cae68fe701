//! Every backend end to end, in a build with `--features wgpu` (`cargo xtask test` runs it; CI
//! gives wgpu Mesa's software Vulkan, lavapipe; add `cuda` on a machine that has the driver or
//! should show its absence): each zoo model gives the same forward outputs
//! on ndarray and wgpu from the same weights, a wgpu training run works, and a backend without
//! its device or driver is one clear line and a non-zero exit.
#![cfg(all(feature = "ndarray", feature = "wgpu"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, NdArray, Wgpu};
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Distribution;
use zoo_models::nn::fused::with_fused;
use zoo_models::nn::{uses_fused, Lstm, LstmConfig, LstmState};
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

/// Three runs at once, as the wgpu tests run beside one another in CI: burn-fusion 0.21 lost a
/// tensor's handle when a checkpoint was read on burn-train's saving thread while training went
/// on ("Should have handle for tensor", tracel-ai/burn#4347), in about one run in three here with
/// three runs at once, before the checkpoint gate (crates/train/src/learner/save_gate.rs).
#[test]
fn a_toy_trains_on_wgpu_and_names_its_adapter() {
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
        let accuracy = summary["test_accuracy"].as_f64().unwrap();
        assert!(accuracy > 0.9, "{accuracy}");
        assert!(Path::new(&out.join("model.mpk")).is_file());
    }
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

#[test]
fn two_logical_devices_on_one_adapter_train_as_one_device_does() {
    // `--devices 0,0`: two Burn devices on adapter 0 (lavapipe in CI), each computing the
    // gradient of half of every batch on its own copy of the model; their mean makes each update,
    // so the run is the one-device run up to float rounding.
    let tmp = tempfile::tempdir().unwrap();
    let (two, stdout, _) = toy_on_wgpu(
        &tmp.path().join("two"),
        &["--seed", "3", "--devices", "0,0"],
    );
    assert!(stdout.contains("Devices: 2 ("), "{stdout}");
    assert!(
        stdout.contains("batch 100 on each of the global 200"),
        "{stdout}"
    );
    assert_eq!(two["devices"], 2, "{two}");
    let (one, _, _) = toy_on_wgpu(&tmp.path().join("one"), &["--seed", "3", "--device", "0"]);
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

/// Every parameter's gradient, in the module's visiting order.
struct ParamGrads<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    found: Vec<(String, Vec<f32>)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for ParamGrads<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let grad = param
            .val()
            .grad(self.grads)
            .expect("every parameter has a gradient");
        let name = format!("d parameter {}", self.found.len());
        self.found
            .push((name, grad.into_data().to_vec::<f32>().unwrap()));
    }
}

/// Outputs, final state and every gradient (input, initial state, parameters) of `lstm` on a
/// loss that weighs each of them at random.
fn lstm_outputs_and_grads<B: AutodiffBackend>(
    lstm: &Lstm<B>,
    data: &[TensorData; 6],
    device: &B::Device,
) -> Vec<(String, Vec<f32>)> {
    let [x, h0, c0, w_out, w_h, w_c] = data.clone();
    let x = Tensor::<B, 3>::from_data(x, device).require_grad();
    let h0 = Tensor::<B, 3>::from_data(h0, device).require_grad();
    let c0 = Tensor::<B, 3>::from_data(c0, device).require_grad();
    let state = LstmState {
        hidden: h0.clone(),
        cell: c0.clone(),
    };
    let (out, state) = lstm.forward(x.clone(), Some(state));
    let loss = (out.clone() * Tensor::from_data(w_out, device)).sum()
        + (state.hidden.clone() * Tensor::from_data(w_h, device)).sum()
        + (state.cell.clone() * Tensor::from_data(w_c, device)).sum();
    let grads = loss.backward();
    let values = |t: Tensor<B::InnerBackend, 3>| t.into_data().to_vec::<f32>().unwrap();
    let mut found = vec![
        ("output".to_string(), values(out.inner())),
        ("final hidden".to_string(), values(state.hidden.inner())),
        ("final cell".to_string(), values(state.cell.inner())),
        ("d input".to_string(), values(x.grad(&grads).unwrap())),
        (
            "d initial hidden".to_string(),
            values(h0.grad(&grads).unwrap()),
        ),
        (
            "d initial cell".to_string(),
            values(c0.grad(&grads).unwrap()),
        ),
    ];
    let mut visitor = ParamGrads::<B> {
        grads: &grads,
        found: Vec::new(),
    };
    lstm.visit(&mut visitor);
    found.extend(visitor.found);
    found
}

/// The largest |a − b| / max(1, |a|) over two runs' values, named by the worst quantity.
fn worst(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)]) -> (f32, String) {
    assert_eq!(a.len(), b.len());
    let mut worst = (0.0f32, String::new());
    for ((name, x), (_, y)) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len(), "{name}");
        for (p, q) in x.iter().zip(y) {
            let error = (p - q).abs() / p.abs().max(1.0);
            if error > worst.0 || error.is_nan() {
                worst = (error, name.clone());
            }
        }
    }
    worst
}

/// Runs an LSTM of `config` on ndarray and on the GPU backend `G` from the same weights and
/// inputs (shapes `seq, batch`), through the fused kernel (and, with `tensor_path`, Burn's
/// tensor operations too), and asserts every output and gradient agrees within 1e-4 (relative).
fn fused_lstm_agrees<G: AutodiffBackend>(
    label: &str,
    device: &G::Device,
    config: LstmConfig,
    (seq, batch): (usize, usize),
    seed: u64,
    tensor_path: bool,
) {
    type CpuTrain = Autodiff<Cpu>;
    let cpu = Default::default();
    // The CubeCL kernel serves this backend, for training and inference.
    with_fused(true, || {
        assert!(uses_fused::<G>() && uses_fused::<G::InnerBackend>())
    });
    with_fused(false, || assert!(!uses_fused::<G>()));
    <Cpu as Backend>::seed(&cpu, seed);
    let directions = if config.bidirectional { 2 } else { 1 };
    let (states, out) = (
        config.num_layers * directions,
        config.hidden_size * directions,
    );
    let (input, hidden) = (config.input_size, config.hidden_size);
    let data = [
        random([seq, batch, input]),
        random([states, batch, hidden]),
        random([states, batch, hidden]),
        random([seq, batch, out]),
        random([states, batch, hidden]),
        random([states, batch, hidden]),
    ];
    let model = config.init::<Cpu>(&cpu);
    // Draw the lazily initialized weights before copying them.
    let _ = model.forward(Tensor::from_data(data[0].clone(), &cpu), None);
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = recorder.record(model.clone().into_record(), ()).unwrap();
    let cpu_model = config
        .init::<CpuTrain>(&cpu)
        .load_record(Recorder::<CpuTrain>::load(&recorder, bytes.clone(), &cpu).unwrap());
    let gpu_model = config
        .init::<G>(device)
        .load_record(Recorder::<G>::load(&recorder, bytes, device).unwrap());

    let reference = lstm_outputs_and_grads(&cpu_model, &data, &cpu);
    let kernel = with_fused(true, || lstm_outputs_and_grads(&gpu_model, &data, device));
    let mut runs = vec![("fused kernel", kernel)];
    if tensor_path {
        let tensor_ops = with_fused(false, || lstm_outputs_and_grads(&gpu_model, &data, device));
        runs.push(("tensor path", tensor_ops));
    }
    for (what, run) in &runs {
        let (error, name) = worst(&reference, run);
        println!("{label} {what} vs ndarray: worst relative error {error:.2e} ({name})");
        assert!(
            error <= 1e-4,
            "{label} {what} vs ndarray: {name} differs by {error:e}"
        );
    }
}

#[test]
fn the_fused_lstm_kernel_agrees_with_ndarray_on_outputs_and_every_gradient() {
    // Two layers, both directions, a given initial state: the kernel's reverse rows and the
    // gradient flowing from the second layer into the first are both exercised.
    let config = LstmConfig::new(5, 6)
        .with_num_layers(2)
        .with_bidirectional(true);
    fused_lstm_agrees::<Autodiff<Gpu>>("wgpu", &WgpuDevice::default(), config, (7, 3), 11, true);
}

/// The same agreement on Burn's CUDA backend, for the kernel (Burn's own operations are not the
/// subject, and compiling them all costs minutes on a GPU machine): the bidirectional case, whose
/// rows of 6 and 24 floats CUDA's allocator would pad (the kernel must write unpadded buffers),
/// then the seed's MNIST-LSTM sizes (28 steps, batch 100, 28 → 128, 2 layers), whose 12,800
/// cells per step span many thread blocks. Needs an NVIDIA GPU and its driver, so it is ignored
/// by default; on a GPU machine:
/// `cargo test --release -p zoo-cli --features wgpu,cuda --test backends -- --ignored cuda`.
#[cfg(feature = "cuda")]
#[test]
#[ignore = "needs an NVIDIA GPU: run with -- --ignored cuda"]
fn the_fused_lstm_kernel_agrees_with_ndarray_on_cuda() {
    use burn::backend::cuda::CudaDevice;
    use burn::backend::Cuda;
    let device = CudaDevice::default();
    let config = LstmConfig::new(5, 6)
        .with_num_layers(2)
        .with_bidirectional(true);
    fused_lstm_agrees::<Autodiff<Cuda>>("cuda", &device, config, (7, 3), 11, false);
    let seed_sizes = LstmConfig::new(28, 128).with_num_layers(2);
    fused_lstm_agrees::<Autodiff<Cuda>>(
        "cuda, MNIST-LSTM sizes",
        &device,
        seed_sizes,
        (28, 100),
        12,
        false,
    );
}
