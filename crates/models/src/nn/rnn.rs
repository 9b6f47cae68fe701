//! What [`super::Lstm`] and [`super::Gru`] share: PyTorch's weight layout, shape checks and their
//! errors, the step mask of padded batches, and the loops over layers and time.

use std::fmt;

use burn::module::{Initializer, Param};
use burn::nn::Dropout;
use burn::prelude::*;

/// A wrongly shaped input, state or lengths list given to a recurrent layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RnnError {
    /// The input's feature axis does not match the layer's `input_size`.
    InputShape {
        /// `"Lstm"` or `"Gru"`.
        layer: &'static str,
        /// What the layer expects, e.g. `[seq, batch, 28]`.
        expected: String,
        /// What it was given.
        got: [usize; 3],
        /// How to fix it.
        hint: String,
    },
    /// An initial state is not `[num_layers * num_directions, batch, hidden]`.
    StateShape {
        /// `"Lstm"` or `"Gru"`.
        layer: &'static str,
        /// `"hidden"` or `"cell"`.
        which: &'static str,
        /// The shape it must have for this input.
        expected: [usize; 3],
        /// What it was given.
        got: [usize; 3],
    },
    /// The sequence lengths of a padded batch do not fit it.
    Lengths(String),
}

impl fmt::Display for RnnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RnnError::InputShape {
                layer,
                expected,
                got,
                hint,
            } => write!(
                f,
                "{layer}: expected input of shape {expected}, got {got:?}: {hint}"
            ),
            RnnError::StateShape {
                layer,
                which,
                expected,
                got,
            } => {
                write!(
                    f,
                    "{layer}: the initial {which} state must be [num_layers * num_directions, \
                     batch, hidden] = {expected:?} for this input, got {got:?}"
                )?;
                if got[0] == expected[0] && got[2] == expected[2] {
                    write!(
                        f,
                        ": it was made for a batch of {}, the input has {} (the last batch of an \
                         epoch is often smaller; build the state from the input's batch size)",
                        got[1], expected[1]
                    )
                } else if got[1] == expected[0] && got[0] == expected[1] {
                    write!(f, ": the layer and batch axes are swapped")
                } else {
                    Ok(())
                }
            }
            RnnError::Lengths(reason) => write!(f, "sequence lengths: {reason}"),
        }
    }
}

impl std::error::Error for RnnError {}

/// Where the axes of a recurrent layer's input are.
pub(crate) struct SeqLayout {
    pub batch_first: bool,
    pub input_size: usize,
}

/// Checks an input's feature axis and returns `[seq, batch]`.
pub(crate) fn check_input(
    layer: &'static str,
    layout: &SeqLayout,
    dims: &[usize; 3],
) -> Result<[usize; 2], RnnError> {
    let [a, b, features] = *dims;
    let (seq, batch) = if layout.batch_first { (b, a) } else { (a, b) };
    let n = layout.input_size;
    if features == n && seq > 0 && batch > 0 {
        return Ok([seq, batch]);
    }
    let expected = if layout.batch_first {
        format!("[batch, seq, {n}]")
    } else {
        format!("[seq, batch, {n}]")
    };
    let hint = if features != n && (a == n || b == n) {
        "the features must be on the last axis; permute the input (see also batch_first)"
            .to_string()
    } else if features != n {
        format!("the layer was built with input_size {n}, the input has {features} features")
    } else {
        "the sequence and the batch must not be empty".to_string()
    };
    Err(RnnError::InputShape {
        layer,
        expected,
        got: *dims,
        hint,
    })
}

/// Checks an initial state against the shape this input needs.
pub(crate) fn check_state(
    layer: &'static str,
    which: &'static str,
    expected: &[usize; 3],
    got: &[usize; 3],
) -> Result<(), RnnError> {
    if expected == got {
        Ok(())
    } else {
        Err(RnnError::StateShape {
            layer,
            which,
            expected: *expected,
            got: *got,
        })
    }
}

/// For a padded batch, which steps of which sequences are real: `[seq, batch, 1]`, 1 or 0.
pub(crate) struct StepMask<B: Backend> {
    mask: Option<Tensor<B, 3>>,
}

