//! The served models: each loaded on a thread of its own, which answers the requests of its
//! bounded queue in batches ([`zoo_train::run::serve`]).

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use anyhow::Context;
use serde::Serialize;
use zoo_train::backend::Placement;
use zoo_train::data::Reads;
use zoo_train::run::serve::{Batching, ServeRequest, ServedModel};
use zoo_train::Registry;

use crate::commands::eval::recorded;
use crate::commands::run_config;
use crate::pretrained::RunFolder;

/// What `GET /v1/models` says of a model.
#[derive(Debug, Clone, Serialize)]
pub struct About {
    /// The name it is served under: the shipped model's, or the run folder's.
    pub name: String,
    /// The zoo model it is (`zoo models`).
    pub model: String,
    /// `image-classifier`, `tagger`, `point-classifier`, `regression`.
    pub kind: &'static str,
    /// What a request sends it.
    pub reads: String,
    /// Its classes or tags.
    pub classes: Vec<String>,
    /// Its recorded test figure, where the run or the shipped model has one.
    pub test: Option<TestFigure>,
}

/// A recorded test figure.
#[derive(Debug, Clone, Serialize)]
pub struct TestFigure {
    /// Correct answers (samples, or tokens for a tagger), where scored by accuracy.
    pub correct: Option<usize>,
    /// Answers scored.
    pub count: usize,
    /// `correct / count`.
    pub accuracy: Option<f64>,
    /// The mean test loss, where recorded.
    pub mean_loss: Option<f64>,
}

/// A model being served.
pub struct Served {
    /// What the API tells of it.
    pub about: About,
    /// What it reads.
    pub reads: Reads,
    /// Its queue.
    pub queue: SyncSender<ServeRequest>,
    /// Its thread; ends with the model's error, if any, once the queue's senders are gone.
    pub thread: Option<JoinHandle<anyhow::Result<()>>>,
    /// Keeps a shipped model's written-out folder until the server ends.
    _folder: RunFolder,
}

/// Loads every model given (`names` their folders), each on its own thread, and waits until
/// each is ready; the first that cannot load is the error.
pub fn start(
    folders: Vec<(String, RunFolder)>,
    registry: &Registry,
    placement: &Placement,
    batching: Batching,
    queue: usize,
) -> anyhow::Result<Vec<Served>> {
    let mut served = Vec::new();
    for (name, folder) in folders {
        anyhow::ensure!(
            served.iter().all(|s: &Served| s.about.name != name),
            "two models would be served as `{name}`: give each run folder a name of its own"
        );
        let experiment = run_config(registry, &folder.path)?;
        let model = experiment.model_name().to_string();
        let test = recorded(&folder)?.map(|r| TestFigure {
            correct: r.correct,
            count: r.count,
            accuracy: r.correct.map(|c| c as f64 / r.count.max(1) as f64),
            mean_loss: r.loss,
        });
        let (sender, receiver) = sync_channel(queue);
        let (ready_in, ready_out) = std::sync::mpsc::channel::<ServedModel>();
        let (path, placement) = (folder.path.clone(), placement.clone());
        let thread = std::thread::Builder::new()
            .name(format!("serve {name}"))
            .spawn(move || {
                let ready = Box::new(move |model: ServedModel| {
                    let _ = ready_in.send(model);
                });
                experiment.serve(&path, &placement, receiver, batching, ready)
            })
            .context("cannot start a thread for the model")?;
        let Ok(ready) = ready_out.recv() else {
            let failed = thread
                .join()
                .map_err(|_| anyhow::anyhow!("the model's thread panicked"));
            return Err(failed?
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("the model stopped")))
            .with_context(|| format!("cannot serve `{name}`"));
        };
        let about = About {
            name,
            model,
            kind: kind(ready.reads, &ready.classes),
            reads: describe_reads(ready.reads),
            classes: ready.classes,
            test,
        };
        served.push(Served {
            about,
            reads: ready.reads,
            queue: sender,
            thread: Some(thread),
            _folder: folder,
        });
    }
    Ok(served)
}

fn kind(reads: Reads, classes: &[String]) -> &'static str {
    match (reads, classes.is_empty()) {
        (Reads::Pictures, _) => "image-classifier",
        (Reads::Sentences, _) => "tagger",
        (_, false) => "classifier",
        (_, true) => "regression",
    }
}

/// What a request to the model sends, in the API's words (docs/serve.md).
fn describe_reads(reads: Reads) -> String {
    match reads {
        Reads::Pictures => "a PNG picture of a digit (Content-Type: image/png); ?invert=true for \
                            dark ink on a light background"
            .into(),
        Reads::Sentences => {
            "JSON {\"sentences\": [\"Mr. Smith went to Boston .\"]}, or each sentence as a list \
             of words"
                .into()
        }
        Reads::Points(n) => format!("JSON {{\"points\": [[...]]}}, {n} number(s) each"),
        Reads::Lines => "JSON {\"inputs\": [\"...\"]}, lines as `zoo predict` reads them".into(),
    }
}
