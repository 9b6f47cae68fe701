//! The one place that names concrete Burn backends. Everything else is generic over
//! `B: AutodiffBackend`. Before any work starts the chosen backend and device are checked: a
//! backend that is not compiled in, a missing driver or a missing device is one clear error,
//! never a panic from a worker thread.

use std::fmt;

use burn::tensor::backend::AutodiffBackend;

/// The backends the zoo can train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendName {
    /// CPU, pure Rust (always available; the default).
    Ndarray,
    /// GPU through WebGPU/Vulkan (cargo feature `wgpu`).
    Wgpu,
    /// NVIDIA GPU through CUDA (cargo feature `cuda`).
    Cuda,
}

impl BackendName {
    /// Every backend, in the order the command line lists them.
    pub const ALL: [BackendName; 3] = [BackendName::Ndarray, BackendName::Wgpu, BackendName::Cuda];

    /// The name used on the command line and in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendName::Ndarray => "ndarray",
            BackendName::Wgpu => "wgpu",
            BackendName::Cuda => "cuda",
        }
    }

    /// Whether this binary was built with the backend.
    pub fn compiled_in(self) -> bool {
        match self {
            BackendName::Ndarray => cfg!(feature = "ndarray"),
            BackendName::Wgpu => cfg!(feature = "wgpu"),
            BackendName::Cuda => cfg!(feature = "cuda"),
        }
    }
}

impl std::str::FromStr for BackendName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == name)
            .ok_or_else(|| format!("unknown backend `{name}`; choose ndarray, wgpu or cuda"))
    }
}

impl fmt::Display for BackendName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The backend and device a command runs on, checked, with the device's human name.
#[derive(Debug, Clone)]
pub struct Target {
    /// The backend.
    pub backend: BackendName,
    /// The device's name as its driver gives it (`llvmpipe (LLVM 15.0.6, 256 bits)`,
    /// `NVIDIA H100 80GB HBM3`, `CPU: AMD EPYC 7B13 (2 threads)`).
    pub device_name: String,
    /// The other devices of a multi-device run (`zoo train --devices`), as ids of the job's
    /// backend's devices (`Device::from_id`); empty on one device.
    pub others: Vec<burn::tensor::backend::DeviceId>,
    /// Their names.
    pub other_names: Vec<String>,
}

/// Where a command runs: a backend and its device (`--device N`), or several devices of it
/// (`--devices 0,1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The backend.
    pub backend: BackendName,
    /// Its device number [default: the best one].
    pub device: Option<usize>,
    /// Several devices, data-parallel (`zoo train --devices`); `device` is then unused.
    pub devices: Option<Vec<usize>>,
}

impl Placement {
    /// One device of `backend`.
    pub fn new(backend: BackendName, device: Option<usize>) -> Self {
        Self {
            backend,
            device,
            devices: None,
        }
    }

    /// Checks, before anything is written, that the backend and device(s) are there.
    pub fn preflight(&self) -> anyhow::Result<()> {
        match &self.devices {
            Some(devices) => preflight_devices(self.backend, devices),
            None => preflight(self.backend, self.device),
        }
    }

    /// Runs `job` there.
    pub fn run<J: BackendJob>(&self, job: J) -> anyhow::Result<J::Output> {
        match &self.devices {
            Some(devices) => dispatch_devices(self.backend, devices, job),
            None => dispatch(self.backend, self.device, job),
        }
    }
}

/// Work to run on whichever backend the user picked, written once for all of them.
pub trait BackendJob {
    /// What the work returns.
    type Output;
    /// Runs the work on backend `B` and its `device`.
    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        target: Target,
    ) -> anyhow::Result<Self::Output>;
}

