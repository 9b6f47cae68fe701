//! `zoo serve`'s model side: a trained run loaded once and kept on its backend, answering the
//! requests of a queue. Requests that arrive within a short window are answered together, as
//! one batch (a tagger's sentences regrouped into full buckets, [`DataSource::regroup`]), so the
//! model runs fewer, fuller batches as the load grows.

use std::path::Path;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, DeviceOps};

use super::eval::answers;
use super::run_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::{DataSource, PredictFlags, PredictInputs, Reads};
use crate::model::ZooModel;
use crate::task::Answer;

/// What a request sends: lines (sentences, words joined by spaces, points) or pictures (each
/// the bytes of an image file and the name its answer goes by).
#[derive(Debug, Clone)]
pub enum ServeInputs {
    /// Text inputs, as `zoo predict` takes them on its command line.
    Lines(Vec<String>),
    /// Picture files' bytes, with their names.
    Pictures(Vec<(String, Vec<u8>)>),
}

impl ServeInputs {
    fn len(&self) -> usize {
        match self {
            ServeInputs::Lines(lines) => lines.len(),
            ServeInputs::Pictures(pictures) => pictures.len(),
        }
    }
}

/// The answer to one input: its label (a picture's name, a sentence's words) and the model's
/// answer, `None` for an input that holds no sample (an empty sentence).
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// How the input is named.
    pub label: String,
    /// The model's answer.
    pub answer: Option<Answer>,
}

/// The error a request gets when the model itself failed on its batch (a panic inside the
/// backend), rather than its inputs: a fault of the server's, not the client's.
#[derive(Debug, thiserror::Error)]
#[error(
    "the model failed on this request's batch (the server's log has the panic); the server goes on"
)]
pub struct ModelFailed;

/// Where a request's answers go: called once, from the model's thread.
pub type Reply = Box<dyn FnOnce(anyhow::Result<Vec<Served>>) + Send>;

/// One request in the queue of a served model.
pub struct ServeRequest {
    /// Its inputs.
    pub inputs: ServeInputs,
    /// How to read them (`invert` for pictures, `split` for sentences given as words).
    pub flags: PredictFlags,
    /// Where its answers go.
    pub reply: Reply,
}

/// How requests are grouped into batches.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// How long the first request of a batch waits for others.
    pub window: Duration,
    /// The most inputs in one batch; a request is never split.
    pub max_inputs: usize,
}

/// What a served model tells once it is loaded, before it answers anything.
#[derive(Debug, Clone)]
pub struct ServedModel {
    /// Its classes or tags, by id.
    pub classes: Vec<String>,
    /// What it reads.
    pub reads: Reads,
}

/// Switches on the fail points that the `FAILPOINTS` variable names (the tests' panic inside a
/// batch, `serve-batch`), for as long as the value lives. Call it once per process.
#[cfg(feature = "failpoints")]
pub fn fail_points() -> fail::FailScenario<'static> {
    fail::FailScenario::setup()
}

/// Loads the run in `run_dir` on `placement`, tells `ready` what it serves, then answers the
/// requests of `queue` until every sender is dropped.
pub(crate) fn serve<M: ZooModel>(
    experiment: &Experiment<M>,
    run_dir: &Path,
    placement: &Placement,
    queue: Receiver<ServeRequest>,
    batching: Batching,
    ready: Box<dyn FnOnce(ServedModel) + Send>,
) -> anyhow::Result<()> {
    let info = experiment.data.info(run_dir)?;
    placement.run(ServeJob {
        experiment,
        run_dir,
        info,
        queue,
        batching,
        ready,
    })
}

struct ServeJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    run_dir: &'a Path,
    info: <M::Data as DataSource>::Info,
    queue: Receiver<ServeRequest>,
    batching: Batching,
    ready: Box<dyn FnOnce(ServedModel) + Send>,
}

