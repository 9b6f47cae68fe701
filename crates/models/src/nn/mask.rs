//! Which positions of a padded batch are real.

use burn::prelude::*;

/// `Bool [rows, width]`: true at position `t` of row `r` where `t < lengths[r]` (a real word or
/// character), false at the padding after it.
pub fn real_positions<B: Backend>(
    lengths: &[usize],
    width: usize,
    device: &B::Device,
) -> Tensor<B, 2, Bool> {
    let real: Vec<bool> = (lengths.iter())
        .flat_map(|&length| (0..width).map(move |t| t < length))
        .collect();
    Tensor::from_data(TensorData::new(real, [lengths.len(), width]), device)
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;

    #[test]
    fn marks_each_rows_first_length_positions() {
        let mask = real_positions::<NdArray>(&[3, 1, 0], 3, &Default::default());
        let expected = [
            [true, true, true],
            [true, false, false],
            [false, false, false],
        ];
        assert_eq!(mask.into_data(), TensorData::from(expected));
    }
}
