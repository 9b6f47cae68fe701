use burn::prelude::*;

/// A batch of inputs with one class index each.
///
/// `inputs` is `[B, 28, 28]` (MNIST rows as a sequence, `D = 3`), `[B, 1, 28, 28]` (images,
/// `D = 4`) or `[B, features]` (points, `D = 2`); `targets` is `Int [B]` with values in
/// `0..num_classes`.
#[derive(Clone, Debug)]
pub struct ClassificationBatch<B: Backend, const D: usize> {
    /// The model inputs, batch first.
    pub inputs: Tensor<B, D>,
    /// The class of each input, `Int [B]`.
    pub targets: Tensor<B, 1, Int>,
}

/// A batch of inputs `[B, features]` with real-valued targets `[B, outputs]`.
#[derive(Clone, Debug)]
pub struct RegressionBatch<B: Backend> {
    /// The model inputs `[B, features]`.
    pub inputs: Tensor<B, 2>,
    /// The values to predict `[B, outputs]`.
    pub targets: Tensor<B, 2>,
}

/// Turns class indices into an `Int [B]` tensor on `device`.
pub(crate) fn class_tensor<B: Backend>(classes: Vec<i64>, device: &B::Device) -> Tensor<B, 1, Int> {
    let n = classes.len();
    Tensor::from_data(
        TensorData::new(classes, [n]).convert::<B::IntElem>(),
        device,
    )
}
