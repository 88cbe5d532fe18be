//! `kubeladder hosts check`: flags into the orchestrator's hosts check; the report as a
//! kubectl-style table or JSON.

use kubeladder_core::package::KubePackage;
use kubeladder_orchestrator::hosts_check::{self, HostCheck, HostsCheckRequest};

use crate::Outcome;
use crate::args::HostsCheckArgs;
use crate::commands::cluster_target;
use crate::error::CliError;
use crate::output;

pub async fn check(args: &HostsCheckArgs) -> Result<Outcome, CliError> {
    let request = HostsCheckRequest {
        hosts: args.hosts.clone(),
        use_cluster: args.hosts.is_none() || args.cluster.kubeconfig.is_some() || args.cluster.context.is_some(),
        connect_timeout: args.connect_timeout,
        timeout: args.timeout,
        max_concurrent: args.max_concurrent,
        trust_on_first_use: args.trust_on_first_use,
    };
    let report = hosts_check::check(&cluster_target(&args.cluster), &request).await?;
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
    if report.unreachable > 0 {
        eprintln!("error: {} of {} hosts unreachable or refused", report.unreachable, report.hosts.len());
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