impl<B: Backend> StepMask<B> {
    pub(crate) fn new(
        lengths: Option<&[usize]>,
        seq: usize,
        batch: usize,
        device: &B::Device,
    ) -> Result<Self, RnnError> {
        let Some(lengths) = lengths else {
            return Ok(Self { mask: None });
        };
        if lengths.len() != batch {
            return Err(RnnError::Lengths(format!(
                "{} lengths for a batch of {batch} sequences; give one length per sequence",
                lengths.len()
            )));
        }
        if let Some((b, &len)) = lengths
            .iter()
            .enumerate()
            .find(|&(_, &len)| len == 0 || len > seq)
        {
            return Err(RnnError::Lengths(format!(
                "sequence {b} has length {len}; each length must be in 1..={seq} (the padded \
                 sequence length)"
            )));
        }
        let values: Vec<f32> = (0..seq)
            .flat_map(|t| {
                lengths
                    .iter()
                    .map(move |&len| if t < len { 1.0 } else { 0.0 })
            })
            .collect();
        let mask = Tensor::<B, 1>::from_floats(values.as_slice(), device).reshape([seq, batch, 1]);
        Ok(Self { mask: Some(mask) })
    }

    /// `[batch, 1]` for step `t`, or `None` when every step is real.
    fn at(&self, t: usize) -> Option<Tensor<B, 2>> {
        self.mask
            .as_ref()
            .map(|m| m.clone().slice(s![t]).squeeze_dim(0))
    }
}

/// PyTorch's RNN initialization: U(−1/√H, 1/√H) for every weight and bias.
fn uniform_init(hidden_size: usize) -> Initializer {
    let bound = 1.0 / (hidden_size as f64).sqrt();
    Initializer::Uniform {
        min: -bound,
        max: bound,
    }
}

/// The weights of one layer in one direction, laid out as PyTorch's `weight_ih_l{k}`,
/// `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` (gates stacked along the first axis).
#[derive(Module, Debug)]
pub struct GateWeights<B: Backend> {
    /// `[gates * H, input]`.
    pub weight_ih: Param<Tensor<B, 2>>,
    /// `[gates * H, H]`.
    pub weight_hh: Param<Tensor<B, 2>>,
    /// `[gates * H]`, absent when the layer has no bias.
    pub bias_ih: Option<Param<Tensor<B, 1>>>,
    /// `[gates * H]`, absent when the layer has no bias.
    pub bias_hh: Option<Param<Tensor<B, 1>>>,
}

impl<B: Backend> GateWeights<B> {
    pub(crate) fn new(
        input: usize,
        hidden: usize,
        gates: usize,
        bias: bool,
        init: &Initializer,
        device: &B::Device,
    ) -> Self {
        let rows = gates * hidden;
        let fan = Some(hidden);
        Self {
            weight_ih: init.init_with([rows, input], fan, fan, device),
            weight_hh: init.init_with([rows, hidden], fan, fan, device),
            bias_ih: bias.then(|| init.init_with([rows], fan, fan, device)),
            bias_hh: bias.then(|| init.init_with([rows], fan, fan, device)),
        }
    }

