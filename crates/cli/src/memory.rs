//! The allocator setting `zoo` starts with.

/// Tells glibc's allocator to keep freed memory for reuse instead of handing every large buffer
/// back to the kernel (its default for blocks over 128 KiB, adapted upward only slowly).
///
/// A training step allocates and frees the same large buffers every time; with the default, each
/// comes back as fresh pages (page faults, zeroing, TLB shootdowns across rayon's threads), which
/// measured 25–30% of a CPU training step of the MNIST models here. Call it first thing in
/// `main`, before threads start; [`crate::main`] does. A no-op off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two thresholds of glibc's allocator; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
