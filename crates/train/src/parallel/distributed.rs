//! Data-parallel training across processes and machines on burn-collective: `zoo coordinator`
//! runs burn-collective's global orchestrator; each `zoo train --nodes N --rank R` process is one
//! node (one device), computes its slice of every global batch (`crate::shard`), and after every
//! step averages its gradients with the other nodes' through burn-collective's all-reduce before
//! the optimizer step, so every node applies the same update and holds the same weights.
//!
//! burn-collective blocks while a peer is missing (it retries connections forever); every call
//! here therefore runs on a worker thread and is waited for with a deadline, so a node that cannot
//! reach the coordinator, or whose partner died, stops with one clear message instead of hanging.

use std::str::FromStr;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use burn::collective::{self, AllReduceStrategy, CollectiveConfig, PeerId, ReduceOperation};
use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn_communication::Address;

use super::node::{port_of, NodeSpec};

impl NodeSpec {
    fn config(&self) -> anyhow::Result<CollectiveConfig> {
        let url = |address: &str| {
            let url = match address.contains("://") {
                true => address.to_string(),
                false => format!("ws://{address}"),
            };
            Address::from_str(&url).map_err(|e| anyhow::anyhow!("{address}: {e}"))
        };
        // The global all-reduce strategy: `ZOO_ALLREDUCE=ring|tree|centralized` (burn-collective's
        // three); tree by default (the three have not been compared on speed).
        let strategy = match std::env::var("ZOO_ALLREDUCE").as_deref() {
            Ok("ring") => AllReduceStrategy::Ring,
            Ok("centralized") => AllReduceStrategy::Centralized,
            Ok("tree") | Err(_) => AllReduceStrategy::Tree(2),
            Ok(other) => anyhow::bail!("ZOO_ALLREDUCE={other}: expected ring, tree or centralized"),
        };
        Ok(CollectiveConfig::default()
            .with_global_all_reduce_strategy(strategy)
            .with_num_devices(1)
            .with_num_nodes(self.nodes)
            .with_global_address(url(&self.coordinator)?)
            .with_node_address(url(&self.listen)?)
            .with_data_service_port(port_of(&self.listen)?))
    }
}

enum Request {
    Register,
    AllReduce(TensorData),
    Leave,
}

/// The first panic raised inside burn-collective / burn-communication (on their tokio workers or
/// on the collective thread): kept as the cause of the failure the node reports, not printed.
static COLLECTIVE_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Routes panics of burn-collective's threads and sources to [`COLLECTIVE_PANIC`]; a peer that
/// dies makes those crates panic (a refused connection, a reset stream), and the node turns it
/// into one line instead of a worker thread's backtrace. Any other panic goes to the previous hook.
fn capture_collective_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let thread = thread.name().unwrap_or("");
            let file = info.location().map_or("", |l| l.file());
            let ours = thread == WORKER_THREAD
                || thread.starts_with("tokio-rt-worker")
                || file.contains("burn-collective")
                || file.contains("burn-communication");
            if !ours {
                return previous(info);
            }
            let text =
                crate::backend::panic_text(info.payload()).unwrap_or_else(|| "a panic".into());
            let mut slot = COLLECTIVE_PANIC.lock().unwrap_or_else(|e| e.into_inner());
            slot.get_or_insert(text);
        }));
    });
}

/// What burn-collective said when it failed, if it panicked.
fn collective_panic() -> Option<String> {
    COLLECTIVE_PANIC
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

const WORKER_THREAD: &str = "collective";

/// What the all-reduces of a run cost, for the run's figures.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReduceStats {
    /// All-reduce calls (one per training step).
    pub calls: u64,
    /// Their total wall-clock time.
    pub seconds: f64,
    /// Bytes of gradient each call sends into the collective.
    pub bytes_per_call: u64,
}