    /// `b_hh` as the input part of the gates takes it: its first `hh_gates` gates (the LSTM's
    /// four, the GRU's r and z: its `b_hn` goes inside the reset product), zero past them; `None`
    /// without biases.
    #[cfg(any(
        feature = "ndarray",
        all(any(feature = "wgpu", feature = "cuda"), not(test))
    ))]
    pub(crate) fn folded_bias_hh(&self, hh_gates: usize) -> Option<Tensor<B, 1>> {
        let b = self.bias_hh.as_ref()?.val();
        let out = b.dims()[0];
        let gates = out / self.weight_hh.dims()[1].max(1);
        if hh_gates >= gates {
            return Some(b);
        }
        let kept = out / gates * hh_gates;
        let device = b.device();
        Some(Tensor::cat(
            vec![b.narrow(0, 0, kept), Tensor::zeros([out - kept], &device)],
            0,
        ))
    }

    /// `x_t · W_ihᵀ + b_ih + b_hh` for every step, `[T, B, gates·H]` from `x` `[T, B, input]`,
    /// `b_hh` as [`Self::folded_bias_hh`] gives it: one matrix product over all steps, as tensor
    /// operations, for the GPU kernels (the CPU recurrences have their own operation for it).
    #[cfg(all(any(feature = "wgpu", feature = "cuda"), not(test)))]
    pub(crate) fn input_gates(&self, x: Tensor<B, 3>, hh_gates: usize) -> Tensor<B, 3> {
        let [seq, batch, features] = x.dims();
        let gates_x = self.input_part(x.reshape([seq * batch, features]));
        let gates_x = match self.folded_bias_hh(hh_gates) {
            Some(b) => gates_x + b.unsqueeze(),
            None => gates_x,
        };
        let gates = gates_x.dims()[1];
        gates_x.reshape([seq, batch, gates])
    }

    /// `x [rows, input]` → `x · W_ihᵀ + b_ih` `[rows, gates * H]`.
    pub(crate) fn input_part(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let out = x.matmul(self.weight_ih.val().transpose());
        match &self.bias_ih {
            Some(b) => out + b.val().unsqueeze(),
            None => out,
        }
    }

    /// `h [batch, H]` → `h · W_hhᵀ + b_hh` `[batch, gates * H]`.
    pub(crate) fn hidden_part(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        let out = h.matmul(self.weight_hh.val().transpose());
        match &self.bias_hh {
            Some(b) => out + b.val().unsqueeze(),
            None => out,
        }
    }
}

/// One layer of a recurrent net: the weights of its forward direction and, when bidirectional,
/// of its backward one.
#[derive(Module, Debug)]
pub struct RnnLayer<B: Backend> {
    /// Reads the sequence first to last (PyTorch's `*_l{k}`).
    pub forward: GateWeights<B>,
    /// Reads it last to first (PyTorch's `*_l{k}_reverse`); `None` unless bidirectional.
    pub reverse: Option<GateWeights<B>>,
}

/// The layers of a stacked recurrent net with `gates` gates per unit, each weight and bias drawn
/// from PyTorch's U(−1/√H, 1/√H); layer `k > 0` reads the `D * hidden` outputs of layer `k - 1`.
pub(crate) fn init_layers<B: Backend>(
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
    bidirectional: bool,
    bias: bool,
    gates: usize,
    device: &B::Device,
) -> Vec<RnnLayer<B>> {
    let directions = if bidirectional { 2 } else { 1 };
    let init = uniform_init(hidden_size);
    (0..num_layers)
        .map(|layer| {
            let input = if layer == 0 {
                input_size
            } else {
                hidden_size * directions
            };
            let weights = || GateWeights::new(input, hidden_size, gates, bias, &init, device);
            RnnLayer {
                forward: weights(),
                reverse: bidirectional.then(weights),
            }
        })
        .collect()
}

/// The initial state `which` of a recurrent layer: `given`, checked against `shape`, or zeros.
pub(crate) fn initial_state<B: Backend>(
    layer: &'static str,
    which: &'static str,
    given: Option<Tensor<B, 3>>,
    shape: [usize; 3],
    device: &B::Device,
) -> Result<Tensor<B, 3>, RnnError> {
    match given {
        Some(state) => {
            check_state(layer, which, &shape, &state.dims())?;
            Ok(state)
        }
        None => Ok(Tensor::zeros(shape, device)),
    }
}

