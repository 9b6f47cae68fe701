//! The one place that names concrete Burn backends. Everything else is generic over
//! `B: AutodiffBackend`; a backend that is not compiled in is a clear error, never a panic.

use std::fmt;

use burn::tensor::backend::AutodiffBackend;

/// The backends the zoo can train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendName {
    /// CPU, pure Rust (always available; the default).
    Ndarray,
    /// GPU through WebGPU/Vulkan (cargo feature `wgpu`).
    Wgpu,
    /// NVIDIA GPU through CUDA (cargo feature `cuda`).
    Cuda,
}

impl BackendName {
    /// The name used on the command line and in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendName::Ndarray => "ndarray",
            BackendName::Wgpu => "wgpu",
            BackendName::Cuda => "cuda",
        }
    }
}

impl fmt::Display for BackendName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        backend: BackendName,
    ) -> anyhow::Result<Self::Output>;
}

/// Runs `job` on the backend called `name`.
pub fn dispatch<J: BackendJob>(name: BackendName, job: J) -> anyhow::Result<J::Output> {
    match name {
        #[cfg(feature = "ndarray")]
        BackendName::Ndarray => {
            use burn::backend::{ndarray::NdArrayDevice, Autodiff, NdArray};
            job.run::<Autodiff<NdArray>>(NdArrayDevice::Cpu, name)
        }
        #[cfg(feature = "wgpu")]
        BackendName::Wgpu => {
            use burn::backend::{wgpu::WgpuDevice, Autodiff, Wgpu};
            job.run::<Autodiff<Wgpu>>(WgpuDevice::default(), name)
        }
        #[cfg(feature = "cuda")]
        BackendName::Cuda => {
            use burn::backend::{cuda::CudaDevice, Autodiff, Cuda};
            job.run::<Autodiff<Cuda>>(CudaDevice::default(), name)
        }
        #[allow(unreachable_patterns)]
        _ => anyhow::bail!(
            "backend `{name}` is not compiled into this zoo binary; build it with `cargo xtask train --backend {name} ...` (cargo feature `{name}` of zoo-train)"
        ),
    }
}
