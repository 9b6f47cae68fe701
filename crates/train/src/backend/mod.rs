//! The one place that names concrete Burn backends. Everything else is generic over
//! `B: AutodiffBackend`. Before any work starts the chosen backend and device are checked: a
//! backend that is not compiled in, a missing driver or a missing device is one clear error,
//! never a panic from a worker thread.

use std::fmt;

use burn::tensor::backend::AutodiffBackend;

mod cuda;
mod dispatch;
mod probe;
#[cfg(feature = "wgpu")]
mod wgpu;

#[cfg(feature = "wgpu")]
use self::wgpu::wgpu_device;
pub use cuda::cuda_driver;
#[cfg(feature = "cuda")]
use cuda::cuda_name;
pub use dispatch::{dispatch, dispatch_devices, not_compiled_in, preflight, preflight_devices};
#[cfg(any(feature = "wgpu", feature = "cuda"))]
use probe::probe;
pub(crate) use probe::{catch_quietly, panic_text};

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