/// Runs `job` on the backend called `name`, on its device number `device` (the default device
/// when `None`), after checking that both exist.
pub fn dispatch<J: BackendJob>(
    name: BackendName,
    device: Option<usize>,
    job: J,
) -> anyhow::Result<J::Output> {
    match name {
        #[cfg(feature = "ndarray")]
        BackendName::Ndarray => {
            use burn::backend::{ndarray::NdArrayDevice, Autodiff, NdArray};
            if let Some(index) = device.filter(|&i| i != 0) {
                anyhow::bail!(
                    "--device {index}: the ndarray backend has one device, the CPU (--device 0); \
                     for several devices use --backend wgpu or cuda"
                );
            }
            let target = Target {
                backend: name,
                device_name: cpu_name(),
                others: Vec::new(),
                other_names: Vec::new(),
            };
            job.run::<Autodiff<NdArray>>(NdArrayDevice::Cpu, target)
        }
        #[cfg(feature = "wgpu")]
        BackendName::Wgpu => {
            use burn::backend::{Autodiff, Wgpu};
            let (device, device_name) = wgpu_device(device)?;
            probe::<Wgpu>(&device, name, &device_name)?;
            let target = Target {
                backend: name,
                device_name,
                others: Vec::new(),
                other_names: Vec::new(),
            };
            job.run::<Autodiff<Wgpu>>(device, target)
        }
        #[cfg(feature = "cuda")]
        BackendName::Cuda => {
            use burn::backend::{cuda::CudaDevice, Autodiff, Cuda};
            let index = device.unwrap_or(0);
            cuda_driver()?;
            let device = CudaDevice::new(index);
            let device_name = cuda_name(index);
            probe::<Cuda>(&device, name, &device_name)?;
            let target = Target {
                backend: name,
                device_name,
                others: Vec::new(),
                other_names: Vec::new(),
            };
            job.run::<Autodiff<Cuda>>(device, target)
        }
        #[allow(unreachable_patterns)]
        _ => anyhow::bail!("{}", not_compiled_in(name)),
    }
}

/// Runs `job` on several devices of backend `name` (`zoo train --devices 0,1,...`): the first is
/// the main one (the model, the optimizer, validation), the others reach the job through
/// [`Target::others`]. On wgpu an adapter listed again becomes one more logical device on that
/// adapter (how the tests run two devices on Mesa's lavapipe); ndarray has one device only.
pub fn dispatch_devices<J: BackendJob>(
    name: BackendName,
    indices: &[usize],
    job: J,
) -> anyhow::Result<J::Output> {
    preflight_devices(name, indices)?;
    if let [one] = indices {
        return dispatch(name, Some(*one), job);
    }
    match name {
        #[cfg(feature = "wgpu")]
        BackendName::Wgpu => {
            use burn::backend::wgpu::graphics::AutoGraphicsApi;
            use burn::backend::wgpu::{init_device, init_setup, RuntimeOptions, WgpuSetup};
            use burn::backend::{Autodiff, Wgpu};
            use burn::tensor::backend::DeviceOps;
            // An adapter listed more than once: one wgpu device (setup) for it, and one more
            // Burn device, with its own queue of work, on that setup for each repeat.
            let mut setups: Vec<(usize, WgpuSetup)> = Vec::new();
            let mut devices = Vec::with_capacity(indices.len());
            for (i, &index) in indices.iter().enumerate() {
                let (device, label) = wgpu_device(Some(index))?;
                let repeated = indices.iter().filter(|&&j| j == index).count() > 1;
                let device = match setups.iter().find(|(j, _)| *j == index) {
                    Some((_, setup)) => init_device(setup.clone(), RuntimeOptions::default()),
                    None if repeated => {
                        let setup =
                            init_setup::<AutoGraphicsApi>(&device, RuntimeOptions::default());
                        setups.push((index, setup));
                        device
                    }
                    None => device,
                };
                let label = if repeated {
                    format!("{label} (logical device {i})")
                } else {
                    label
                };
                probe::<Wgpu>(&device, name, &label)?;
                devices.push((device, label));
            }
            let (main, device_name) = devices.remove(0);
            let target = Target {
                backend: name,
                device_name,
                others: devices.iter().map(|(d, _)| d.id()).collect(),
                other_names: devices.into_iter().map(|(_, label)| label).collect(),
            };
            job.run::<Autodiff<Wgpu>>(main, target)
        }
        #[cfg(feature = "cuda")]
        BackendName::Cuda => {
            use burn::backend::{cuda::CudaDevice, Autodiff, Cuda};
            use burn::tensor::backend::DeviceOps;
            cuda_driver()?;
            let mut devices = Vec::new();
            for &index in indices {
                let device = CudaDevice::new(index);
                let label = cuda_name(index);
                probe::<Cuda>(&device, name, &label)?;
                devices.push((device, label));
            }
            let (main, device_name) = devices.remove(0);
            let target = Target {
                backend: name,
                device_name,
                others: devices.iter().map(|(d, _)| d.id()).collect(),
                other_names: devices.into_iter().map(|(_, label)| label).collect(),
            };
            job.run::<Autodiff<Cuda>>(main, target)
        }
        #[allow(unreachable_patterns)]
        _ => anyhow::bail!("{}", not_compiled_in(name)),
    }
}

