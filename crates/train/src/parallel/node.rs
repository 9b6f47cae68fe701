//! A node's place in a multi-node run (`zoo train --nodes N --rank R --coordinator HOST:P
//! --listen HOST:Q`), checked before anything runs; the collective itself is in
//! [`super::distributed`] (cargo feature `distributed`).

use std::time::Duration;

use anyhow::Context;

/// Why a build without the cargo feature `distributed` refuses `--nodes` and `zoo coordinator`.
pub const NO_DISTRIBUTED: &str =
    "this zoo was built without multi-node training (cargo feature `distributed` of zoo-train)";

/// Where a node stands in the collective (`zoo train --nodes N --rank R --coordinator HOST:P
/// --listen HOST:Q`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// Nodes in the collective.
    pub nodes: u32,
    /// This node's rank, `0..nodes`; rank 0 writes the run folder.
    pub rank: u32,
    /// The coordinator (`zoo coordinator`), `HOST:PORT`.
    pub coordinator: String,
    /// The address other nodes reach this one at, `HOST:PORT` (its tensor service listens on
    /// PORT).
    pub listen: String,
    /// How long to wait for the coordinator and for the other nodes at each step.
    pub timeout: Duration,
}

impl NodeSpec {
    /// Checks the flags: all four given together, rank below nodes, ports that parse.
    pub fn from_flags(
        nodes: Option<u32>,
        rank: Option<u32>,
        coordinator: Option<String>,
        listen: Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<Option<Self>> {
        let (nodes, rank, coordinator, listen) = match (nodes, rank, coordinator, listen) {
            (None, None, None, None) => return Ok(None),
            _ if !cfg!(feature = "distributed") => anyhow::bail!("{NO_DISTRIBUTED}"),
            (Some(n), Some(r), Some(c), Some(l)) => (n, r, c, l),
            _ => anyhow::bail!(
                "a node of a multi-node run needs all four of --nodes N, --rank R, --coordinator HOST:PORT and --listen HOST:PORT (see docs/distributed.md)"
            ),
        };
        anyhow::ensure!(nodes >= 1, "--nodes {nodes}: at least one node");
        anyhow::ensure!(
            rank < nodes,
            "--rank {rank}: ranks of {nodes} nodes are 0 to {}",
            nodes - 1
        );
        for (flag, address) in [("--coordinator", &coordinator), ("--listen", &listen)] {
            port_of(address).with_context(|| {
                format!("{flag} {address}: expected HOST:PORT, e.g. 127.0.0.1:7000")
            })?;
        }
        Ok(Some(Self {
            nodes,
            rank,
            coordinator,
            listen,
            timeout,
        }))
    }
}

/// The port of `HOST:PORT`.
pub(crate) fn port_of(address: &str) -> anyhow::Result<u16> {
    let (_, port) = address.rsplit_once(':').context("no :PORT")?;
    port.trim_end_matches('/')
        .parse()
        .with_context(|| format!("`{port}` is not a port number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "distributed"))]
    #[test]
    fn a_build_without_the_feature_refuses_the_node_flags() {
        let err = NodeSpec::from_flags(Some(2), None, None, None, Duration::from_secs(1));
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("cargo feature `distributed`"));
    }

    #[cfg(feature = "distributed")]
    #[test]
    fn node_flags_come_together_and_make_sense() {
        let t = Duration::from_secs(30);
        assert_eq!(
            NodeSpec::from_flags(None, None, None, None, t).unwrap(),
            None
        );
        let err = NodeSpec::from_flags(Some(2), None, None, None, t)
            .unwrap_err()
            .to_string();
        assert!(err.contains("all four"), "{err}");
        let s = |v: &str| Some(v.to_string());
        let err = NodeSpec::from_flags(Some(2), Some(2), s("h:1"), s("h:2"), t)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ranks of 2 nodes are 0 to 1"), "{err}");
        let err = format!(
            "{:#}",
            NodeSpec::from_flags(Some(2), Some(0), s("h"), s("h:2"), t).unwrap_err()
        );
        assert!(err.contains("--coordinator h: expected HOST:PORT"), "{err}");
        let spec =
            NodeSpec::from_flags(Some(2), Some(1), s("10.0.0.1:7000"), s("10.0.0.2:7001"), t)
                .unwrap()
                .unwrap();
        assert_eq!((spec.nodes, spec.rank), (2, 1));
    }
}