/// Runs every layer and direction of a stack over `input` (already checked; `[batch, seq, in]`
/// when `batch_first`, else `[seq, batch, in]`) from `initial` (each `[layers * D, batch, H]`,
/// `h` first), with `dropout` between layers; `direction(weights, x, state, reverse)` runs one
/// direction of one layer over `x [seq, batch, in]` (usually [`run_direction`]). Returns the last
/// layer's outputs in the input's layout (`None` unless `keep_output`: a caller that reads only
/// the final states spares joining the last layer's two directions) and the final states,
/// stacked like `initial`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_layers<B: Backend, const N: usize>(
    layers: &[RnnLayer<B>],
    dropout: &Dropout,
    input: Tensor<B, 3>,
    batch_first: bool,
    keep_output: bool,
    initial: [Tensor<B, 3>; N],
    direction: impl Fn(
        &GateWeights<B>,
        Tensor<B, 3>,
        [Tensor<B, 2>; N],
        bool,
    ) -> (Tensor<B, 3>, [Tensor<B, 2>; N]),
) -> (Option<Tensor<B, 3>>, [Tensor<B, 3>; N]) {
    // Work in [seq, batch, features].
    let mut x = if batch_first {
        input.swap_dims(0, 1)
    } else {
        input
    };
    let mut finals: [Vec<Tensor<B, 2>>; N] = std::array::from_fn(|_| Vec::new());
    let mut index = 0;
    for (k, layer) in layers.iter().enumerate() {
        if k > 0 {
            x = dropout.forward(x);
        }
        let mut outputs = Vec::with_capacity(2);
        for (weights, reverse) in std::iter::once((&layer.forward, false))
            .chain(layer.reverse.as_ref().map(|w| (w, true)))
        {
            let state =
                std::array::from_fn(|s| initial[s].clone().slice(s![index]).squeeze_dim::<2>(0));
            let (out, state) = direction(weights, x.clone(), state, reverse);
            outputs.push(out);
            for (all, last) in finals.iter_mut().zip(state) {
                all.push(last);
            }
            index += 1;
        }
        // One direction's output is the layer's as it is (`cat` would copy it).
        let read = keep_output || k + 1 < layers.len();
        x = match <[Tensor<B, 3>; 2]>::try_from(outputs) {
            Ok(both) if read => super::cat_last(both),
            Ok([forward, _]) => forward,
            Err(mut one) => one.remove(0),
        };
    }
    let output = keep_output.then(|| if batch_first { x.swap_dims(0, 1) } else { x });
    (output, finals.map(|all| Tensor::stack(all, 0)))
}

/// Runs one direction of one layer over `x [seq, batch, in]` from `state` (whose first entry is
/// `h`); `step(input_part, state, hidden_part)` gives the next state, where `input_part = x_t ·
/// W_ihᵀ + b_ih` (all steps computed in one product up front) and `hidden_part = h · W_hhᵀ +
/// b_hh`. Returns the outputs `h_t` `[seq, batch, H]` (zero at padded steps) and the final state.
pub(crate) fn run_direction<B: Backend, const N: usize>(
    weights: &GateWeights<B>,
    x: Tensor<B, 3>,
    mut state: [Tensor<B, 2>; N],
    reverse: bool,
    mask: &StepMask<B>,
    step: &impl Fn(Tensor<B, 2>, [Tensor<B, 2>; N], Tensor<B, 2>) -> [Tensor<B, 2>; N],
) -> (Tensor<B, 3>, [Tensor<B, 2>; N]) {
    let [seq, batch, features] = x.dims();
    let input_part = weights.input_part(x.reshape([seq * batch, features]));
    let gates = input_part.dims()[1];
    let input_part = input_part.reshape([seq, batch, gates]);

    let mut outputs: Vec<Option<Tensor<B, 2>>> = vec![None; seq];
    let order: Box<dyn Iterator<Item = usize>> = if reverse {
        Box::new((0..seq).rev())
    } else {
        Box::new(0..seq)
    };
    for t in order {
        let x_t = input_part.clone().slice(s![t]).squeeze_dim(0);
        let hidden_part = weights.hidden_part(state[0].clone());
        let next = step(x_t, state.clone(), hidden_part);
        match mask.at(t) {
            None => {
                outputs[t] = Some(next[0].clone());
                state = next;
            }
            Some(m) => {
                let keep = m.clone().neg() + 1.0;
                outputs[t] = Some(next[0].clone() * m.clone());
                state = std::array::from_fn(|k| {
                    next[k].clone() * m.clone() + state[k].clone() * keep.clone()
                });
            }
        }
    }
    let outputs: Vec<Tensor<B, 2>> = outputs.into_iter().flatten().collect();
    (Tensor::stack(outputs, 0), state)
}
