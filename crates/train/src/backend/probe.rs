//! A backend's device tried once, its panic caught: how a missing or broken device becomes one
//! line instead of a worker thread's backtrace.

#[cfg(any(feature = "wgpu", feature = "cuda"))]
use super::BackendName;

/// Runs one tiny computation on `device`, catching the panic with which a backend reports a
/// device it cannot use, so the user gets one line instead of a worker thread's backtrace.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub(super) fn probe<B: burn::prelude::Backend>(
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
