//! `zoo serve`'s server: the models on threads of their own ([`models`]), the HTTP API and page
//! on axum and tokio ([`api`], [`answers`]), connections bounded ([`listener`]), and a graceful
//! stop on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use zoo_train::backend::Placement;
use zoo_train::run::serve::Batching;
use zoo_train::Registry;

use crate::pretrained::RunFolder;

mod answers;
mod api;
mod listener;
mod models;

/// How the server takes its load.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How requests are batched on the way to each model.
    pub batching: Batching,
    /// Requests waiting for each model.
    pub queue: usize,
    /// Open connections at once.
    pub connections: usize,
}

/// Serves the models of `folders` (each with the name it is served under) on `address` until
/// Ctrl-C or SIGTERM; the requests in flight are answered before it returns.
pub fn serve(
    folders: Vec<(String, RunFolder)>,
    registry: &Registry,
    placement: &Placement,
    address: SocketAddr,
    limits: Limits,
) -> anyhow::Result<()> {
    #[cfg(feature = "failpoints")]
    let _fail_points = zoo_train::run::serve::fail_points();
    let mut served = models::start(folders, registry, placement, limits.batching, limits.queue)?;
    let threads: Vec<_> = served.iter_mut().filter_map(|m| m.thread.take()).collect();
    let names: Vec<String> = served.iter().map(|m| m.about.name.clone()).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| {
                format!("cannot listen on {address}: is another server there? pick another --port")
            })?;
        let bound = listener.local_addr()?;
        println!(
            "serving {} on http://{bound}/ (a page to try them there, the API under /v1; \
             Ctrl-C or SIGTERM stops)",
            names.join(", ")
        );
        let router = api::router(Arc::new(api::Models { served }));
        let listener = listener::Bounded::new(listener, limits.connections);
        axum::serve(listener, router)
            .with_graceful_shutdown(stop_signal())
            .await
            .context("the server stopped")
    })?;
    // The router, and with it every queue's sender, is gone: each model's thread ends.
    for thread in threads {
        match thread.join() {
            Ok(outcome) => outcome?,
            Err(_) => anyhow::bail!("a model's thread panicked"),
        }
    }
    eprintln!("zoo serve: stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    eprintln!("zoo serve: stopping; answering the requests in flight");
}
