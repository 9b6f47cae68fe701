//! PyTorch weights in and out: `state_dict` files (`torch.save(model.state_dict(), "x.pt")`) into
//! zoo modules, and zoo modules out as `.safetensors` files that
//! `model.load_state_dict(safetensors.torch.load_file(path))` reads.
//!
//! Names follow PyTorch's on the way in and out: `lstm.weight_ih_l0` is the zoo's
//! `lstm.layers.0.forward.weight_ih` ([`names`]), and a `Linear`'s `[out, in]` weight is
//! transposed to Burn's `[in, out]` and back. A class whose modules are named otherwise
//! (`self.rnn`, `self.out`, convolutions inside `nn.Sequential`) maps with [`Rename`] rules,
//! applied to the file's names before they are matched (import) or to PyTorch's names of the
//! model (export); a file that does not fit lists, in the file's and PyTorch's spelling, what is
//! missing, unexpected or of the wrong shape, and the renames that would make it fit where there
//! are some. `.pt` files are read by burn-store's PyTorch reader, which unpickles tensors only:
//! no Python code in the file is ever run; `.safetensors` files by the `safetensors` crate.

mod export;
mod mismatch;
pub mod names;
mod rename;
mod safetensors_in;

use std::fmt;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn_store::pytorch::PytorchReader;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, TensorSnapshot};

pub use export::{ExportError, save_safetensors, to_safetensors};
pub use mismatch::{Found, Mismatch, Named, WrongShape};
pub use rename::{Rename, RenameError, apply_all};

/// Why a PyTorch file could not be loaded into a module.
#[derive(Debug)]
pub enum ImportError {
    /// The file is missing or is not a PyTorch checkpoint (or `.safetensors` file).
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
        /// What differs, and the renames that would fix it.
        mismatch: Box<Mismatch>,
        /// What to change in the model's config so that the shapes fit, where the caller knows
        /// (`zoo import` tries the `[model]` keys).
        hint: Option<String>,
    },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Read { path, message } if is_safetensors(path) => write!(
                f,
                "{}: cannot read it as a .safetensors file ({message}); save one with \
                 safetensors.torch.save_file(model.state_dict(), path)",
                path.display()
            ),
            ImportError::Read { path, message } => write!(
                f,
                "{}: cannot read it as a PyTorch state_dict ({message}); save one with \
                 torch.save(model.state_dict(), path)",
                path.display()
            ),
            ImportError::Mismatch {
                path,
                mismatch,
                hint,
            } => {
                write!(
                    f,
                    "{}: the state_dict does not fit the model:{mismatch}",
                    path.display()
                )?;
                match hint {
                    Some(hint) => write!(f, "; {hint}"),
                    None if !mismatch.wrong_shape.is_empty() => {
                        write!(f, "; the model's config must give the file's shapes")
                    }
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for ImportError {}

/// The module's tensors as PyTorch names and shapes them, in the module's order.
pub fn pytorch_tensors<B: Backend, M: Module<B>>(module: &M) -> Vec<Named> {
    module
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), false)
        .iter()
        .map(|snapshot| Named {
            name: names::pytorch_name(&snapshot.full_path()),
            shape: snapshot.shape.to_vec(),
        })
        .collect()
}

/// Whether `path` names a `.safetensors` file (else a PyTorch `.pt`/`.pth` checkpoint).
fn is_safetensors(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"))
}

/// The tensors of the PyTorch file at `path`, by name, after the `renames`.
fn read(path: &Path, renames: &[Rename]) -> Result<Vec<(Found, TensorSnapshot)>, ImportError> {
    let failed = |message: String| ImportError::Read {
        path: path.to_path_buf(),
        message,
    };
    if !path.is_file() {
        return Err(failed("no such file".to_string()));
    }
    let in_file = match is_safetensors(path) {
        true => safetensors_in::read(path).map_err(failed)?,
        false => (PytorchReader::new(path).map_err(|err| failed(err.to_string()))?)
            .into_tensors()
            .into_iter()
            .collect(),
    };
    let mut tensors: Vec<(Found, TensorSnapshot)> = in_file
        .into_iter()
        .map(|(name, snapshot)| {
            let found = Found {
                renamed: apply_all(renames, &name),
                shape: snapshot.shape.to_vec(),
                name,
            };
            (found, snapshot)
        })
        .collect();
    tensors.sort_by(|a, b| a.0.renamed.cmp(&b.0.renamed));
    if let Some(pair) = tensors
        .windows(2)
        .find(|p| p[0].0.renamed == p[1].0.renamed)
    {
        let (a, b) = (&pair[0].0, &pair[1].0);
        return Err(failed(format!(
            "the --rename rules give {} and {} the same name {}",
            a.name, b.name, a.renamed
        )));
    }
    Ok(tensors)
}

/// The tensors of the PyTorch file at `path`: each one's name, its name after the `renames`, and
/// its shape, sorted by the renamed name.
pub fn file_tensors(path: impl AsRef<Path>, renames: &[Rename]) -> Result<Vec<Found>, ImportError> {
    Ok(read(path.as_ref(), renames)?
        .into_iter()
        .map(|(found, _)| found)
        .collect())
}

/// Loads the PyTorch `state_dict` at `path` into `module`, every parameter by name, after the
/// `renames` (in order) have been applied to the file's names. A missing, unexpected or wrongly
/// shaped tensor is an [`ImportError::Mismatch`] listing them all.
pub fn load_pytorch<B: Backend, M: Module<B>>(
    mut module: M,
    path: impl AsRef<Path>,
    renames: &[Rename],
) -> Result<M, ImportError> {
    let path = path.as_ref();
    let tensors = read(path, renames)?;
    let found: Vec<Found> = tensors.iter().map(|(f, _)| f.clone()).collect();
    if let Some(mismatch) = Mismatch::between(&pytorch_tensors(&module), &found) {
        return Err(ImportError::Mismatch {
            path: path.to_path_buf(),
            mismatch: Box::new(mismatch),
            hint: None,
        });
    }
    let snapshots: Vec<TensorSnapshot> = tensors
        .into_iter()
        .map(|(found, mut snapshot)| {
            let zoo = names::zoo_name(&found.renamed);
            snapshot.path_stack = Some(zoo.split('.').map(str::to_string).collect());
            snapshot.container_stack = None;
            snapshot.tensor_id = None;
            snapshot
        })
        .collect();
    let result = module.apply(snapshots, None, Some(Box::new(PyTorchToBurnAdapter)), false);
    if result.errors.is_empty() && result.missing.is_empty() && result.unused.is_empty() {
        Ok(module)
    } else {
        Err(ImportError::Read {
            path: path.to_path_buf(),
            message: result.to_string(),
        })
    }
}
