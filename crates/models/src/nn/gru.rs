//! `nn.GRU` as PyTorch defines it: stacked, optionally bidirectional, PyTorch's parameter layout.
//! On `NdArray` (feature `ndarray`) each layer and direction runs as the fused CPU recurrence
//! (`fused::cpu::gru`), on `Wgpu` (and `Cuda` once let) as the CubeCL kernel (`fused::gpu::gru`);
//! elsewhere as tensor operations, step by step.

use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};

use super::rnn::{
    RnnError, RnnLayer, SeqLayout, StepMask, check_input, init_layers, initial_state,
    run_direction, run_layers,
};

/// Configuration of [`Gru`], with `nn.GRU`'s arguments and defaults.
#[derive(Config, Debug)]
pub struct GruConfig {
    /// Features of each input step.
    pub input_size: usize,
    /// Features of the hidden state (`H`).
    pub hidden_size: usize,
    /// Stacked layers; layer `k > 0` reads the outputs of layer `k - 1`.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Whether the layers have the biases `b_ih` and `b_hh`.
    #[config(default = true)]
    pub bias: bool,
    /// Input and output are `[batch, seq, features]` instead of `[seq, batch, features]`.
    #[config(default = false)]
    pub batch_first: bool,
    /// Dropout on the outputs of every layer but the last, in training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Runs a second GRU over the reversed sequence and concatenates its outputs.
    #[config(default = false)]
    pub bidirectional: bool,
}

impl GruConfig {
    /// Builds the layer with PyTorch's initialization: every weight and bias from
    /// U(−1/√H, 1/√H).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Gru<B> {
        let layers = init_layers(
            self.input_size,
            self.hidden_size,
            self.num_layers,
            self.bidirectional,
            self.bias,
            3,
            device,
        );
        Gru {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_layers,
            bidirectional: self.bidirectional,
            batch_first: self.batch_first,
        }
    }
}

/// A stacked, optionally bidirectional GRU with `nn.GRU`'s semantics and parameter layout
/// (gate order r, z, n; `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`,
/// `h' = (1 − z) ⊙ n + z ⊙ h`).
///
/// Input `[seq, batch, input_size]` (`[batch, seq, input_size]` with `batch_first`); output
/// `[seq, batch, D * H]` (or `[batch, seq, D * H]`); state `[num_layers * D, batch, H]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use zoo_models::nn::GruConfig;
///
/// let device = Default::default();
/// // nn.GRU(8, 16, batch_first=True)
/// let gru = GruConfig::new(8, 16).with_batch_first(true).init::<NdArray>(&device);
/// let input = Tensor::<NdArray, 3>::zeros([2, 7, 8], &device); // [batch, seq, input]
/// let (output, h_n) = gru.forward(input, None);
/// assert_eq!(output.dims(), [2, 7, 16]);
/// assert_eq!(h_n.dims(), [1, 2, 16]); // [layers, batch, hidden]
/// ```
#[derive(Module, Debug)]
pub struct Gru<B: Backend> {
    /// The layers, first to last; PyTorch's `weight_ih_l{k}` is `layers[k].forward.weight_ih`,
    /// `weight_ih_l{k}_reverse` is `layers[k].reverse.weight_ih`.
    pub layers: Vec<RnnLayer<B>>,
    /// Between layers, in training only.
    pub dropout: Dropout,
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
    bidirectional: bool,
    batch_first: bool,
}

impl<B: Backend> Gru<B> {
    /// Runs the GRU from `hidden` (zeros when `None`); returns the last layer's outputs at every
    /// step and the final hidden state of every layer and direction `[num_layers * D, batch, H]`.
    /// Panics with the message of [`Gru::try_forward`] on a wrongly shaped input or state.
    pub fn forward(
        &self,
        input: Tensor<B, 3>,
        hidden: Option<Tensor<B, 3>>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        self.try_forward(input, hidden, None)
            .unwrap_or_else(|err| panic!("{err}"))
    }

