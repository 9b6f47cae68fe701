//! `zoo models | head`: when the reader of standard output goes away, `zoo` ends quietly, as Unix
//! tools do, instead of panicking in `println!` (a Rust program ignores SIGPIPE by default).

/// Restores SIGPIPE's default action (end the process). Call it first thing in `main`, before
/// other threads start; [`crate::main`] does.
pub fn end_quietly_on_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: sets one signal's disposition, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
