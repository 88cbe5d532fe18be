//! `kubeladder plan`: the read-only report before an upgrade, rendered the way
//! `kubeadm upgrade plan` prints it. The report itself is built by the orchestrator's
//! `prepare` use case, the same computation `apply` runs.

use std::collections::{BTreeMap, BTreeSet};

use kubeladder_core::checks::Finding;
use kubeladder_orchestrator::plan_report::UpgradePlan;
use kubeladder_orchestrator::prepare::{self, HostProbe, PlanRequest};

use crate::Outcome;
use crate::args::{PlanArgs, StrategyArgs};
use crate::commands::cluster_target;
use crate::error::CliError;
use crate::output;

/// What `plan` and `apply` ask the planner for.
pub fn plan_request(
    target: kubeladder_core::path::Target,
    strategy: &StrategyArgs,
    today: jiff::civil::Date,
    release_url: &str,
    hosts: HostProbe,
    drain: crate::args::DrainFlagArgs,
) -> PlanRequest {
    PlanRequest {
        target,
        allow_prerelease: strategy.allow_prerelease,
        strategy: strategy.workers.into(),
        max_unavailable: strategy.max_unavailable,
        today,
        release_url: release_url.to_owned(),
        hosts,
        drain: prepare::upgrade_drain_options(drain.delete_emptydir_data, drain.force),
    }
}

pub async fn run(args: &PlanArgs) -> Result<Outcome, CliError> {
    let hosts = match &args.hosts {
        Some(file) => HostProbe::All(file.clone()),
        None => HostProbe::Off,
    };
    let today = args.date.unwrap_or_else(crate::commands::versions::today);
    let request = plan_request(args.to, &args.strategy, today, &args.release_url, hosts, args.drain);
    let prepared = Box::pin(prepare::prepare(&cluster_target(&args.cluster), &request)).await?;
    let report = &prepared.report;
    output::emit(args.output, report, || render(report))?;
    Ok(if report.blockers > 0 { Outcome::Blockers } else { Outcome::Ok })
}

pub fn render(p: &UpgradePlan) -> String {
    let mut out = format!(
        "[upgrade/config] Cluster {} (kubeadm-config): {} control-plane node(s), {} worker(s)\n",
        p.cluster.version, p.cluster.control_planes, p.cluster.workers
    );
    out += &format!("[upgrade/versions] Latest stable version: {} ({})\n", p.latest_stable, p.latest_stable_source);
    if let Some(series) = p.latest_in_series {
        out += &format!("[upgrade/versions] Latest version in the v{} series: {series}\n", p.cluster.version.minor());
    }
    let hops = p.hops.len();
    out += &format!(
        "[upgrade/plan] Target {} in {hops} hop{}; workers: {}; max unavailable: {}\n\n",
        p.target,
        if hops == 1 { "" } else { "s" },
        p.strategy,
        p.max_unavailable
    );
    if p.hops.is_empty() {
        out += &format!(
            "[upgrade/plan] The cluster already runs {}: no hop to make (give a newer --to to upgrade)\n\n",
            p.cluster.version
        );
    }
    out += "Components that must be upgraded manually after the control plane (kubeladder does it):\n";
    out += &output::table(
        &["COMPONENT", "NODE", "CURRENT", "TARGET"],
        p.kubelets
            .iter()
            .map(|k| vec!["kubelet".to_owned(), k.node.clone(), k.current.to_string(), k.target.to_string()]),
    );
    out += "\nControl plane, hop by hop:\n";
    let mut headers = vec!["COMPONENT".to_owned(), "CURRENT".to_owned()];
    headers.extend(p.hops.iter().enumerate().map(|(n, _)| format!("HOP {}", n + 1)));
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    out += &output::table(
        &header_refs,
        p.control_plane.iter().map(|r| {
            let mut row = vec![r.component.to_owned(), r.current.clone()];
            row.extend(r.targets.iter().cloned());
            row
        }),
    );
    out +=
        "\nThe table below shows the current state of component configs as understood by this version of kubeladder.\n";
    out += &output::table(
        &["API GROUP", "CURRENT VERSION", "PREFERRED VERSION", "MANUAL UPGRADE REQUIRED"],
        p.component_configs.iter().map(|c| {
            vec![
                c.api_group.to_owned(),
                c.current_version.to_owned(),
                c.preferred_version.to_owned(),
                if c.manual_upgrade_required { "yes" } else { "no" }.to_owned(),
            ]
        }),
    );
    out += &render_hops(p);
    out += &render_forecast(p);
    out += &match p.blockers {
        0 => "\nNo blockers.\n".to_owned(),
        n => format!("\n{n} blocker(s): fix them, then run `kubeladder plan` again.\n"),
    };
    out
}

