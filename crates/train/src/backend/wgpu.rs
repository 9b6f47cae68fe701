//! wgpu's adapters: the one `--device N` names, listed by name when it is not there.

/// The wgpu device `--device index` names: the index-th adapter of the graphics API Burn uses
/// (Vulkan on Linux), or the best one when `None`; an error listing what was found otherwise.
pub(super) fn wgpu_device(
    index: Option<usize>,
) -> anyhow::Result<(burn::backend::wgpu::WgpuDevice, String)> {
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