/// This node's link to the collective: a worker thread that makes burn-collective's blocking
/// calls, waited for with a deadline.
pub struct Collective {
    spec: NodeSpec,
    requests: Sender<Request>,
    replies: Mutex<Receiver<Result<Option<TensorData>, String>>>,
    stats: Mutex<ReduceStats>,
}

impl Collective {
    /// Starts the worker for backend `B` (the inner backend of training) on `device` and
    /// registers this node with the coordinator; fails if it does not answer in time.
    pub fn join<B: Backend>(spec: NodeSpec, device: B::Device) -> anyhow::Result<Arc<Self>> {
        let config = spec.config()?;
        let (requests, work) = channel::<Request>();
        let (reply, replies) = channel();
        let peer = PeerId::from(spec.rank);
        capture_collective_panics();
        std::thread::Builder::new()
            .name(WORKER_THREAD.into())
            .spawn(move || {
                for request in work {
                    let call = std::panic::AssertUnwindSafe(|| match request {
                        Request::Register => {
                            collective::register::<B>(peer, device.clone(), config.clone())
                                .map(|()| None)
                                .map_err(|e| format!("{e:?}"))
                        }
                        Request::AllReduce(data) => {
                            let tensor = Tensor::<B, 1>::from_data(data, &device);
                            collective::all_reduce::<B>(
                                peer,
                                tensor.into_primitive().tensor(),
                                ReduceOperation::Mean,
                            )
                            .map(|t| {
                                Some(
                                    Tensor::<B, 1>::from_primitive(
                                        burn::tensor::TensorPrimitive::Float(t),
                                    )
                                    .into_data(),
                                )
                            })
                            .map_err(|e| format!("{e:?}"))
                        }
                        Request::Leave => collective::finish_collective::<B>(peer)
                            .map(|()| None)
                            .map_err(|e| format!("{e:?}")),
                    });
                    let result = std::panic::catch_unwind(call).unwrap_or_else(|_| {
                        Err(collective_panic().unwrap_or_else(|| "burn-collective panicked".into()))
                    });
                    if reply.send(result).is_err() {
                        return;
                    }
                }
            })
            .context("cannot start the collective worker thread")?;
        let this = Arc::new(Self {
            spec,
            requests,
            replies: Mutex::new(replies),
            stats: Mutex::new(ReduceStats::default()),
        });
        this.call(Request::Register).map_err(|why| {
            anyhow::anyhow!(
                "node {} of {}: cannot join the collective through the coordinator at {} ({why}); start it first with `zoo coordinator --port {}` and check that HOST:PORT is reachable from this machine",
                this.spec.rank,
                this.spec.nodes,
                this.spec.coordinator,
                port_of(&this.spec.coordinator).unwrap_or_default()
            )
        })?;
        Ok(this)
    }

