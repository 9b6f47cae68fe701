//! `.safetensors` files in: the tensors of a file as `safetensors.torch.save_file` (or `zoo
//! export`) writes them, for [`super::load_pytorch`]. The file is read whole once and its header
//! checked by the `safetensors` crate (a header that claims more than the file holds, overlapping
//! or out-of-range offsets, a dtype whose size disagrees with the bytes are errors), so nothing
//! beyond the file's own size is allocated.

use std::path::Path;

use burn::module::ParamId;
use burn::tensor::{DType, TensorData};
use burn_store::TensorSnapshot;
use safetensors::{Dtype, SafeTensors};

/// Each tensor of the `.safetensors` file at `path`, by name; the reason as text where the file
/// is not one.
pub(super) fn read(path: &Path) -> Result<Vec<(String, TensorSnapshot)>, String> {
    let bytes = std::fs::read(path).map_err(|err| err.to_string())?;
    let file = SafeTensors::deserialize(&bytes).map_err(|err| err.to_string())?;
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            let dtype = match view.dtype() {
                Dtype::F32 => DType::F32,
                Dtype::F64 => DType::F64,
                Dtype::F16 => DType::F16,
                Dtype::BF16 => DType::BF16,
                Dtype::I64 => DType::I64,
                Dtype::I32 => DType::I32,
                other => return Err(format!("tensor {name} is {other:?}, not a float")),
            };
            let data =
                TensorData::from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), dtype);
            let path = name.split('.').map(str::to_string).collect();
            let snapshot = TensorSnapshot::from_data(data, path, Vec::new(), ParamId::new());
            Ok((name, snapshot))
        })
        .collect()
}
