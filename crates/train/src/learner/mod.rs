//! The training loop inside burn-train: the model with its task ([`trainee`]), the loop with
//! exact timing, resumable data order and the divergence guard ([`strategy`]), progress lines and
//! `metrics.csv` ([`progress`]), checkpoints written whole or not at all ([`checkpoint`]) and
//! read from the device before training goes on ([`save_gate`]), global gradient clipping
//! (`clip`), the optimizers ([`optim`]), the learning-rate decay ([`schedule`]) and keeping the
//! best epoch (`best`).

pub(crate) mod best;
pub mod checkpoint;
mod clip;
pub mod optim;
pub mod progress;
pub mod save_gate;
pub mod schedule;
pub mod strategy;
pub mod trainee;
