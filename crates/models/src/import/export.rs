//! A module's weights out as a `.safetensors` file with PyTorch's names and layouts, which
//! `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` reads into the
//! matching PyTorch class.

use std::fmt;
use std::path::Path;

use burn::prelude::*;
use burn::tensor::DType;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot};
use safetensors::Dtype;
use safetensors::tensor::TensorView;

use super::names::pytorch_name;
use super::rename::{Rename, apply_all};

/// Why a module could not be written out.
#[derive(Debug)]
pub enum ExportError {
    /// Two tensors would have the same name after the renames.
    SameName {
        /// The module's two tensors, in PyTorch's spelling before the renames.
        first: String,
        /// The other one.
        second: String,
        /// The name both get.
        renamed: String,
    },
    /// A tensor's values could not be read, or the file not written.
    Write(String),
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::SameName {
                first,
                second,
                renamed,
            } => write!(
                f,
                "the --rename rules give {first} and {second} the same name {renamed}"
            ),
            ExportError::Write(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for ExportError {}

/// The module's weights as the bytes of a `.safetensors` file: PyTorch names (then `renames`,
/// in order), PyTorch layouts, 32-bit floats.
pub fn to_safetensors<B: Backend, M: Module<B>>(
    module: &M,
    renames: &[Rename],
) -> Result<Vec<u8>, ExportError> {
    let mut tensors: Vec<(String, String, Vec<usize>, Vec<u8>)> = Vec::new();
    for snapshot in module.collect(None, Some(Box::new(BurnToPyTorchAdapter)), false) {
        let pytorch = pytorch_name(&snapshot.full_path());
        let data = snapshot
            .to_data()
            .map_err(|err| ExportError::Write(format!("cannot read {pytorch}: {err:?}")))?
            .convert_dtype(DType::F32);
        let name = apply_all(renames, &pytorch);
        tensors.push((
            name,
            pytorch,
            data.shape.to_vec(),
            data.into_bytes().to_vec(),
        ));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = tensors.windows(2).find(|p| p[0].0 == p[1].0) {
        return Err(ExportError::SameName {
            first: pair[0].1.clone(),
            second: pair[1].1.clone(),
            renamed: pair[0].0.clone(),
        });
    }
    let views = tensors
        .iter()
        .map(|(name, _, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.as_str(), view))
                .map_err(|err| ExportError::Write(format!("{name}: {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, None).map_err(|err| ExportError::Write(err.to_string()))
}

/// Writes [`to_safetensors`]'s bytes to `path`.
pub fn save_safetensors<B: Backend, M: Module<B>>(
    module: &M,
    path: impl AsRef<Path>,
    renames: &[Rename],
) -> Result<(), ExportError> {
    let path = path.as_ref();
    let bytes = to_safetensors(module, renames)?;
    std::fs::write(path, bytes)
        .map_err(|err| ExportError::Write(format!("cannot write {}: {err}", path.display())))
}
