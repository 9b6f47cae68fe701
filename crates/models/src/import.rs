//! Loading PyTorch `state_dict` files (`torch.save(model.state_dict(), "x.pt")`) into zoo modules.
//!
//! Keys match by name: `lstm.weight_ih_l0` goes to `lstm.layers.0.forward.weight_ih`,
//! `lstm.weight_hh_l1_reverse` to `lstm.layers.1.reverse.weight_hh`, and a `Linear`'s `[out, in]`
//! weight is transposed to Burn's `[in, out]`. The file is read by burn-store's PyTorch reader,
//! which unpickles tensors only: no Python code in the file is ever run.

use std::fmt;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn_store::{ApplyError, ModuleSnapshot, PytorchStore};

/// Why a PyTorch file could not be loaded into a module.
#[derive(Debug)]
pub enum ImportError {
    /// The file is missing or is not a PyTorch checkpoint.
    Read {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        message: String,
    },
    /// The file's tensors do not fit the module.
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The module's parameters the file lacks (the module's names).
        missing: Vec<String>,
        /// The file's tensors the module has no place for (after renaming to the module's names).
        unexpected: Vec<String>,
        /// `name: module [..], file [..]` for each tensor of the wrong shape or type.
        wrong_shape: Vec<String>,
    },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Read { path, message } => write!(
                f,
                "{}: cannot read it as a PyTorch state_dict ({message}); save one with \
                 torch.save(model.state_dict(), path)",
                path.display()
            ),
            ImportError::Mismatch {
                path,
                missing,
                unexpected,
                wrong_shape,
            } => {
                write!(
                    f,
                    "{}: the state_dict does not fit the model:",
                    path.display()
                )?;
                let mut list = |what: &str, items: &[String]| {
                    if items.is_empty() {
                        Ok(())
                    } else {
                        write!(f, " {what} ({}): {};", items.len(), items.join(", "))
                    }
                };
                list("missing", missing)?;
                list("unexpected", unexpected)?;
                list("wrong shape", wrong_shape)?;
                write!(
                    f,
                    " check the model's --config (hidden_size, num_layers) against the file"
                )
            }
        }
    }
}

impl std::error::Error for ImportError {}

/// Loads the PyTorch `state_dict` at `path` into `module`, every parameter by name; any missing,
/// unexpected or wrongly shaped tensor is an error that lists them all.
pub fn load_pytorch<B: Backend, M: Module<B>>(
    mut module: M,
    path: impl AsRef<Path>,
) -> Result<M, ImportError> {
    let path = path.as_ref();
    if !path.is_file() {
        return Err(ImportError::Read {
            path: path.to_path_buf(),
            message: "no such file".to_string(),
        });
    }
    let rnn = "(weight_ih|weight_hh|bias_ih|bias_hh)";
    let mut store = PytorchStore::from_file(path)
        .with_key_remapping(
            format!(r"^(.*?){rnn}_l(\d+)_reverse$"),
            "${1}layers.${3}.reverse.${2}",
        )
        .with_key_remapping(
            format!(r"^(.*?){rnn}_l(\d+)$"),
            "${1}layers.${3}.forward.${2}",
        )
        .validate(false)
        .allow_partial(true);
    let result = module
        .load_from(&mut store)
        .map_err(|err| ImportError::Read {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
    let wrong_shape: Vec<String> = result
        .errors
        .iter()
        .map(|err| match err {
            ApplyError::ShapeMismatch {
                path,
                expected,
                found,
            } => format!(
                "{path}: model {:?}, file {:?}",
                expected.as_slice(),
                found.as_slice()
            ),
            other => other.to_string(),
        })
        .collect();
    let missing: Vec<String> = result
        .missing
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    if missing.is_empty() && result.unused.is_empty() && wrong_shape.is_empty() {
        Ok(module)
    } else {
        Err(ImportError::Mismatch {
            path: path.to_path_buf(),
            missing,
            unexpected: result.unused.clone(),
            wrong_shape,
        })
    }
}