impl<M: ZooModel> BackendJob for ServeJob<'_, M> {
    type Output = ();

    fn run<B: AutodiffBackend>(self, device: B::Device, _target: Target) -> anyhow::Result<()> {
        let experiment = self.experiment;
        let model = run_model::<M, B>(experiment, &self.info, self.run_dir, &device)?.valid();
        let data = &experiment.data;
        (self.ready)(ServedModel {
            classes: data.classes(&self.info),
            reads: data.reads(),
        });
        let per_batch = data.items_per_batch(experiment.train.batch_size);
        let mut model = Some(model);
        // Each batch runs on one of rayon's threads, the model moved there and back: the CPU
        // operations' own parallel loops then start from inside the pool instead of handing
        // every operation over from this thread (measured: docs/benchmarks.md, "Serving").
        let mut run = |items: Vec<_>| {
            let on_pool = model
                .take()
                .unwrap_or_else(|| unreachable!("back after each batch"));
            let device = device.clone();
            let (back, found) = rayon::scope(move |_| {
                let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    // The tests' way to a panic inside the model's batch (feature `failpoints`,
                    // `FAILPOINTS=serve-batch=panic`); nothing in other builds.
                    fail::fail_point!("serve-batch");
                    answers::<_, M::Task, _, _>(&on_pool, data, items, per_batch, device.inner())
                }));
                (on_pool, found.ok())
            });
            model = Some(back);
            found
        };
        while let Some(batch) = next_batch(&self.queue, self.batching) {
            for group in by_flags(batch) {
                answer_group(data, &self.info, group, &mut run);
            }
        }
        Ok(())
    }
}

/// The next batch of requests: the first to arrive, then, once the window after it has passed,
/// those queued meanwhile while the batch has room. Waiting requests stay in the bounded queue
/// during the window, so a full queue is refused however long the window. `None` once every
/// sender is gone.
fn next_batch(queue: &Receiver<ServeRequest>, batching: Batching) -> Option<Vec<ServeRequest>> {
    let first = queue.recv().ok()?;
    if !batching.window.is_zero() {
        std::thread::sleep(batching.window);
    }
    let mut inputs = first.inputs.len();
    let mut batch = vec![first];
    while inputs < batching.max_inputs {
        match queue.try_recv() {
            Ok(request) => {
                inputs += request.inputs.len();
                batch.push(request);
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    Some(batch)
}

/// The requests of a batch in groups read with the same flags, in order of arrival.
fn by_flags(batch: Vec<ServeRequest>) -> Vec<Vec<ServeRequest>> {
    let mut groups: Vec<Vec<ServeRequest>> = Vec::new();
    for request in batch {
        match groups.iter_mut().find(|g| g[0].flags == request.flags) {
            Some(group) => group.push(request),
            None => groups.push(vec![request]),
        }
    }
    groups
}

/// Reads each request of `group` (one that cannot be read is answered with its error at once),
/// runs the rest as one batch, and gives each its answers. `run` gives `None` where the model
/// panicked: each request of the batch is then run again alone, so that only a request the
/// model fails on by itself is answered with [`ModelFailed`]; the model goes on.
fn answer_group<D: DataSource>(
    data: &D,
    info: &D::Info,
    group: Vec<ServeRequest>,
    run: &mut dyn FnMut(Vec<D::Item>) -> Option<Vec<Answer>>,
) {
    let mut read = Vec::new();
    for request in group {
        match read_inputs(data, info, &request) {
            Ok(inputs) => read.push((request, inputs)),
            Err(err) => (request.reply)(Err(err)),
        }
    }
    let items = (read.iter_mut())
        .flat_map(|(_, inputs)| std::mem::take(&mut inputs.items))
        .collect();
    let items = data.regroup(items);
    let Some(found) = run(items) else {
        let alone = read.len() == 1;
        for (request, _) in read {
            if alone {
                (request.reply)(Err(ModelFailed.into()));
            } else {
                answer_group(data, info, vec![request], run);
            }
        }
        return;
    };
    let mut found = found.into_iter();
    for (ServeRequest { reply, .. }, inputs) in read {
        let mut answers: Vec<Option<Answer>> = vec![None; inputs.labels.len()];
        for (&input, answer) in inputs.samples.iter().zip(found.by_ref()) {
            answers[input] = Some(answer);
        }
        let served = (inputs.labels.into_iter().zip(answers))
            .map(|(label, answer)| Served { label, answer })
            .collect();
        reply(Ok(served));
    }
}

fn read_inputs<D: DataSource>(
    data: &D,
    info: &D::Info,
    request: &ServeRequest,
) -> anyhow::Result<PredictInputs<D::Item>> {
    match &request.inputs {
        ServeInputs::Lines(lines) => data.predict_inputs(info, lines, &request.flags),
        ServeInputs::Pictures(pictures) => data.picture_inputs(info, pictures, &request.flags),
    }
}