    /// [`Gru::forward`] for a padded batch of sequences with `lengths[b]` real steps each, with
    /// `pack_padded_sequence` semantics (see [`super::Lstm::forward_packed`]).
    pub fn forward_packed(
        &self,
        input: Tensor<B, 3>,
        lengths: &[usize],
        hidden: Option<Tensor<B, 3>>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        self.try_forward(input, hidden, Some(lengths))
            .unwrap_or_else(|err| panic!("{err}"))
    }

    /// [`Gru::forward`] / [`Gru::forward_packed`] that returns an error naming the expected and
    /// the given shapes, instead of panicking.
    pub fn try_forward(
        &self,
        input: Tensor<B, 3>,
        hidden: Option<Tensor<B, 3>>,
        lengths: Option<&[usize]>,
    ) -> Result<(Tensor<B, 3>, Tensor<B, 3>), RnnError> {
        let layout = SeqLayout {
            batch_first: self.batch_first,
            input_size: self.input_size,
        };
        let [seq, batch] = check_input("Gru", &layout, &input.dims())?;
        let directions = if self.bidirectional { 2 } else { 1 };
        let shape = [self.num_layers * directions, batch, self.hidden_size];
        let device = input.device();
        let h0 = initial_state("Gru", "hidden", hidden, shape, &device)?;
        let mask = StepMask::new(lengths, seq, batch, &device)?;
        let hidden = self.hidden_size;
        let step = |input_part: Tensor<B, 2>, [h]: [Tensor<B, 2>; 1], hidden_part: Tensor<B, 2>| {
            let i = |k: usize| input_part.clone().narrow(1, k * hidden, hidden);
            let hh = |k: usize| hidden_part.clone().narrow(1, k * hidden, hidden);
            let r = sigmoid(i(0) + hh(0));
            let z = sigmoid(i(1) + hh(1));
            let n = tanh(i(2) + r * hh(2));
            [(z.clone().neg() + 1.0) * n + z * h]
        };
        let (output, [h_n]) = run_layers(
            &self.layers,
            &self.dropout,
            input,
            self.batch_first,
            true,
            [h0],
            |weights, x, state, reverse| match super::fused::route::<B>(x.dtype()) {
                #[cfg(feature = "ndarray")]
                Some(super::fused::Route::Cpu { tracked }) => {
                    let [h0] = state;
                    let gates_x = super::fused::cpu::linear::input_gates(tracked, weights, x, 2);
                    let b_hn = b_hn(weights, hidden, &h0.device());
                    let w_hh = weights.weight_hh.val();
                    let (out, h) = super::fused::cpu::gru::recurrence(
                        tracked, gates_x, w_hh, b_hn, h0, reverse, lengths,
                    );
                    (out, [h])
                }
                // The kernel runs sequences without padding; padded batches take the tensor path.
                #[cfg(all(any(feature = "wgpu", feature = "cuda"), not(test)))]
                Some(super::fused::Route::Gpu(served)) if lengths.is_none() => {
                    let [h0] = state;
                    let gates_x = weights.input_gates(x, 2);
                    let b_hn = b_hn(weights, hidden, &h0.device());
                    let w_hh = weights.weight_hh.val();
                    let (out, h) = super::fused::gpu::gru::recurrence(
                        served, gates_x, w_hh, b_hn, h0, reverse,
                    );
                    (out, [h])
                }
                _ => run_direction(weights, x, state, reverse, &mask, &step),
            },
        );
        let output =
            output.unwrap_or_else(|| unreachable!("run_layers keeps the output asked for"));
        Ok((output, h_n))
    }
}

/// `b_hn` `[H]`, the part of `b_hh` the GRU adds inside the reset product (zeros without biases),
/// for the fused recurrences.
#[cfg(any(
    feature = "ndarray",
    all(any(feature = "wgpu", feature = "cuda"), not(test))
))]
fn b_hn<B: Backend>(
    weights: &super::GateWeights<B>,
    hidden: usize,
    device: &B::Device,
) -> Tensor<B, 1> {
    match &weights.bias_hh {
        Some(b) => b.val().narrow(0, 2 * hidden, hidden),
        None => Tensor::zeros([hidden], device),
    }
}
