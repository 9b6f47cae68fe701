//! `nn.LSTM` as PyTorch defines it: stacked, optionally bidirectional, PyTorch's parameter layout.

use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};

use super::rnn::{
    RnnError, RnnLayer, SeqLayout, StepMask, check_input, init_layers, initial_state,
    run_direction, run_layers,
};

/// Configuration of [`Lstm`], with `nn.LSTM`'s arguments and defaults.
#[derive(Config, Debug)]
pub struct LstmConfig {
    /// Features of each input step.
    pub input_size: usize,
    /// Features of the hidden and cell states (`H`).
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
    /// Runs a second LSTM over the reversed sequence and concatenates its outputs.
    #[config(default = false)]
    pub bidirectional: bool,
}

impl LstmConfig {
    /// Builds the layer with PyTorch's initialization: every weight and bias from
    /// U(−1/√H, 1/√H).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Lstm<B> {
        let layers = init_layers(
            self.input_size,
            self.hidden_size,
            self.num_layers,
            self.bidirectional,
            self.bias,
            4,
            device,
        );
        Lstm {
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

/// The states an [`Lstm`] starts from and ends with, as PyTorch's `(h, c)`: both
/// `[num_layers * num_directions, batch, H]`, ordered layer 0 forward, layer 0 backward, layer 1
/// forward, …
#[derive(Debug, Clone)]
pub struct LstmState<B: Backend> {
    /// `h`: `[num_layers * num_directions, batch, H]`.
    pub hidden: Tensor<B, 3>,
    /// `c`: `[num_layers * num_directions, batch, H]`.
    pub cell: Tensor<B, 3>,
}

/// A stacked, optionally bidirectional LSTM with `nn.LSTM`'s semantics and parameter layout
/// (gate order i, f, g, o).
///
/// Input `[seq, batch, input_size]` (`[batch, seq, input_size]` with `batch_first`); output
/// `[seq, batch, D * H]` (or `[batch, seq, D * H]`), `D` = 2 when bidirectional, else 1.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use zoo_models::nn::LstmConfig;
///
/// let device = Default::default();
/// // nn.LSTM(10, 20, num_layers=2, bidirectional=True)
/// let lstm = LstmConfig::new(10, 20)
///     .with_num_layers(2)
///     .with_bidirectional(true)
///     .init::<NdArray>(&device);
/// let input = Tensor::<NdArray, 3>::zeros([5, 3, 10], &device); // [seq, batch, input]
/// let (output, state) = lstm.forward(input.clone(), None);
/// assert_eq!(output.dims(), [5, 3, 40]); // [seq, batch, 2 * hidden]
/// assert_eq!(state.hidden.dims(), [4, 3, 20]); // [layers * 2, batch, hidden]
/// assert_eq!(state.cell.dims(), [4, 3, 20]);
/// // Padded sequences of 5, 2 and 4 steps, as pack_padded_sequence.
/// let (output, _) = lstm.forward_packed(input, &[5, 2, 4], None);
/// assert_eq!(output.dims(), [5, 3, 40]);
/// ```
#[derive(Module, Debug)]
pub struct Lstm<B: Backend> {
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

impl<B: Backend> Lstm<B> {
    /// Runs the LSTM from `state` (zeros when `None`); returns the last layer's outputs at every
    /// step and the final state of every layer and direction. Panics with the message of
    /// [`Lstm::try_forward`] on a wrongly shaped input or state.
    pub fn forward(
        &self,
        input: Tensor<B, 3>,
        state: Option<LstmState<B>>,
    ) -> (Tensor<B, 3>, LstmState<B>) {
        self.try_forward(input, state, None)
            .unwrap_or_else(|err| panic!("{err}"))
    }

    /// [`Lstm::forward`] for a batch of sequences of different lengths, padded to the longest, as
    /// `pack_padded_sequence` does it: `lengths[b]` real steps in sequence `b` (each in
    /// `1..=seq`). Padding never changes a result: each sequence's final state is taken at its own
    /// last step, the backward direction starts at its own last real step, and padded outputs
    /// are zero.
    pub fn forward_packed(
        &self,
        input: Tensor<B, 3>,
        lengths: &[usize],
        state: Option<LstmState<B>>,
    ) -> (Tensor<B, 3>, LstmState<B>) {
        self.try_forward(input, state, Some(lengths))
            .unwrap_or_else(|err| panic!("{err}"))
    }

    /// The final states of [`Lstm::forward_packed`] alone, for a caller that never reads the
    /// outputs (a character encoder): the last layer's two directions are not joined.
    pub fn final_state_packed(
        &self,
        input: Tensor<B, 3>,
        lengths: &[usize],
        state: Option<LstmState<B>>,
    ) -> LstmState<B> {
        self.run(input, state, Some(lengths), false)
            .unwrap_or_else(|err| panic!("{err}"))
            .1
    }

    /// [`Lstm::forward`] / [`Lstm::forward_packed`] that returns an error naming the expected
    /// and the given shapes, instead of panicking.
    pub fn try_forward(
        &self,
        input: Tensor<B, 3>,
        state: Option<LstmState<B>>,
        lengths: Option<&[usize]>,
    ) -> Result<(Tensor<B, 3>, LstmState<B>), RnnError> {
        let (output, state) = self.run(input, state, lengths, true)?;
        let output = output.unwrap_or_else(|| unreachable!("run keeps the output asked for"));
        Ok((output, state))
    }

    /// [`Lstm::try_forward`], the last layer's outputs kept only if `keep_output`.
    fn run(
        &self,
        input: Tensor<B, 3>,
        state: Option<LstmState<B>>,
        lengths: Option<&[usize]>,
        keep_output: bool,
    ) -> Result<(Option<Tensor<B, 3>>, LstmState<B>), RnnError> {
        let layout = SeqLayout {
            batch_first: self.batch_first,
            input_size: self.input_size,
        };
        let [seq, batch] = check_input("Lstm", &layout, &input.dims())?;
        let directions = if self.bidirectional { 2 } else { 1 };
        let shape = [self.num_layers * directions, batch, self.hidden_size];
        let device = input.device();
        let (hidden, cell) = match state {
            Some(LstmState { hidden, cell }) => (Some(hidden), Some(cell)),
            None => (None, None),
        };
        let h0 = initial_state("Lstm", "hidden", hidden, shape, &device)?;
        let c0 = initial_state("Lstm", "cell", cell, shape, &device)?;
        let mask = StepMask::new(lengths, seq, batch, &device)?;
        let hidden = self.hidden_size;
        let step = |gates: Tensor<B, 2>, [_, c]: [Tensor<B, 2>; 2], hidden_part: Tensor<B, 2>| {
            let gates = gates + hidden_part;
            let chunk = |k: usize| gates.clone().narrow(1, k * hidden, hidden);
            let (i, f) = (sigmoid(chunk(0)), sigmoid(chunk(1)));
            let (g, o) = (tanh(chunk(2)), sigmoid(chunk(3)));
            let c = f * c + i * g;
            let h = o * tanh(c.clone());
            [h, c]
        };
        let (output, [hidden, cell]) = run_layers(
            &self.layers,
            &self.dropout,
            input,
            self.batch_first,
            keep_output,
            [h0, c0],
            |weights, x, state, reverse| match super::fused::route::<B>(x.dtype()) {
                #[cfg(feature = "ndarray")]
                Some(super::fused::Route::Cpu { tracked }) => {
                    super::fused::cpu::lstm::layer(tracked, weights, x, state, reverse, lengths)
                }
                // The kernel runs sequences without padding; padded batches take the tensor path.
                #[cfg(all(any(feature = "wgpu", feature = "cuda"), not(test)))]
                Some(super::fused::Route::Gpu(served)) if lengths.is_none() => {
                    let [h0, c0] = state;
                    let (gates_x, w_hh) = (weights.input_gates(x, 4), weights.weight_hh.val());
                    let (out, h, c) =
                        super::fused::gpu::lstm::recurrence(served, gates_x, w_hh, h0, c0, reverse);
                    (out, [h, c])
                }
                _ => run_direction(weights, x, state, reverse, &mask, &step),
            },
        );
        Ok((output, LstmState { hidden, cell }))
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::{Distribution, Tolerance};

    use super::*;

    type B = NdArray;

    fn random<const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
    }

    fn close<const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) {
        a.into_data()
            .assert_approx_eq::<f32>(&b.into_data(), Tolerance::absolute(1e-5));
    }

    /// The final states alone are those of the whole packed run, on both paths.
    #[test]
    fn the_final_states_alone_are_the_packed_runs() {
        let lstm = LstmConfig::new(3, 4)
            .with_num_layers(2)
            .with_bidirectional(true)
            .with_batch_first(true)
            .init::<B>(&Default::default());
        let (input, lengths) = (random([3, 5, 3]), [5, 2, 4]);
        for fused in [true, false] {
            crate::nn::fused::with_fused(fused, || {
                let (_, whole) = lstm.forward_packed(input.clone(), &lengths, None);
                let alone = lstm.final_state_packed(input.clone(), &lengths, None);
                close(alone.hidden, whole.hidden);
                close(alone.cell, whole.cell);
            });
        }
    }

    #[test]
    fn shapes_and_parameter_layout_follow_pytorch() {
        let device = Default::default();
        let lstm = LstmConfig::new(10, 20)
            .with_num_layers(2)
            .with_bidirectional(true)
            .init::<B>(&device);
        // nn.LSTM(10, 20, 2, bidirectional=True): 4*20*(10+20) + 2*80 per direction of layer 0,
        // 4*20*(40+20) + 2*80 per direction of layer 1.
        assert_eq!(lstm.num_params(), 2 * (2400 + 160) + 2 * (4800 + 160));
        assert_eq!(lstm.layers[1].forward.weight_ih.dims(), [80, 40]);
        assert_eq!(
            lstm.layers[1].reverse.as_ref().unwrap().weight_hh.dims(),
            [80, 20]
        );
        let (output, state) = lstm.forward(random([5, 3, 10]), None);
        assert_eq!(output.dims(), [5, 3, 40]);
        assert_eq!(state.hidden.dims(), [4, 3, 20]);
        assert_eq!(state.cell.dims(), [4, 3, 20]);
    }

    #[test]
    fn batch_first_transposes_input_and_output_only() {
        let device = Default::default();
        let seq_first = LstmConfig::new(4, 6).init::<B>(&device);
        let x = random([7, 2, 4]);
        // Run first: Burn initializes parameters lazily, and a clone of an uninitialized one
        // draws its own values.
        let (a, sa) = seq_first.forward(x.clone(), None);
        let mut batch_first = seq_first.clone();
        batch_first.batch_first = true;
        let (b, sb) = batch_first.forward(x.swap_dims(0, 1), None);
        close(a, b.swap_dims(0, 1));
        close(sa.hidden, sb.hidden);
    }

    #[test]
    fn the_last_output_is_the_final_hidden_state_and_the_reverse_runs_backwards() {
        let device = Default::default();
        let bi = LstmConfig::new(3, 5)
            .with_bidirectional(true)
            .init::<B>(&device);
        let x = random([6, 2, 3]);
        let (out, state) = bi.forward(x.clone(), None);
        let forward_last = out.clone().slice(s![5, .., 0..5]).squeeze_dim::<2>(0);
        close(
            forward_last,
            state.hidden.clone().slice(s![0]).squeeze_dim::<2>(0),
        );
        let backward_first = out.clone().slice(s![0, .., 5..10]).squeeze_dim::<2>(0);
        close(
            backward_first,
            state.hidden.slice(s![1]).squeeze_dim::<2>(0),
        );

        // The backward direction is a forward LSTM with the reverse weights over the flipped input.
        let mut uni = LstmConfig::new(3, 5).init::<B>(&device);
        uni.layers[0].forward = bi.layers[0].reverse.clone().unwrap();
        let (flipped_out, _) = uni.forward(x.flip([0]), None);
        close(out.slice(s![.., .., 5..10]), flipped_out.flip([0]));
    }

    #[test]
    fn padding_never_changes_a_result() {
        let device = Default::default();
        let lstm = LstmConfig::new(3, 4)
            .with_num_layers(2)
            .with_bidirectional(true)
            .with_batch_first(true)
            .init::<B>(&device);
        let long = random([1, 6, 3]);
        let short = random([1, 4, 3]);
        let padded = Tensor::cat(
            vec![
                long.clone(),
                Tensor::cat(vec![short.clone(), random([1, 2, 3])], 1),
            ],
            0,
        );
        let (out, state) = lstm.forward_packed(padded, &[6, 4], None);
        let (out_long, state_long) = lstm.forward(long, None);
        let (out_short, state_short) = lstm.forward(short, None);
        close(out.clone().slice(s![0..1]), out_long);
        close(out.clone().slice(s![1..2, 0..4]), out_short);
        close(out.slice(s![1..2, 4..6]), Tensor::zeros([1, 2, 8], &device));
        for (packed, alone, b) in [(&state, &state_long, 0), (&state, &state_short, 1)] {
            close(
                packed.hidden.clone().slice(s![.., b..b + 1]),
                alone.hidden.clone(),
            );
            close(
                packed.cell.clone().slice(s![.., b..b + 1]),
                alone.cell.clone(),
            );
        }
    }

    #[test]
    fn a_given_state_is_where_the_sequence_continues() {
        let device = Default::default();
        let lstm = LstmConfig::new(2, 3).with_num_layers(2).init::<B>(&device);
        let x = random([8, 2, 2]);
        let (whole, _) = lstm.forward(x.clone(), None);
        let (_, middle) = lstm.forward(x.clone().slice(s![0..5]), None);
        let (rest, _) = lstm.forward(x.slice(s![5..8]), Some(middle));
        close(whole.slice(s![5..8]), rest);
    }

    #[test]
    fn wrong_shapes_are_explained() {
        let device = Default::default();
        let lstm = LstmConfig::new(28, 16)
            .with_num_layers(2)
            .init::<B>(&device);
        let err = lstm
            .try_forward(random([64, 3, 10]), None, None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Lstm: expected input of shape [seq, batch, 28], got [64, 3, 10]: the layer was built \
             with input_size 28, the input has 10 features"
        );
        let err = lstm
            .try_forward(random([4, 28, 3]), None, None)
            .unwrap_err();
        assert!(err.to_string().contains("permute the input"), "{err}");

        let stale = LstmState {
            hidden: random([2, 100, 16]),
            cell: random([2, 100, 16]),
        };
        let err = lstm
            .try_forward(random([28, 36, 28]), Some(stale), None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Lstm: the initial hidden state must be [num_layers * num_directions, batch, hidden] = \
             [2, 36, 16] for this input, got [2, 100, 16]: it was made for a batch of 100, the \
             input has 36 (the last batch of an epoch is often smaller; build the state from the \
             input's batch size)"
        );
        let err = lstm
            .try_forward(random([5, 2, 28]), None, Some(&[5, 6]))
            .unwrap_err();
        assert!(err.to_string().contains("sequence 1 has length 6"), "{err}");
        let err = lstm
            .try_forward(random([5, 2, 28]), None, Some(&[5]))
            .unwrap_err();
        assert!(
            err.to_string().contains("1 lengths for a batch of 2"),
            "{err}"
        );
    }
}
