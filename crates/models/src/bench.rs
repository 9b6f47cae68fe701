//! The training steps that `cargo bench -p zoo-models` and `zoo bench` (`cargo xtask bench`) time,
//! with the shapes and optimizers of the seeds, so that every figure is measured on the same work
//! as `tools/torch_bench.py` does it in PyTorch.
//!
//! One step is what a training loop does per batch: forward, cross-entropy, backward, optimizer
//! update, and reading the loss back (which waits for an asynchronous backend, as PyTorch's
//! `loss.item()` does). Inputs are random and fixed, so only the arithmetic is timed.
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use zoo_models::bench::{Case, Stepper};
//!
//! let mut step = Stepper::<Autodiff<NdArray>>::new(Case::MnistCnn, &Default::default());
//! let loss = step.step();
//! assert!(loss.is_finite());
//! ```

use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Distribution;

use crate::{MnistCnn, MnistCnnConfig, MnistLstm, MnistLstmConfig};

/// Tells glibc's allocator to keep freed memory for reuse instead of handing every large buffer
/// back to the kernel (its default for blocks over 128 KiB, adapted upward only slowly).
///
/// A training step allocates and frees the same large buffers every time; with the default, each
/// comes back as fresh pages (page faults, zeroing, TLB shootdowns across rayon's threads), which
/// measured 25–30% of a CPU training step of the MNIST models here. Call it first thing in
/// `main`, before threads start; `zoo` and `cargo bench -p zoo-models` do. A no-op off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two thresholds of glibc's allocator; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// A benchmark case: a model of the zoo (or Burn's own LSTM, for comparison) with its seed's
/// batch size and optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Seed 001's MNIST-LSTM: 2 × [`crate::nn::Lstm`] 128, batch 100, Adam lr 0.01.
    MnistLstm,
    /// [`Case::MnistLstm`] with the fused CPU recurrence switched off
    /// ([`crate::nn::without_fused_lstm`]): the LSTM as plain tensor operations.
    MnistLstmTensorOps,
    /// The same network built from Burn 0.21's stock `burn::nn::Lstm` (two stacked layers).
    BurnLstm,
    /// Seed 000's MNIST CNN ([`MnistCnn`]), batch 64, SGD lr 0.01 momentum 0.5.
    MnistCnn,
}

impl Case {
    /// Every case, in the order the reports list them.
    pub const ALL: [Case; 4] = [
        Case::MnistLstm,
        Case::MnistLstmTensorOps,
        Case::BurnLstm,
        Case::MnistCnn,
    ];

    /// The name reports use; the PyTorch script names its cases `mnist-lstm` and `mnist-cnn`.
    pub fn name(self) -> &'static str {
        match self {
            Case::MnistLstm => "mnist-lstm",
            Case::MnistLstmTensorOps => "mnist-lstm/tensor-ops",
            Case::BurnLstm => "mnist-lstm/burn-nn-lstm",
            Case::MnistCnn => "mnist-cnn",
        }
    }

    /// The PyTorch case the ratio is taken against.
    pub fn torch_case(self) -> &'static str {
        match self {
            Case::MnistCnn => "mnist-cnn",
            _ => "mnist-lstm",
        }
    }

    /// Images per step.
    pub fn batch_size(self) -> usize {
        match self {
            Case::MnistCnn => 64,
            _ => 100,
        }
    }

    /// The case named `name`, as [`Case::name`] gives it.
    pub fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// The seed-001 network on Burn's stock LSTM: `burn::nn::Lstm` 28 → 128, a second one
/// 128 → 128, and `Linear(128, 10)` on the last step.
#[derive(Module, Debug)]
pub struct BurnLstmNet<B: Backend> {
    layers: Vec<burn::nn::Lstm<B>>,
    fc: Linear<B>,
}

