//! Commands that talk to a live cluster: `inventory`, `drain`, `uncordon`, `check`.

use std::future::Future;

use kubeladder_core::drain::DrainOptions;
use kubeladder_orchestrator::cluster_ops;
use kubeladder_orchestrator::facts::{ControlPlanePods, Cordon, DrainConfig, Inventory, Uncordon};

use crate::Outcome;
use crate::args::{CheckArgs, DrainArgs, InventoryArgs, UncordonArgs};
use crate::commands::cluster_target;
use crate::error::CliError;
use crate::output;

/// Run an async command on a runtime made for it.
pub fn block_on<F: Future<Output = Result<Outcome, CliError>>>(future: F) -> Result<Outcome, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(e.to_string()))?
        .block_on(future)
}

pub async fn inventory(args: &InventoryArgs) -> Result<Outcome, CliError> {
    let inv = cluster_ops::inventory(&cluster_target(&args.cluster)).await?;
    output::emit(args.output, &inv, || render_inventory(&inv))?;
    Ok(Outcome::Ok)
}

pub fn render_inventory(inv: &Inventory) -> String {
    let dash = |s: Option<String>| s.unwrap_or_else(|| "-".to_owned());
    let mut out = format!(
        "Cluster {} (kubeadm-config), kube-proxy {}, CoreDNS {}, kubelet config {}\n\n",
        inv.cluster_version,
        dash(inv.kube_proxy.map(|v| v.to_string())),
        dash(inv.coredns.clone()),
        dash(inv.kubelet_config_map.clone()),
    );
    out += &output::table(
        &[
            "NAME",
            "ROLE",
            "STATUS",
            "KUBELET",
            "APISERVER",
            "CONTROLLER-MANAGER",
            "SCHEDULER",
            "ETCD",
            "RUNTIME",
            "INTERNAL-IP",
        ],
        inv.nodes.iter().map(|n| {
            let cp = n.control_plane.as_ref();
            let v = |f: fn(&ControlPlanePods) -> Option<kubeladder_core::KubeVersion>| {
                dash(cp.and_then(f).map(|v| v.to_string()))
            };
            let mut status = if n.ready { "Ready".to_owned() } else { "NotReady".to_owned() };
            if n.unschedulable {
                status += ",SchedulingDisabled";
            }
            vec![
                n.name.clone(),
                match n.role {
                    kubeladder_core::cluster::Role::ControlPlane => "control-plane".to_owned(),
                    kubeladder_core::cluster::Role::Worker => "worker".to_owned(),
                },
                status,
                n.kubelet.to_string(),
                v(|c| c.apiserver),
                v(|c| c.controller_manager),
                v(|c| c.scheduler),
                dash(cp.and_then(|c| c.etcd.clone())),
                n.container_runtime.clone(),
                dash(n.internal_ip.clone()),
            ]
        }),
    );
    out
}

pub async fn drain(args: &DrainArgs) -> Result<Outcome, CliError> {
    let config = DrainConfig {
        run_id: args.run_id.clone(),
        options: DrainOptions {
            ignore_daemonsets: !args.no_ignore_daemonsets,
            delete_emptydir_data: args.delete_emptydir_data,
            force: args.force,
        },
        timeout: args.timeout,
        max_concurrent_evictions: args.max_concurrent_evictions,
        disable_eviction: args.disable_eviction,
        grace_period_seconds: None,
    };
    let report = cluster_ops::drain_node(&cluster_target(&args.cluster), &args.node, &config).await?;
    let mut out = String::new();
    if let Cordon::Foreign { by } = &report.cordon {
        out += &format!(
            "node/{} was already cordoned by {}; it stays cordoned after the drain\n",
            args.node,
            by.as_deref().unwrap_or("someone else")
        );
    } else {
        out += &format!("node/{} cordoned\n", args.node);
    }
    for w in &report.warnings {
        out += &format!("Warning: {w}\n");
    }
    for pod in &report.evicted {
        out += &format!("evicted pod/{pod}\n");
    }
    if report.budget_waits > 0 {
        out += &format!("waited on PodDisruptionBudgets {} time(s)\n", report.budget_waits);
    }
    out += &format!("node/{} drained\n", args.node);
    output::print(&out)?;
    Ok(Outcome::Ok)
}

pub async fn uncordon(args: &UncordonArgs) -> Result<Outcome, CliError> {
    match cluster_ops::uncordon_node(&cluster_target(&args.cluster), &args.node, &args.run_id, args.force).await? {
        Uncordon::Done => output::print(&format!("node/{} uncordoned\n", args.node))?,
        Uncordon::NotCordoned => output::print(&format!("node/{} already uncordoned\n", args.node))?,
    }
    Ok(Outcome::Ok)
}

pub async fn check(args: &CheckArgs) -> Result<Outcome, CliError> {
    let report = cluster_ops::check(&cluster_target(&args.cluster), args.to).await?;
    let to = report.scanned_to;
    let problems = report.has_problems();
    output::emit(args.output, &report, || {
        let mut out = format!("Cluster {}; removed APIs checked up to {to}.\n\n", report.cluster_version);
        out += &output::table(
            &["GATE", "RESULT", "DETAIL"],
            report
                .gates
                .iter()
                .map(|g| vec![g.name.clone(), if g.passed { "ok" } else { "FAILED" }.to_owned(), g.message.clone()]),
        );
        out += "\n";
        if report.violations.is_empty() {
            out += "Skew policy: no violations.\n";
        } else {
            for v in &report.violations {
                out += &format!("Skew violation: {}\n", v.message);
            }
        }
        if report.removed_apis.is_empty() {
            out += "Removed APIs: none in use.\n";
        } else {
            out += "\n";
            out += &output::table(
                &["REMOVED IN", "KIND", "OBJECT", "API VERSION", "SOURCE", "USE INSTEAD"],
                report.removed_apis.iter().map(|f| {
                    vec![
                        f.removed_in.to_string(),
                        f.kind.clone(),
                        f.namespace.as_ref().map_or_else(|| f.name.clone(), |ns| format!("{ns}/{}", f.name)),
                        f.api_version.clone(),
                        f.source.to_string(),
                        f.replacement.clone().unwrap_or_else(|| "(no successor)".to_owned()),
                    ]
                }),
            );
        }
        out
    })?;
    Ok(if problems { Outcome::Violations } else { Outcome::Ok })
}
