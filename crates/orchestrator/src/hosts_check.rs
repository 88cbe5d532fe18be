//! The `hosts check` use case: reach every node the way an upgrade would and report what
//! it runs (OS, package manager, repository, kubeadm/kubelet/kubectl and their holds, the
//! next minor's versions on offer). Read-only on the nodes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kubeladder_node::hosts::{Host, Hosts, Transport};
use kubeladder_node::probe::{self, HostReport};
use kubeladder_node::{NodeError, SshOptions};
use serde::Serialize;

use crate::error::OrchestratorError;
use crate::session::{ClusterTarget, Session};

/// What to check and how.
#[derive(Debug, Clone)]
pub struct HostsCheckRequest {
    /// The hosts file (how to reach each node).
    pub hosts: Option<PathBuf>,
    /// Read the nodes from the cluster (else only the hosts the file lists).
    pub use_cluster: bool,
    pub connect_timeout: Duration,
    /// Budget for each command on a host.
    pub timeout: Duration,
    /// Hosts checked at once.
    pub max_concurrent: usize,
    /// Record unknown SSH host keys instead of refusing them.
    pub trust_on_first_use: bool,
}

/// One node: how it was reached and what it reported, or why it could not be.
#[derive(Debug, Serialize)]
pub struct HostCheck {
    pub node: String,
    /// Where kubeladder connected (`10.0.0.1:22`, `10.0.0.1 via https://127.0.0.1:PORT` for
    /// the simulator, `local`).
    pub address: String,
    pub transport: Option<Transport>,
    pub reachable: bool,
    /// Why the node could not be reached or refused (names node, address and reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<HostReport>,
}

#[derive(Debug, Serialize)]
pub struct HostsCheckReport {
    /// `cluster` (the cluster's nodes) or `hosts-file` (the file's hosts, no cluster).
    pub source: &'static str,
    pub hosts: Vec<HostCheck>,
    pub unreachable: usize,
    /// Hosts the file lists that the cluster has no node for (not checked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_in_cluster: Vec<String>,
}

/// Where `host` is reached, as reports show it.
fn shown_address(host: &Host) -> String {
    match (host.transport, &host.sim) {
        (Transport::Local, _) => "local".to_owned(),
        (Transport::Sim, Some(sim)) => format!("{} via {}", host.address, sim.url),
        (Transport::Sim, None) => host.address.clone(),
        (Transport::Ssh, _) => match &host.jump_host {
            Some(jump) => format!("{}:{} via {jump}", host.address, host.port),
            None => format!("{}:{}", host.address, host.port),
        },
    }
}

/// A node to check: resolved to a host, or the reason it cannot be.
type Target = (String, Result<Host, String>);

/// What to check: where the list came from, the nodes, the file's hosts left out.
struct Targets {
    source: &'static str,
    nodes: Vec<Target>,
    not_in_cluster: Vec<String>,
}

async fn targets(cluster: &ClusterTarget, use_cluster: bool, hosts: &Hosts) -> Result<Targets, OrchestratorError> {
    if !use_cluster {
        let resolved = hosts
            .nodes()
            .iter()
            .map(|node| {
                let host = hosts.resolve(node, None).ok_or_else(|| {
                    format!("node {node}: no address in the hosts file (and no cluster to read its InternalIP from)")
                });
                (node.clone(), host)
            })
            .collect();
        return Ok(Targets { source: "hosts-file", nodes: resolved, not_in_cluster: Vec::new() });
    }
    let inventory = Session::open(cluster).await?.inventory;
    let resolved: Vec<Target> = inventory
        .nodes
        .iter()
        .map(|node| {
            let host = hosts.resolve(&node.name, node.internal_ip.as_deref()).ok_or_else(|| {
                format!(
                    "node {}: no InternalIP and no entry in the hosts file; add `- node: {}` with its address",
                    node.name, node.name
                )
            });
            (node.name.clone(), host)
        })
        .collect();
    let not_in_cluster =
        hosts.nodes().iter().filter(|name| !inventory.nodes.iter().any(|n| &n.name == *name)).cloned().collect();
    Ok(Targets { source: "cluster", nodes: resolved, not_in_cluster })
}

/// Reach one host and probe it.
async fn check_one(host: Host, options: SshOptions, timeout: Duration) -> HostCheck {
    let address = shown_address(&host);
    let result: Result<HostReport, NodeError> = async {
        let exec = kubeladder_node::exec::executor_for(&host, &options, None)?;
        probe::probe(exec.as_ref(), host.package_manager, timeout).await
    }
    .await;
    let (reachable, error, report) = match result {
        Ok(report) => (true, None, Some(report)),
        Err(e) => (false, Some(e.to_string()), None),
    };
    HostCheck { node: host.node, address, transport: Some(host.transport), reachable, error, report }
}

/// Check every node. A malformed hosts file is refused before anything is reached.
pub async fn check(
    cluster: &ClusterTarget,
    request: &HostsCheckRequest,
) -> Result<HostsCheckReport, OrchestratorError> {
    let hosts = match &request.hosts {
        Some(path) => Hosts::load(path)?,
        None => Hosts::default(),
    };
    let Targets { source, nodes, not_in_cluster } = targets(cluster, request.use_cluster, &hosts).await?;
    let options = SshOptions {
        connect_timeout: request.connect_timeout,
        trust_on_first_use: request.trust_on_first_use,
        ..SshOptions::default()
    };
    let permits = Arc::new(tokio::sync::Semaphore::new(request.max_concurrent.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut checks: Vec<Option<HostCheck>> = Vec::new();
    for (index, (node, target)) in nodes.into_iter().enumerate() {
        checks.push(None);
        match target {
            Err(reason) => {
                checks[index] = Some(HostCheck {
                    node,
                    address: "-".to_owned(),
                    transport: None,
                    reachable: false,
                    error: Some(reason),
                    report: None,
                });
            }
            Ok(host) => {
                let (permits, options, timeout) = (permits.clone(), options.clone(), request.timeout);
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    (index, check_one(host, options, timeout).await)
                });
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        let (index, check) = done.map_err(|e| OrchestratorError::Internal(format!("a host check stopped: {e}")))?;
        checks[index] = Some(check);
    }
    let hosts: Vec<HostCheck> = checks.into_iter().flatten().collect();
    let unreachable = hosts.iter().filter(|h| !h.reachable).count();
    Ok(HostsCheckReport { source, hosts, unreachable, not_in_cluster })
}
