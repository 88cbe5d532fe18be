//! `kubeladder hosts check`: reach every node the way an upgrade would, and report what it
//! runs (OS, package manager, repository, kubeadm/kubelet/kubectl and their holds, the
//! next minor's versions on offer). Read-only on the nodes.

use std::sync::Arc;
use std::time::Duration;

use kubeladder_kube::inventory::Inventory;
use kubeladder_node::hosts::{Host, Hosts, Transport};
use kubeladder_node::probe::{self, HostReport};
use kubeladder_node::{KubePackage, NodeError, SshOptions};
use serde::Serialize;

use crate::Outcome;
use crate::args::HostsCheckArgs;
use crate::error::CliError;
use crate::output;

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
struct HostsCheckReport {
    /// `cluster` (the cluster's nodes) or `hosts-file` (the file's hosts, no cluster).
    source: &'static str,
    hosts: Vec<HostCheck>,
    unreachable: usize,
    /// Hosts the file lists that the cluster has no node for (not checked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_in_cluster: Vec<String>,
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

/// The nodes to check, each resolved to a host or the reason it cannot be.
async fn targets(args: &HostsCheckArgs, hosts: &Hosts) -> Result<Targets, CliError> {
    let use_cluster = args.hosts.is_none() || args.cluster.kubeconfig.is_some() || args.cluster.context.is_some();
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
    let clients =
        kubeladder_kube::client::connect(args.cluster.kubeconfig.as_deref(), args.cluster.context.as_deref()).await?;
    let inventory = Inventory::read(&clients.api).await?;
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
    match result {
        Ok(report) => HostCheck {
            node: host.node,
            address,
            transport: Some(host.transport),
            reachable: true,
            error: None,
            report: Some(report),
        },
        Err(e) => HostCheck {
            node: host.node,
            address,
            transport: Some(host.transport),
            reachable: false,
            error: Some(e.to_string()),
            report: None,
        },
    }
}

pub async fn check(args: &HostsCheckArgs) -> Result<Outcome, CliError> {
    // A malformed hosts file is bad input: refused before anything is reached (exit 2).
    let hosts = match &args.hosts {
        Some(path) => Hosts::load(path).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Hosts::default(),
    };
    let Targets { source, nodes, not_in_cluster } = targets(args, &hosts).await?;
    let options = SshOptions {
        connect_timeout: args.connect_timeout,
        trust_on_first_use: args.trust_on_first_use,
        ..SshOptions::default()
    };
    let permits = Arc::new(tokio::sync::Semaphore::new(args.max_concurrent.max(1)));
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
                let (permits, options, timeout) = (permits.clone(), options.clone(), args.timeout);
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    (index, check_one(host, options, timeout).await)
                });
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        let (index, check) = done.map_err(|e| CliError::Runtime(format!("a host check stopped: {e}")))?;
        checks[index] = Some(check);
    }
    let hosts: Vec<HostCheck> = checks.into_iter().flatten().collect();
    let unreachable = hosts.iter().filter(|h| !h.reachable).count();
    let report = HostsCheckReport { source, hosts, unreachable, not_in_cluster };
    output::emit(args.output, &report, || {
        let mut out = render(&report.hosts);
        if !report.not_in_cluster.is_empty() {
            out += &format!(
                "\nIn the hosts file but not in the cluster (not checked): {}\n",
                report.not_in_cluster.join(", ")
            );
        }
        out
    })?;
    for host in report.hosts.iter().filter(|h| !h.reachable) {
        eprintln!("error: {}", host.error.as_deref().unwrap_or("unreachable"));
    }
    if unreachable > 0 {
        eprintln!("error: {unreachable} of {} hosts unreachable or refused", report.hosts.len());
        return Ok(Outcome::Violations);
    }
    Ok(Outcome::Ok)
}

/// kubectl-style table, then the reasons for hosts that failed.
pub fn render(hosts: &[HostCheck]) -> String {
    let dash = || "-".to_owned();
    let mut out = output::table(
        &[
            "NODE",
            "ADDRESS",
            "REACHABLE",
            "OS",
            "CGROUP",
            "PACKAGES",
            "REPOSITORY",
            "KUBEADM",
            "KUBELET",
            "KUBECTL",
            "NEXT MINOR AVAILABLE",
        ],
        hosts.iter().map(|h| {
            let Some(r) = &h.report else {
                let mut row = vec![h.node.clone(), h.address.clone(), "NO".to_owned()];
                row.extend(std::iter::repeat_with(dash).take(8));
                return row;
            };
            let package = |package: KubePackage| {
                let state = r.packages.iter().find(|p| p.package == package);
                match state.and_then(|p| p.version.as_ref().map(|v| (v, p.held))) {
                    Some((version, true)) => format!("{version} (held)"),
                    Some((version, false)) => version.clone(),
                    None => dash(),
                }
            };
            let repository = match (r.repository, r.repository_minor) {
                (Some(repo), Some(minor)) => format!("{repo} {minor}"),
                (Some(repo), None) => repo.to_string(),
                (None, _) => dash(),
            };
            let next = match r.next_minor {
                Some(minor) => match r.next_minor_available.as_slice() {
                    [newest] => format!("{minor}: {newest}"),
                    [newest, older @ ..] => format!("{minor}: {newest} (+{} older)", older.len()),
                    [] => format!("{minor}: none"),
                },
                None => dash(),
            };
            vec![
                h.node.clone(),
                h.address.clone(),
                "yes".to_owned(),
                r.os.clone().unwrap_or_else(dash),
                r.cgroup.map_or_else(dash, |c| c.to_string()),
                r.package_manager.to_string(),
                repository,
                package(KubePackage::Kubeadm),
                package(KubePackage::Kubelet),
                package(KubePackage::Kubectl),
                next,
            ]
        }),
    );
    let notes: Vec<String> = hosts
        .iter()
        .flat_map(|h| {
            let reason = h.error.iter().map(move |e| format!("{}: UNREACHABLE: {e}", h.node));
            let notes = h.report.iter().flat_map(|r| r.notes.iter()).map(move |n| format!("{}: {n}", h.node));
            reason.chain(notes)
        })
        .collect();
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            out += &note;
            out.push('\n');
        }
    }
    out
}
