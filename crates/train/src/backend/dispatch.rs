//! Running a [`BackendJob`] on the backend and device(s) a user named, after checking that they
//! are there: the one `match` over the backends. A build without any backend feature compiles
//! it to "not compiled in" for every name, leaving its arguments unread.
#![cfg_attr(
    not(any(feature = "ndarray", feature = "wgpu", feature = "cuda")),
    allow(unused_imports, unused_variables)
)]

use super::cuda_driver;
#[cfg(feature = "cuda")]
use super::cuda_name;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
use super::probe;
#[cfg(feature = "wgpu")]
use super::wgpu_device;
use super::{cpu_name, BackendJob, BackendName, Target};

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
            let (main, target) = main_and_others(name, devices);
            job.run::<Autodiff<Wgpu>>(main, target)
        }
        #[cfg(feature = "cuda")]
        BackendName::Cuda => {
            use burn::backend::{cuda::CudaDevice, Autodiff, Cuda};
            cuda_driver()?;
            let mut devices = Vec::new();
            for &index in indices {
                let device = CudaDevice::new(index);
                let label = cuda_name(index);
                probe::<Cuda>(&device, name, &label)?;
                devices.push((device, label));
            }
            let (main, target) = main_and_others(name, devices);
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

/// The first of `devices` (checked, each with its label), which runs the job, and the
/// [`Target`] that names it and hands the job the others.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn main_and_others<D: burn::tensor::backend::DeviceOps>(
    name: BackendName,
    mut devices: Vec<(D, String)>,
) -> (D, Target) {
    let (main, device_name) = devices.remove(0);
    let target = Target {
        backend: name,
        device_name,
        others: devices.iter().map(|(d, _)| d.id()).collect(),
        other_names: devices.into_iter().map(|(_, label)| label).collect(),
    };
    (main, target)
}
