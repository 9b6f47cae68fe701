//! `[data]` of Morvan's PyTorch tutorial's toys: generated points, drawn from the run's seed, and the pictures of
//! what the trained nets learned (the fitted curve, the decision regions).

use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::Backend;
use serde::{Deserialize, Serialize};
use zoo_data::toy::{
    curve_on_grid, curve_sampled, two_clusters, ClusterBatcher, ClusterPoint, CurveBatcher,
    CurvePoint,
};
use zoo_data::{ClassificationBatch, RegressionBatch};
use zoo_models::InvalidConfig;

use super::{
    Batches, DataFlags, DataSource, LoadContext, Picture, PredictFlags, PredictInputs, Probe,
    Reads, SharedItems, Splits,
};
use crate::config::ConfigError;
use crate::task::{Answer, Classification, Regression};

/// Points of the fitted curve drawn in `fit.png`.
const CURVE_POINTS: usize = 200;
/// Cells per side of the classification toy's decision-region grid.
const REGION_RESOLUTION: usize = 160;
/// The cluster names, by label.
const CLUSTERS: [&str; 2] = ["(2, 2)", "(-2, -2)"];

/// How many points to generate, shared by both toys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Points {
    /// Training points (per cluster for the classification toy).
    pub train_points: usize,
    /// Held-out points (per cluster for the classification toy).
    pub test_points: usize,
}

impl Points {
    fn validate(&self) -> Result<(), InvalidConfig> {
        for (key, value) in [
            ("train_points", self.train_points),
            ("test_points", self.test_points),
        ] {
            if value < 2 {
                return Err(InvalidConfig::new(
                    key,
                    format!("is {value}, must be at least 2"),
                ));
            }
        }
        Ok(())
    }
}

/// `[data]` of the regression toy: `y = x² + 0.2·U[0, 1)`, the training points evenly spaced
/// on `[-1, 1]`, the held-out ones drawn uniformly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CurveData(pub Points);

/// `[data]` of the classification toy: two Gaussian clusters around (2, 2) and (−2, −2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClusterData(pub Points);

/// The flags no toy takes: they generate their own points.
fn refuse_flags(flags: &DataFlags, model: &str) -> Result<(), ConfigError> {
    match flags.given().first() {
        Some(&(flag, key)) => Err(ConfigError::Invalid {
            file: flag.into(),
            key: key.into(),
            reason: format!("does not apply to `{model}`, which generates its own points"),
        }),
        None => Ok(()),
    }
}

/// The splits of a toy: the training points, and the held-out points for validation and test.
fn splits<D: DataSource<Set = SharedItems<I>, Info = ()>, I: Clone + Send + Sync>(
    train: Vec<I>,
    test: Vec<I>,
    name: &str,
) -> Splits<D> {
    let test_set = SharedItems::new(test);
    Splits {
        samples: [train.len(), test_set.len(), test_set.len()],
        train: SharedItems::new(train),
        valid: test_set.clone(),
        test: test_set,
        dataset: name.to_string(),
        info: (),
    }
}

/// Every item of a dataset, in order.
fn all<I>(set: &impl Dataset<I>) -> Vec<I> {
    (0..set.len()).filter_map(|i| set.get(i)).collect()
}

/// `[low, high]` around `values` with a margin of 8% (never empty): the range a plot shows.
pub fn padded_span(values: impl Iterator<Item = f64>, floor: Option<f64>) -> (f64, f64) {
    let (mut low, mut high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if !low.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    let pad = ((high - low) * 0.08).max(1e-3 * high.abs().max(1.0));
    low -= pad;
    high += pad;
    if let Some(floor) = floor {
        low = low.max(floor);
    }
    (low, high)
}

/// `zoo predict`'s inputs as points: `width` numbers per input separated by commas or spaces,
/// each made an item by `item`.
fn predict_points<I>(
    inputs: &[String],
    width: usize,
    item: impl Fn(&[f32]) -> I,
) -> anyhow::Result<PredictInputs<I>> {
    let items = inputs
        .iter()
        .map(|input| {
            let values: Vec<f32> = input
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| anyhow::anyhow!("`{input}` is not a point: give {width} number(s)"))?;
            anyhow::ensure!(
                values.len() == width,
                "`{input}` has {} number(s); this model reads points of {width}",
                values.len()
            );
            Ok(item(&values))
        })
        .collect::<anyhow::Result<Vec<I>>>()?;
    Ok(PredictInputs {
        labels: inputs.to_vec(),
        samples: (0..items.len()).collect(),
        items,
    })
}

impl DataSource for CurveData {
    type Item = CurvePoint;
    type Set = SharedItems<CurvePoint>;
    type Info = ();

    fn validate(&self) -> Result<(), InvalidConfig> {
        self.0.validate()
    }

    fn apply(&mut self, flags: &DataFlags, model: &str) -> Result<(), ConfigError> {
        refuse_flags(flags, model)
    }

    fn load(&self, context: &LoadContext) -> anyhow::Result<Splits<Self>> {
        let train = curve_on_grid(self.0.train_points, context.seed);
        let test = curve_sampled(self.0.test_points, context.seed.wrapping_add(1));
        Ok(splits(train, test, "curve"))
    }

    fn info(&self, _run_dir: &Path) -> anyhow::Result<()> {
        Ok(())
    }

    fn classes(&self, _info: &()) -> Vec<String> {
        Vec::new()
    }