    fn call(&self, request: Request) -> Result<Option<TensorData>, String> {
        self.requests
            .send(request)
            .map_err(|_| "the collective worker stopped".to_string())?;
        let replies = self.replies.lock().expect("collective replies lock");
        let outcome = match replies.recv_timeout(self.spec.timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "no answer within {} s",
                self.spec.timeout.as_secs()
            )),
            Err(RecvTimeoutError::Disconnected) => Err("the collective worker stopped".into()),
        };
        // A peer's failure often shows first as a panic inside burn-collective: name it.
        outcome.map_err(|why| match collective_panic() {
            Some(cause) if !why.contains(&cause) => format!("{why}; burn-collective: {cause}"),
            _ => why,
        })
    }

    /// Replaces `grads` by their mean over all nodes: the gradients of `model`'s parameters, in
    /// the module's order (parameter ids differ from process to process), flattened into one
    /// tensor for a single all-reduce.
    pub fn average<B: AutodiffBackend, M: AutodiffModule<B>>(
        &self,
        model: &M,
        grads: GradientsParams,
    ) -> Result<GradientsParams, String> {
        let mut flatten = Flatten::<B> {
            grads,
            parts: Vec::new(),
            shapes: Vec::new(),
        };
        model.visit(&mut flatten);
        let Flatten {
            mut grads,
            parts,
            shapes,
        } = flatten;
        if parts.is_empty() {
            return Ok(grads);
        }
        let flat = Tensor::cat(parts, 0);
        let device = flat.device();
        let bytes = flat.shape().num_elements() as u64 * 4;
        let started = Instant::now();
        let mean = self
            .call(Request::AllReduce(flat.into_data()))?
            .ok_or("the all-reduce returned nothing")?;
        {
            let mut stats = self.stats.lock().expect("stats lock");
            stats.calls += 1;
            stats.seconds += started.elapsed().as_secs_f64();
            stats.bytes_per_call = bytes;
        }
        let mean = Tensor::<B::InnerBackend, 1>::from_data(mean, &device);
        let mut offset = 0;
        for (id, dims) in shapes {
            let count: usize = dims.iter().product();
            let part = mean.clone().narrow(0, offset, count);
            offset += count;
            register_shaped::<B::InnerBackend>(&mut grads, id, part, &dims);
        }
        Ok(grads)
    }

    /// The all-reduce figures so far.
    pub fn stats(&self) -> ReduceStats {
        *self.stats.lock().expect("stats lock")
    }

    /// Leaves the collective, closing this node's connections to the coordinator and the other
    /// nodes cleanly (best effort: they may be gone already; bounded by the node timeout).
    pub fn leave(&self) {
        let _ = self.call(Request::Leave);
    }
}

/// Registers a flat slice back as the gradient of parameter `id`, in its shape.
fn register_shaped<B: Backend>(
    grads: &mut GradientsParams,
    id: burn::module::ParamId,
    flat: Tensor<B, 1>,
    dims: &[usize],
) {
    match dims.len() {
        1 => grads.register(id, flat.reshape([dims[0]])),
        2 => grads.register(id, flat.reshape([dims[0], dims[1]])),
        3 => grads.register(id, flat.reshape([dims[0], dims[1], dims[2]])),
        4 => grads.register(id, flat.reshape([dims[0], dims[1], dims[2], dims[3]])),
        n => unreachable!("zoo models have parameters of rank 1 to 4, not {n}"),
    }
}

struct Flatten<B: AutodiffBackend> {
    grads: GradientsParams,
    parts: Vec<Tensor<B::InnerBackend, 1>>,
    shapes: Vec<(burn::module::ParamId, Vec<usize>)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Flatten<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            let dims = grad.dims().to_vec();
            self.parts.push(grad.reshape([-1]));
            self.shapes.push((param.id, dims));
        }
    }
}

/// `zoo coordinator --port P`: burn-collective's global orchestrator, until interrupted.
pub fn run_coordinator(port: u16) -> anyhow::Result<()> {
    // burn-collective's server logs a bind failure and returns; check first for a clear message.
    std::net::TcpListener::bind(("0.0.0.0", port)).map_err(|err| {
        anyhow::anyhow!(
            "cannot listen on port {port} ({err}): {}choose another --port and give the nodes --coordinator HOST:<that port>",
            match err.kind() {
                std::io::ErrorKind::AddrInUse => "another program (perhaps another coordinator) uses it; ",
                _ => "",
            }
        )
    })?;
    println!("Coordinator listening on port {port}; start each node with --coordinator <this host>:{port}");
    // burn-collective's orchestrator reports nodes joining and leaving through `log`/`tracing`.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the coordinator's runtime")?;
    runtime.block_on(burn_collective::start_global_orchestrator(port));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_checked_node_makes_a_collective_config() {
        let s = |v: &str| Some(v.to_string());
        let spec = NodeSpec::from_flags(
            Some(2),
            Some(1),
            s("10.0.0.1:7000"),
            s("10.0.0.2:7001"),
            Duration::from_secs(30),
        )
        .unwrap()
        .unwrap();
        assert!(spec.config().is_ok());
    }
}
