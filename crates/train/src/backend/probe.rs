//! Panics caught as one line: a backend's device tried once (how a missing or broken device
//! becomes one line instead of a worker thread's backtrace), and any call that may panic on
//! damaged input.

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
    let outcome = catch_quietly(|| {
        let x = Tensor::<B, 1>::from_floats([1.0, 2.0], device);
        (x.clone() * x).sum().into_scalar().elem::<f32>()
    });
    match outcome {
        Ok(5.0) => Ok(()),
        Ok(value) => anyhow::bail!(
            "backend `{name}` on {label} computed 1² + 2² = {value}: the device gives wrong \
             results; try another --device or --backend ndarray"
        ),
        Err(reason) => {
            let reason = reason.lines().next().unwrap_or("").trim().to_string();
            anyhow::bail!(
                "backend `{name}` cannot use {label}: {reason}; check the driver, choose another \
                 --device, or use --backend ndarray"
            )
        }
    }
}

/// Runs `f`, catching a panic inside it (a backend's way to report a device it cannot use,
/// Burn's record decoder's on some damaged files) as its message, with nothing printed: the
/// caller turns it into one line of its own. The panic hook is the process's, so it is set
/// aside only for the call.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    use std::sync::{Arc, Mutex};
    let message: Arc<Mutex<Option<String>>> = Arc::default();
    let hook = std::panic::take_hook();
    let seen = message.clone();
    std::panic::set_hook(Box::new(move |info| {
        let mut slot = seen.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| panic_text(info.payload()).unwrap_or_else(|| PANICKED.into()));
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    let first = message.lock().unwrap_or_else(|e| e.into_inner()).take();
    outcome.map_err(|payload| {
        first
            .or_else(|| panic_text(payload.as_ref()))
            .unwrap_or_else(|| PANICKED.into())
    })
}

/// The message of a panic that carried none.
const PANICKED: &str = "the backend panicked";

/// The message of a panic, when it carried one (`panic!("...")` with or without arguments).
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}
