//! Running a model over data: the test-set figures shared by `zoo train` (the summary's) and
//! `zoo eval` (which must reproduce them exactly from the saved run), and the answers of items.

use std::path::Path;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::AutodiffModule;
use burn::prelude::Backend;
use burn::tensor::backend::{AutodiffBackend, DeviceOps};

use super::artifacts::TaggingSummary;
use super::run_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::{Batches, DataSource, LoadContext, TaskBatcher};
use crate::model::ZooModel;
use crate::task::{Answer, Solves, Tally, Task};

/// Loss and accuracy of `model` over every item of the test `set`, in batches of `per_batch`
/// items; prints them as the PyTorch examples' `Test set: ...` line. With `answers`, each
/// sample's answer is added to it, in the set's order.
pub fn evaluate<B, T, M, D>(
    model: &M,
    data: &D,
    set: D::Set,
    per_batch: usize,
    device: &B::Device,
    mut answers: Option<&mut Vec<Answer>>,
) -> Tally
where
    B: Backend,
    T: Task,
    M: Solves<B, T>,
    D: Batches<T>,
{
    let loader = DataLoaderBuilder::new(TaskBatcher::<D, T>::new(data.clone()))
        .batch_size(per_batch)
        .set_device(device.clone())
        .build(set);
    let mut tally = Tally::default();
    for batch in loader.iter() {
        let output = model.solve(batch);
        tally.add(T::tally(&output));
        if let Some(answers) = answers.as_mut() {
            answers.extend(T::answers(output));
        }
    }
    print_test_line(&tally);
    tally
}

/// The answers of `model` to `items` (one per sample, in order), `per_batch` items at a time.
pub fn answers<B, T, M, D>(
    model: &M,
    data: &D,
    items: Vec<D::Item>,
    per_batch: usize,
    device: &B::Device,
) -> Vec<Answer>
where
    B: Backend,
    T: Task,
    M: Solves<B, T>,
    D: Batches<T>,
{
    items
        .chunks(per_batch.max(1))
        .flat_map(|chunk| T::answers(model.solve(data.batch::<B>(chunk.to_vec(), device))))
        .collect()
}

/// Prints the PyTorch examples' closing line: `Test set: Average loss: 0.0610, Accuracy: 9829/10000 (98.29%)`.
fn print_test_line(test: &Tally) {
    match test.correct {
        Some(correct) => println!(
            "Test set: Average loss: {:.4}, Accuracy: {correct}/{} ({:.2}%)",
            test.mean_loss(),
            test.count,
            100.0 * test.accuracy().unwrap_or(0.0)
        ),
        None => println!(
            "Test set: Average loss: {:.6} ({} samples)",
            test.mean_loss(),
            test.count
        ),
    }
    if let Some([correct, total]) = test.unseen.filter(|[_, total]| *total > 0) {
        println!(
            "Words unseen in training: {correct}/{total} tagged correctly ({:.2}%)",
            100.0 * correct as f64 / total.max(1) as f64
        );
    }
}

/// What `zoo eval` found: the test set's figures and, where asked for, each sample's answer
/// with the class (or tag) names.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Exact totals over the test set.
    pub tally: Tally,
    /// Each test sample's answer, in the set's order (`zoo eval --predictions`).
    pub answers: Option<Vec<Answer>>,
    /// The names of the classes (or tags) the answers number.
    pub classes: Vec<String>,
}

/// `zoo eval`: the model of the run in `run_dir` (trained as `experiment` says) on the test set,
/// with every sample's answer when `answers` is set.
pub(crate) fn evaluate_run<M: ZooModel>(
    experiment: &Experiment<M>,
    run_dir: &Path,
    placement: &Placement,
    answers: bool,
) -> anyhow::Result<Evaluation> {
    placement.run(EvalJob {
        experiment,
        run_dir,
        answers,
    })
}

struct EvalJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    run_dir: &'a Path,
    answers: bool,
}

impl<M: ZooModel> BackendJob for EvalJob<'_, M> {
    type Output = Evaluation;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        _target: Target,
    ) -> anyhow::Result<Evaluation> {
        let experiment = self.experiment;
        let context = LoadContext {
            run_dir: self.run_dir,
            seed: experiment.train.seed,
            batch_size: experiment.train.batch_size,
        };
        let splits = experiment.data.load(&context)?;
        let model = run_model::<M, B>(experiment, &splits.info, self.run_dir, &device)?.valid();
        let per_batch = experiment.data.items_per_batch(experiment.train.batch_size);
        let mut answers = self.answers.then(Vec::new);
        let test = evaluate::<_, M::Task, _, _>(
            &model,
            &experiment.data,
            splits.test,
            per_batch,
            device.inner(),
            answers.as_mut(),
        );
        let classes = experiment.data.classes(&splits.info);
        if let Some(tagging) = TaggingSummary::from_tally(&test, &classes) {
            print!("{}", tagging.table());
        }
        Ok(Evaluation {
            tally: test,
            answers,
            classes,
        })
    }
}
