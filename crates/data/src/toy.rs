//! The synthetic sets of Morvan's PyTorch tutorial, generated from a seed so every run sees the same points.
//!
//! - Regression: `x` on `[-1, 1]`, `y = x² + 0.2·U[0, 1)` (the seed's `x.pow(2) + 0.2*torch.rand`).
//! - Classification: two Gaussian clusters, `N((2, 2), I)` labelled 0 and `N((-2, -2), I)` labelled 1.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::batch::class_tensor;
use crate::{ClassificationBatch, RegressionBatch};

/// One point of the regression curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// The input, in `[-1, 1]`.
    pub x: f32,
    /// The noisy target `x² + 0.2·u`.
    pub y: f32,
}

/// One labelled point of the two-cluster set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterPoint {
    /// The coordinates.
    pub xy: [f32; 2],
    /// The cluster, 0 (around (2, 2)) or 1 (around (−2, −2)).
    pub label: u8,
}

/// The seed's training curve: `n` evenly spaced `x` on `[-1, 1]` (like `torch.linspace`), noisy `y`.
pub fn curve_on_grid(n: usize, seed: u64) -> Vec<CurvePoint> {
    let mut rng = StdRng::seed_from_u64(seed);
    let step = if n > 1 { 2.0 / (n - 1) as f32 } else { 0.0 };
    (0..n)
        .map(|i| noisy_square(-1.0 + step * i as f32, &mut rng))
        .collect()
}

/// `n` points with `x` drawn uniformly from `[-1, 1]`: held-out data for the same curve.
pub fn curve_sampled(n: usize, seed: u64) -> Vec<CurvePoint> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let x = rng.random_range(-1.0..=1.0);
            noisy_square(x, &mut rng)
        })
        .collect()
}

fn noisy_square(x: f32, rng: &mut StdRng) -> CurvePoint {
    CurvePoint {
        x,
        y: x * x + 0.2 * rng.random::<f32>(),
    }
}

/// `per_class` points around (2, 2) labelled 0, then `per_class` around (−2, −2) labelled 1.
pub fn two_clusters(per_class: usize, seed: u64) -> Vec<ClusterPoint> {
    let mut rng = StdRng::seed_from_u64(seed);
    let unit = Normal::new(0.0f32, 1.0).expect("unit normal");
    [(2.0f32, 0u8), (-2.0, 1)]
        .into_iter()
        .flat_map(|(centre, label)| std::iter::repeat_n((centre, label), per_class))
        .map(|(centre, label)| ClusterPoint {
            xy: [
                centre + unit.sample(&mut rng),
                centre + unit.sample(&mut rng),
            ],
            label,
        })
        .collect()
}

/// Batches curve points into `inputs [B, 1]`, `targets [B, 1]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CurveBatcher;

impl<B: Backend> Batcher<B, CurvePoint, RegressionBatch<B>> for CurveBatcher {
    fn batch(&self, items: Vec<CurvePoint>, device: &B::Device) -> RegressionBatch<B> {
        let n = items.len();
        let xs = items.iter().map(|p| p.x).collect::<Vec<_>>();
        let ys = items.iter().map(|p| p.y).collect::<Vec<_>>();
        RegressionBatch {
            inputs: Tensor::from_data(TensorData::new(xs, [n, 1]), device),
            targets: Tensor::from_data(TensorData::new(ys, [n, 1]), device),
        }
    }
}

/// Batches cluster points into `inputs [B, 2]`, `targets Int [B]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterBatcher;

impl<B: Backend> Batcher<B, ClusterPoint, ClassificationBatch<B, 2>> for ClusterBatcher {
    fn batch(&self, items: Vec<ClusterPoint>, device: &B::Device) -> ClassificationBatch<B, 2> {
        let n = items.len();
        let coords = items.iter().flat_map(|p| p.xy).collect::<Vec<_>>();
        let labels = items.iter().map(|p| i64::from(p.label)).collect();
        ClassificationBatch {
            inputs: Tensor::from_data(TensorData::new(coords, [n, 2]), device),
            targets: class_tensor(labels, device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_spans_the_interval_with_bounded_noise() {
        let points = curve_on_grid(100, 1);
        assert_eq!(points.first().map(|p| p.x), Some(-1.0));
        assert!((points[99].x - 1.0).abs() < 1e-6);
        for p in &points {
            let noise = p.y - p.x * p.x;
            assert!((0.0..0.2).contains(&noise), "noise {noise} at x = {}", p.x);
        }
    }

    #[test]
    fn same_seed_same_points_other_seed_other_points() {
        assert_eq!(two_clusters(50, 7), two_clusters(50, 7));
        assert_ne!(two_clusters(50, 7), two_clusters(50, 8));
        assert_eq!(curve_sampled(20, 3), curve_sampled(20, 3));
    }

    #[test]
    fn clusters_sit_around_their_centres() {
        let points = two_clusters(500, 0);
        for (label, centre) in [(0u8, 2.0f32), (1, -2.0)] {
            let xs: Vec<f32> = points
                .iter()
                .filter(|p| p.label == label)
                .map(|p| p.xy[0])
                .collect();
            let mean = xs.iter().sum::<f32>() / xs.len() as f32;
            assert_eq!(xs.len(), 500);
            assert!((mean - centre).abs() < 0.2, "class {label} mean {mean}");
        }
    }
}