    /// Each input is one `x`.
    fn predict_inputs(
        &self,
        _info: &(),
        inputs: &[String],
        _flags: &PredictFlags,
    ) -> anyhow::Result<PredictInputs<CurvePoint>> {
        predict_points(inputs, 1, |p| CurvePoint { x: p[0], y: 0.0 })
    }

    fn reads(&self) -> Reads {
        Reads::Points(1)
    }

    /// `fit.png`: the training points and the model's curve over their range.
    fn probe(&self, splits: &Splits<Self>) -> Option<Probe<CurvePoint>> {
        let points = all(&splits.train);
        let (low, high) = points
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), p| {
                (l.min(p.x), h.max(p.x))
            });
        let xs: Vec<f32> = (0..CURVE_POINTS)
            .map(|i| low + (high - low) * i as f32 / (CURVE_POINTS - 1) as f32)
            .collect();
        Some(Probe {
            items: xs.iter().map(|&x| CurvePoint { x, y: 0.0 }).collect(),
            draw: Box::new(move |answers: Vec<Answer>| {
                let ys = answers.into_iter().map(|a| match a {
                    Answer::Values(v) => v.first().copied().unwrap_or(f32::NAN),
                    _ => f32::NAN,
                });
                Picture::Fit {
                    points: points.iter().map(|p| (p.x, p.y)).collect(),
                    curve: xs.into_iter().zip(ys).collect(),
                }
            }),
        })
    }
}

impl Batches<Regression> for CurveData {
    fn batch<B: Backend>(&self, items: Vec<CurvePoint>, device: &B::Device) -> RegressionBatch<B> {
        CurveBatcher.batch(items, device)
    }
}

impl DataSource for ClusterData {
    type Item = ClusterPoint;
    type Set = SharedItems<ClusterPoint>;
    type Info = ();

    fn validate(&self) -> Result<(), InvalidConfig> {
        self.0.validate()
    }

    fn apply(&mut self, flags: &DataFlags, model: &str) -> Result<(), ConfigError> {
        refuse_flags(flags, model)
    }

    fn load(&self, context: &LoadContext) -> anyhow::Result<Splits<Self>> {
        let train = two_clusters(self.0.train_points, context.seed);
        let test = two_clusters(self.0.test_points, context.seed.wrapping_add(1));
        Ok(splits(train, test, "two-clusters"))
    }

    fn info(&self, _run_dir: &Path) -> anyhow::Result<()> {
        Ok(())
    }

    fn classes(&self, _info: &()) -> Vec<String> {
        CLUSTERS.map(String::from).to_vec()
    }

    /// Each input is a point `x,y`.
    fn predict_inputs(
        &self,
        _info: &(),
        inputs: &[String],
        _flags: &PredictFlags,
    ) -> anyhow::Result<PredictInputs<ClusterPoint>> {
        predict_points(inputs, 2, |p| ClusterPoint {
            xy: [p[0], p[1]],
            label: 0,
        })
    }

    fn reads(&self) -> Reads {
        Reads::Points(2)
    }

    /// `regions.png`: the class the model picks over the plane, and the training points.
    fn probe(&self, splits: &Splits<Self>) -> Option<Probe<ClusterPoint>> {
        let points: Vec<([f32; 2], usize)> = all(&splits.train)
            .iter()
            .map(|p| (p.xy, usize::from(p.label)))
            .collect();
        let bounds = padded_span(
            points.iter().flat_map(|(p, _)| [p[0] as f64, p[1] as f64]),
            None,
        );
        let (low, high) = bounds;
        let n = REGION_RESOLUTION;
        let step = (high - low) / n as f64;
        let centre = |k: usize| (low + (k as f64 + 0.5) * step) as f32;
        let items = (0..n * n)
            .map(|i| ClusterPoint {
                xy: [centre(i % n), centre(i / n)],
                label: 0,
            })
            .collect();
        let classes = self.classes(&());
        Some(Probe {
            items,
            draw: Box::new(move |answers: Vec<Answer>| Picture::Regions {
                points,
                bounds,
                resolution: n,
                picked: answers
                    .into_iter()
                    .map(|a| match a {
                        Answer::Class(top) => top.first().map_or(0, |&(c, _)| c),
                        _ => 0,
                    })
                    .collect(),
                classes,
            }),
        })
    }
}

impl Batches<Classification<2>> for ClusterData {
    fn batch<B: Backend>(
        &self,
        items: Vec<ClusterPoint>,
        device: &B::Device,
    ) -> ClassificationBatch<B, 2> {
        ClusterBatcher.batch(items, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predict_reads_points_and_names_a_wrong_one() {
        let data = ClusterData(Points {
            train_points: 10,
            test_points: 10,
        });
        let flags = PredictFlags::default();
        let inputs = ["1.5,-2".to_string(), "0 3".to_string()];
        let read = data.predict_inputs(&(), &inputs, &flags).unwrap();
        assert_eq!(read.items[1].xy, [0.0, 3.0]);
        assert_eq!(read.samples, [0, 1]);
        let error = data
            .predict_inputs(&(), &["1,2,3".to_string()], &flags)
            .unwrap_err()
            .to_string();
        assert!(error.contains("points of 2"), "{error}");
        let curve = CurveData(data.0.clone());
        let error = curve
            .predict_inputs(&(), &["x".to_string()], &flags)
            .unwrap_err()
            .to_string();
        assert!(error.contains("`x` is not a point"), "{error}");
    }
}