fn render_hops(p: &UpgradePlan) -> String {
    let mut out = String::new();
    for (n, hop) in p.hops.iter().enumerate() {
        out += &format!(
            "\nHop {}: {} -> {} ({} worker(s) upgraded in this hop)\n",
            n + 1,
            hop.from,
            hop.to,
            hop.workers_upgraded
        );
        if !hop.packages.is_empty() {
            let list: Vec<String> = hop.packages.iter().map(|(style, v)| format!("{style} {v}")).collect();
            out += &format!("  packages: {}\n", list.join(", "));
        }
        for item in &hop.checklist {
            out += &format!("  - {item}\n");
        }
        let into = hop.to.minor();
        for f in p.findings.iter().filter(|f| f.hop_into == Some(into)) {
            out += &format!("  {:?}: {} -> {}\n", f.severity, f.message, f.fix);
        }
    }
    let general: Vec<&Finding> =
        p.findings.iter().filter(|f| f.hop_into.is_none_or(|m| !p.hops.iter().any(|h| h.to.minor() == m))).collect();
    if !general.is_empty() {
        out += "\nChecks for this cluster:\n";
        out += &output::table(
            &["SEVERITY", "CHECK", "SUBJECT", "MESSAGE", "WHAT TO DO"],
            general.iter().map(|f| {
                vec![
                    format!("{:?}", f.severity).to_uppercase(),
                    f.check.to_owned(),
                    f.subject.clone(),
                    f.message.clone(),
                    f.fix.clone(),
                ]
            }),
        );
    }
    for note in &p.notes {
        out += &format!("\nNote (hop {}): {}\n", note.hop + 1, note.message);
    }
    out
}

fn render_forecast(p: &UpgradePlan) -> String {
    let mut out = String::new();
    if let Some(f) = &p.forecast {
        out += &format!(
            "\nDrain forecast ({} steps; drains per node: {}):\n",
            p.steps,
            drains_summary(&p.drains_per_node)
        );
        out += &output::table(
            &["WAVE", "HOP", "START", "NODES", "PODS MOVED", "BUDGETS TOUCHED"],
            f.waves.iter().enumerate().map(|(n, w)| {
                vec![
                    (n + 1).to_string(),
                    (w.hop + 1).to_string(),
                    format!("+{}m", w.start_s / 60),
                    w.nodes.join(","),
                    w.pods_moved.to_string(),
                    if w.budgets.is_empty() { "-".to_owned() } else { w.budgets.join(",") },
                ]
            }),
        );
        out += &format!(
            "Estimated duration: {} min (no schedule could beat {} min); estimates per step are in `kubeladder plan --help`.\n",
            f.total_s.div_ceil(60),
            f.lower_bound_s.div_ceil(60)
        );
        if !f.stuck.is_empty() {
            out += &format!("Workers that could never start: {}\n", f.stuck.join(", "));
        }
    }
    out
}

fn drains_summary(d: &BTreeMap<String, usize>) -> String {
    let counts: BTreeSet<usize> = d.values().copied().collect();
    match counts.len() {
        0 => "none".to_owned(),
        1 => format!("{} each", counts.iter().next().copied().unwrap_or(0)),
        _ => format!("{} to {}", counts.first().copied().unwrap_or(0), counts.last().copied().unwrap_or(0)),
    }
}
