//! Global gradient-norm clipping, PyTorch's `clip_grad_norm_`: all gradients are rescaled by one
//! factor so that their joint L2 norm is at most `max_norm`. (Burn's optimizer clipping scales each
//! parameter's gradient on its own, which is not what a PyTorch user asks for.)

use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

/// Rescales `grads` in place so that their global L2 norm is at most `max_norm`.
pub fn clip_global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f32,
) {
    let mut norm = SquaredNorm::<B> { grads, total: None };
    module.visit(&mut norm);
    let Some(total) = norm.total else {
        return;
    };
    let total: f32 = total.sqrt().into_scalar().elem();
    let scale = max_norm / (total + 1e-6);
    if scale < 1.0 {
        scale_gradients::<B, M>(module, grads, scale);
    }
}

/// Multiplies every gradient of `module`'s parameters in `grads` by `factor`.
pub(crate) fn scale_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &mut GradientsParams,
    factor: f32,
) {
    module.visit(&mut Scale::<B> {
        grads,
        scale: factor,
        _backend: std::marker::PhantomData,
    });
}

struct SquaredNorm<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    total: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNorm<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let squares = grad.square().sum();
            self.total = Some(match self.total.take() {
                Some(total) => total + squares,
                None => squares,
            });
        }
    }
}

struct Scale<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    scale: f32,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> Scale<'_, B> {
    fn rescale<const D: usize>(&mut self, id: ParamId) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(id) {
            self.grads.register(id, grad.mul_scalar(self.scale));
        }
    }
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.rescale::<D>(param.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::nn::{Linear, LinearConfig};

    type B = Autodiff<NdArray>;

    fn grads_of(model: &Linear<B>, scale: f32) -> GradientsParams {
        let device = Default::default();
        let x = Tensor::<B, 2>::ones([4, 3], &device);
        let loss = model.forward(x).sum().mul_scalar(scale);
        GradientsParams::from_grads(loss.backward(), model)
    }

    fn global_norm(model: &Linear<B>, grads: &GradientsParams) -> f32 {
        let mut norm = SquaredNorm::<B> { grads, total: None };
        model.visit(&mut norm);
        norm.total.unwrap().sqrt().into_scalar()
    }

    #[test]
    fn rescales_all_gradients_jointly_to_the_limit() {
        let model = LinearConfig::new(3, 2).init::<B>(&Default::default());
        let mut grads = grads_of(&model, 10.0);
        let before_weight = grads.get::<NdArray, 2>(model.weight.id).unwrap();
        let before = global_norm(&model, &grads);
        assert!(before > 1.0);
        clip_global_norm(&model, &mut grads, 1.0);
        assert!((global_norm(&model, &grads) - 1.0).abs() < 1e-4);
        // One factor for every parameter: directions are kept.
        let after_weight = grads.get::<NdArray, 2>(model.weight.id).unwrap();
        let ratio = after_weight
            .div(before_weight)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        for r in ratio {
            assert!(
                (r - 1.0 / before).abs() < 1e-4 * (1.0 / before),
                "ratio {r}"
            );
        }
    }

    #[test]
    fn leaves_small_gradients_alone() {
        let model = LinearConfig::new(3, 2).init::<B>(&Default::default());
        let mut grads = grads_of(&model, 0.001);
        let before = global_norm(&model, &grads);
        clip_global_norm(&model, &mut grads, 1.0);
        assert_eq!(global_norm(&model, &grads), before);
    }
}
