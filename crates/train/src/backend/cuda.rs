//! CUDA's driver library and device names, found before CUDA's own loader would panic.

/// The system folders where NVIDIA's driver installs `libcuda.so.1`, searched after
/// `LD_LIBRARY_PATH`'s.
const SYSTEM_LIBRARY_DIRS: [&str; 7] = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/cuda/lib64",
    "/usr/local/cuda/compat",
    "/usr/lib/wsl/lib",
];

/// The folders searched for the CUDA driver library, in order: `LD_LIBRARY_PATH`'s, then the
/// system's.
fn cuda_library_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    dirs.extend(SYSTEM_LIBRARY_DIRS.map(std::path::PathBuf::from));
    dirs
}

/// Checks that the CUDA driver library (`libcuda.so.1`) is installed, before CUDA's loader
/// would panic without it. The error names the system folders only: `LD_LIBRARY_PATH` is
/// searched too, but under `cargo run` it holds cargo's own build folders, which would bury
/// the message.
pub fn cuda_driver() -> anyhow::Result<std::path::PathBuf> {
    for dir in cuda_library_dirs() {
        for name in ["libcuda.so.1", "libcuda.so"] {
            let path = dir.join(name);
            if path.exists() {
                return Ok(path);
            }
        }
    }
    anyhow::bail!(
        "backend `cuda` needs the NVIDIA driver's libcuda.so.1, which is neither in {} nor in \
         LD_LIBRARY_PATH: install the NVIDIA driver on a machine with an NVIDIA GPU, or use \
         --backend wgpu (any Vulkan GPU) or --backend ndarray (CPU)",
        SYSTEM_LIBRARY_DIRS.join(", ")
    )
}

/// `CUDA device N: <name from nvidia-smi>` (or without the name where nvidia-smi is missing).
#[cfg(feature = "cuda")]
pub(super) fn cuda_name(index: usize) -> String {
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
