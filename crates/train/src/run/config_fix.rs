//! Which `[model]` values would give a PyTorch file's shapes, for `zoo import`'s mismatch error:
//! the model is built again with one key changed at a time (up to two keys), on the values the
//! file's differing dimensions suggest, and the change that leaves the fewest differences wins.

use std::collections::BTreeSet;
use std::path::Path;

use burn::tensor::backend::AutodiffBackend;
use zoo_models::import::{file_tensors, pytorch_tensors, Mismatch, Rename};

use crate::config::Experiment;
use crate::data::DataSource;
use crate::model::ZooModel;

/// How far a model is from a file: tensors of the wrong shape first, then missing and unexpected
/// ones.
type Distance = (usize, usize);

/// `set [model] hidden_size = 64, num_layers = 1 ...` where changing at most two integer keys of
/// the `[model]` section makes every shape the file and the model share fit; `None` otherwise.
pub(crate) fn config_fix<M: ZooModel, B: AutodiffBackend>(
    experiment: &Experiment<M>,
    info: &<M::Data as DataSource>::Info,
    file: &Path,
    renames: &[Rename],
    device: &B::Device,
) -> Option<String> {
    let found = file_tensors(file, renames).ok()?;
    let shapes_of = |config: &M::Config| {
        let model = M::init::<B>(config, info, device);
        Mismatch::between(&pytorch_tensors(&model), &found)
    };
    let distance = |table: &toml::Table| -> Option<Distance> {
        let config: M::Config = toml::Value::Table(table.clone()).try_into().ok()?;
        M::check(&config, &experiment.data).ok()?;
        Some(shapes_of(&config).map_or((0, 0), |m| {
            (m.wrong_shape.len(), m.missing.len() + m.unexpected.len())
        }))
    };
    let now = shapes_of(&experiment.model)?;
    let mut best = (
        now.wrong_shape.len(),
        now.missing.len() + now.unexpected.len(),
    );
    let candidates = suggested_values(&now);
    let mut table = toml::Value::try_from(&experiment.model)
        .ok()?
        .as_table()?
        .clone();
    let mut changed: Vec<(String, i64)> = Vec::new();
    while best != (0, 0) && changed.len() < 2 {
        let mut step: Option<(String, i64, Distance)> = None;
        for (key, value) in &table {
            let Some(now) = value.as_integer() else {
                continue;
            };
            for &candidate in candidates.iter().filter(|&&c| c != now) {
                let mut trial = table.clone();
                trial.insert(key.clone(), candidate.into());
                match distance(&trial) {
                    Some(d) if d < step.as_ref().map_or(best, |s| s.2) => {
                        step = Some((key.clone(), candidate, d));
                    }
                    _ => {}
                }
            }
        }
        let (key, value, d) = step?;
        table.insert(key.clone(), value.into());
        changed.push((key, value));
        best = d;
    }
    if best.0 > 0 || changed.is_empty() {
        return None;
    }
    let settings: Vec<String> = changed
        .iter()
        .map(|(key, value)| format!("{key} = {value}"))
        .collect();
    Some(format!(
        "the file's shapes are those of [model] {} (put it in a --config file)",
        settings.join(", ")
    ))
}

/// The values worth trying: each dimension where a file's shape differs from the model's, and
/// its half, third and quarter (a recurrent layer's gates, two directions), and 1 to 4 (layer
/// counts).
fn suggested_values(mismatch: &Mismatch) -> BTreeSet<i64> {
    let mut values: BTreeSet<i64> = (1..=4).collect();
    for wrong in &mismatch.wrong_shape {
        for (m, f) in wrong.model.iter().zip(&wrong.file.shape) {
            if m == f {
                continue;
            }
            for divisor in 1..=4 {
                if f % divisor == 0 {
                    values.insert((f / divisor) as i64);
                }
            }
        }
    }
    values
}