/// [`preflight`] for `--devices LIST`: every device exists, and the backend has several.
pub fn preflight_devices(name: BackendName, indices: &[usize]) -> anyhow::Result<()> {
    let list = indices
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",");
    match indices {
        [] => anyhow::bail!("--devices: give at least one device number, e.g. --devices 0,1"),
        [_, _, ..] if name == BackendName::Ndarray => anyhow::bail!(
            "--devices {list}: the ndarray backend has one device, the CPU (its threads already \
             share each step); use --backend wgpu or cuda for several devices, or one process \
             per machine with --nodes (docs/distributed.md)"
        ),
        _ => {}
    }
    // On wgpu a repeat is a second logical device on the adapter (see `dispatch_devices`); a
    // CUDA GPU is one device: listing it twice would only make two workers share it.
    if let Some(index) = indices
        .iter()
        .enumerate()
        .find_map(|(i, index)| indices[..i].contains(index).then_some(index))
        .filter(|_| name != BackendName::Wgpu)
    {
        anyhow::bail!(
            "--devices {list}: device {index} is listed twice; list each device once (only \
             wgpu accepts a repeat, as a second logical device on that adapter)"
        );
    }
    for &index in indices {
        preflight(name, Some(index))?;
    }
    Ok(())
}

/// The checks [`dispatch`] makes before any work, without running anything: the backend is
/// compiled in, its driver is installed and the device exists. Commands that create a folder
/// call it first, so a wrong `--backend` or `--device` leaves nothing behind.
pub fn preflight(name: BackendName, device: Option<usize>) -> anyhow::Result<()> {
    if !name.compiled_in() {
        anyhow::bail!("{}", not_compiled_in(name));
    }
    match name {
        BackendName::Ndarray => {
            if let Some(index) = device.filter(|&i| i != 0) {
                anyhow::bail!(
                    "--device {index}: the ndarray backend has one device, the CPU (--device 0); \
                     for several devices use --backend wgpu or cuda"
                );
            }
        }
        #[cfg(feature = "wgpu")]
        BackendName::Wgpu => {
            wgpu_device(device)?;
        }
        BackendName::Cuda => {
            cuda_driver()?;
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
    Ok(())
}

/// The message for a backend this binary lacks.
pub fn not_compiled_in(name: BackendName) -> String {
    format!(
        "backend `{name}` is not compiled into this zoo binary; build it with `cargo xtask train \
         --backend {name} ...` (cargo feature `{name}` of zoo-train)"
    )
}

/// `CPU: <model name> (<n> threads)`.
pub fn cpu_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("CPU: {model} ({threads} threads)")
}

/// Runs one tiny computation on `device`, catching the panic with which a backend reports a
/// device it cannot use, so the user gets one line instead of a worker thread's backtrace.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn probe<B: burn::prelude::Backend>(
    device: &B::Device,
    name: BackendName,
    label: &str,
) -> anyhow::Result<()> {
    use burn::prelude::*;
    use std::sync::{Arc, Mutex};
    let message: Arc<Mutex<Option<String>>> = Arc::default();
    let hook = std::panic::take_hook();
    let seen = message.clone();
    std::panic::set_hook(Box::new(move |info| {
        let mut slot = seen.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(panic_text(info.payload()).unwrap_or_else(|| BACKEND_PANICKED.into()));
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let x = Tensor::<B, 1>::from_floats([1.0, 2.0], device);
        (x.clone() * x).sum().into_scalar().elem::<f32>()
    }));
    std::panic::set_hook(hook);
    let first = message.lock().unwrap_or_else(|e| e.into_inner()).take();
    match outcome {
        Ok(5.0) => Ok(()),
        Ok(value) => anyhow::bail!(
            "backend `{name}` on {label} computed 1² + 2² = {value}: the device gives wrong \
             results; try another --device or --backend ndarray"
        ),
        Err(payload) => {
            let reason = first
                .or_else(|| panic_text(payload.as_ref()))
                .unwrap_or_else(|| BACKEND_PANICKED.into());
            let reason = reason.lines().next().unwrap_or("").trim().to_string();
            anyhow::bail!(
                "backend `{name}` cannot use {label}: {reason}; check the driver, choose another \
                 --device, or use --backend ndarray"
            )
        }
    }
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
const BACKEND_PANICKED: &str = "the backend panicked";

/// The message of a panic, when it carried one (`panic!("...")` with or without arguments).
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// The wgpu device `--device index` names: the index-th adapter of the graphics API Burn uses
/// (Vulkan on Linux), or the best one when `None`; an error listing what was found otherwise.
#[cfg(feature = "wgpu")]
fn wgpu_device(index: Option<usize>) -> anyhow::Result<(burn::backend::wgpu::WgpuDevice, String)> {
    use burn::backend::wgpu::graphics::{AutoGraphicsApi, GraphicsApi};
    use burn::backend::wgpu::WgpuDevice;
    let api = <AutoGraphicsApi as GraphicsApi>::backend();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::from(api),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters: Vec<wgpu::AdapterInfo> = block_on(instance.enumerate_adapters(api.into()))
        .into_iter()
        .map(|a| a.get_info())
        .collect();
    if adapters.is_empty() {
        anyhow::bail!(
            "backend `wgpu` found no {api:?} adapter (no GPU driver and no software Vulkan); \
             install the GPU's Vulkan driver or Mesa's lavapipe (`apt-get install \
             mesa-vulkan-drivers`), or use --backend ndarray (CPU) or --backend cuda"
        );
    }
    let list = || {
        adapters
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{i}: {} ({:?})", a.name, a.device_type))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen = match index {
        Some(i) => i,
        None => {
            // The order of WgpuDevice::DefaultDevice's preference: a discrete GPU first.
            let rank = |t: wgpu::DeviceType| match t {
                wgpu::DeviceType::DiscreteGpu => 0,
                wgpu::DeviceType::IntegratedGpu => 1,
                wgpu::DeviceType::VirtualGpu => 2,
                wgpu::DeviceType::Other => 3,
                wgpu::DeviceType::Cpu => 4,
            };
            (0..adapters.len())
                .min_by_key(|&i| rank(adapters[i].device_type))
                .unwrap_or(0)
        }
    };
    let Some(info) = adapters.get(chosen) else {
        anyhow::bail!(
            "--device {chosen}: backend `wgpu` has {} adapter(s): {}",
            adapters.len(),
            list()
        );
    };
    let same_type_before = adapters[..chosen]
        .iter()
        .filter(|a| a.device_type == info.device_type)
        .count();
    let device = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => WgpuDevice::DiscreteGpu(same_type_before),
        wgpu::DeviceType::IntegratedGpu => WgpuDevice::IntegratedGpu(same_type_before),
        wgpu::DeviceType::VirtualGpu => WgpuDevice::VirtualGpu(same_type_before),
        wgpu::DeviceType::Cpu => WgpuDevice::Cpu,
        wgpu::DeviceType::Other => WgpuDevice::DefaultDevice,
    };
    let name = format!("{} ({:?}, {:?})", info.name, info.device_type, info.backend);
    Ok((device, name))
}

