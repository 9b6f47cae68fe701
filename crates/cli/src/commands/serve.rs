//! `zoo serve`: trained models behind an HTTP API and a page (docs/serve.md).

use std::net::SocketAddr;
use std::time::Duration;

use zoo_train::run::serve::Batching;
use zoo_train::Registry;

use crate::cli::{ServeArgs, Trained};
use crate::serve::{serve, Limits};

/// Runs `zoo serve`.
pub fn run(args: ServeArgs, registry: &Registry) -> anyhow::Result<()> {
    let placement = args.on.placement();
    placement.preflight()?;
    let mut folders = Vec::new();
    for name in &args.pretrained {
        let trained = Trained {
            run: None,
            pretrained: Some(name.clone()),
        };
        folders.push((name.clone(), trained.folder()?));
    }
    for dir in &args.runs {
        let name = (dir.canonicalize().ok())
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        let trained = Trained {
            run: Some(dir.clone()),
            pretrained: None,
        };
        folders.push((name, trained.folder()?));
    }
    let limits = Limits {
        batching: Batching {
            window: Duration::from_millis(args.batch_window),
            max_inputs: args.max_batch.max(1),
        },
        queue: args.queue.max(1),
        connections: args.max_connections.max(1),
    };
    let address = SocketAddr::new(args.host, args.port);
    serve(folders, registry, &placement, address, limits)
}