impl<B: Backend> BurnLstmNet<B> {
    /// Two layers of 128 hidden units over 28 features, 10 classes.
    pub fn new(device: &B::Device) -> Self {
        Self {
            layers: vec![
                burn::nn::LstmConfig::new(28, 128, true).init(device),
                burn::nn::LstmConfig::new(128, 128, true).init(device),
            ],
            fc: LinearConfig::new(128, 10).init(device),
        }
    }

    /// `images [batch, 28, 28]` → logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<B, 3>) -> Tensor<B, 2> {
        let [batch, seq, _] = images.dims();
        let x = self
            .layers
            .iter()
            .fold(images, |x, lstm| lstm.forward(x, None).0);
        let last = x.slice(s![.., seq - 1]).reshape([batch, 128]);
        self.fc.forward(last)
    }
}

/// A model, its optimizer and one fixed batch, ready to take training steps.
pub struct Stepper<B: AutodiffBackend> {
    case: Case,
    step: Box<dyn FnMut() -> f32>,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> Stepper<B> {
    /// Builds `case` on `device` with freshly initialized weights and a random batch.
    pub fn new(case: Case, device: &B::Device) -> Self {
        B::seed(device, 1);
        let batch = case.batch_size();
        let images =
            Tensor::<B, 3>::random([batch, 28, 28], Distribution::Normal(0.0, 1.0), device);
        let labels = Tensor::<B, 1>::random([batch], Distribution::Uniform(0.0, 10.0), device)
            .int()
            .clamp(0, 9);
        let step: Box<dyn FnMut() -> f32> = match case {
            Case::MnistLstm | Case::MnistLstmTensorOps => {
                let fused = case == Case::MnistLstm;
                let model = MnistLstmConfig::new().init::<B>(device);
                let mut step = stepper(
                    model,
                    AdamConfig::new().init(),
                    0.01,
                    images,
                    labels,
                    MnistLstm::forward,
                );
                Box::new(move || {
                    if fused {
                        step()
                    } else {
                        without_fused(&mut step)
                    }
                })
            }
            Case::BurnLstm => Box::new(stepper(
                BurnLstmNet::<B>::new(device),
                AdamConfig::new().init(),
                0.01,
                images,
                labels,
                BurnLstmNet::forward,
            )),
            Case::MnistCnn => Box::new(stepper(
                MnistCnnConfig::new().init::<B>(device),
                SgdConfig::new()
                    .with_momentum(Some(burn::optim::momentum::MomentumConfig {
                        momentum: 0.5,
                        dampening: 0.0,
                        nesterov: false,
                    }))
                    .init(),
                0.01,
                images.unsqueeze_dim(1),
                labels,
                MnistCnn::forward,
            )),
        };
        Self {
            case,
            step,
            _backend: std::marker::PhantomData,
        }
    }

    /// The case this stepper runs.
    pub fn case(&self) -> Case {
        self.case
    }

    /// One training step; returns the step's loss.
    pub fn step(&mut self) -> f32 {
        (self.step)()
    }
}

#[cfg(feature = "ndarray")]
fn without_fused(step: &mut impl FnMut() -> f32) -> f32 {
    crate::nn::without_fused_lstm(step)
}

#[cfg(not(feature = "ndarray"))]
fn without_fused(step: &mut impl FnMut() -> f32) -> f32 {
    step()
}

fn stepper<B, M, O, const D: usize>(
    model: M,
    mut optim: O,
    lr: f64,
    images: Tensor<B, D>,
    labels: Tensor<B, 1, Int>,
    forward: fn(&M, Tensor<B, D>) -> Tensor<B, 2>,
) -> impl FnMut() -> f32 + 'static
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + 'static,
    O: Optimizer<M, B> + 'static,
{
    let loss_fn = CrossEntropyLossConfig::new().init(&images.device());
    let mut model = Some(model);
    move || {
        let current = model
            .take()
            .expect("the model is put back after every step");
        let logits = forward(&current, images.clone());
        let loss = loss_fn.forward(logits, labels.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &current);
        model = Some(optim.step(lr, current, grads));
        loss.into_scalar().elem::<f32>()
    }
}