/// Polls a future that native wgpu completes at once.
#[cfg(feature = "wgpu")]
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::yield_now();
    }
}

/// The folders searched for the CUDA driver library, in order.
pub fn cuda_library_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    for dir in [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/cuda/lib64",
        "/usr/local/cuda/compat",
        "/usr/lib/wsl/lib",
    ] {
        dirs.push(dir.into());
    }
    dirs
}

/// Checks that the CUDA driver library (`libcuda.so.1`) is installed, before CUDA's loader
/// would panic without it.
pub fn cuda_driver() -> anyhow::Result<std::path::PathBuf> {
    let dirs = cuda_library_dirs();
    for dir in &dirs {
        for name in ["libcuda.so.1", "libcuda.so"] {
            let path = dir.join(name);
            if path.exists() {
                return Ok(path);
            }
        }
    }
    anyhow::bail!(
        "backend `cuda` needs the NVIDIA driver's libcuda.so.1, which is not in {} (nor in \
         LD_LIBRARY_PATH): install the NVIDIA driver on a machine with an NVIDIA GPU, or use \
         --backend wgpu (any Vulkan GPU) or --backend ndarray (CPU)",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `CUDA device N: <name from nvidia-smi>` (or without the name where nvidia-smi is missing).
#[cfg(feature = "cuda")]
fn cuda_name(index: usize) -> String {
    let name = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=name",
            "--format=csv,noheader",
            &format!("--id={index}"),
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|n| !n.is_empty());
    match name {
        Some(name) => format!("CUDA device {index}: {name}"),
        None => format!("CUDA device {index}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_is_named_with_its_threads() {
        let name = cpu_name();
        assert!(
            name.starts_with("CPU: ") && name.ends_with(" threads)"),
            "{name}"
        );
    }

    #[test]
    fn a_placement_checks_its_devices_before_running() {
        let twice = Placement {
            devices: Some(vec![0, 1, 0]),
            ..Placement::new(BackendName::Cuda, None)
        };
        let err = twice.preflight().unwrap_err().to_string();
        assert!(err.contains("listed twice"), "{err}");
        assert!(Placement::new(BackendName::Ndarray, Some(0))
            .preflight()
            .is_ok());
        let err = Placement::new(BackendName::Ndarray, Some(1))
            .preflight()
            .unwrap_err();
        assert!(err.to_string().contains("one device, the CPU"), "{err}");
    }

    #[test]
    fn a_device_listed_twice_is_refused_before_the_backend_is_touched() {
        let err = preflight_devices(BackendName::Cuda, &[0, 1, 0])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--devices 0,1,0: device 0 is listed twice"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_backend_names_its_feature() {
        for name in [BackendName::Wgpu, BackendName::Cuda] {
            let message = not_compiled_in(name);
            assert!(
                message.contains("not compiled into this zoo binary"),
                "{message}"
            );
            assert!(
                message.contains(&format!("cargo xtask train --backend {name} ...")),
                "{message}"
            );
            assert!(
                message.contains(&format!("cargo feature `{name}`")),
                "{message}"
            );
        }
        // Every build has the default backend.
        assert!(BackendName::Ndarray.compiled_in());
    }

    #[test]
    fn a_missing_cuda_driver_names_the_library_and_the_alternatives() {
        // On a machine with the NVIDIA driver this finds it; elsewhere the message must say what
        // was looked for and what to do instead.
        match cuda_driver() {
            Ok(path) => assert!(path.to_string_lossy().contains("libcuda.so")),
            Err(err) => {
                let err = err.to_string();
                assert!(err.contains("libcuda.so.1"), "{err}");
                assert!(err.contains("--backend ndarray"), "{err}");
                assert!(!err.contains('\n'), "one line: {err}");
            }
        }
    }
}
