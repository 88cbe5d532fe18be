//! `kubeladder plan`: the read-only report before an upgrade - what kubeadm's `upgrade plan`
//! shows, for every hop and node, plus the checks, removed APIs and a drain forecast.
//! No lock is taken and nothing is changed.

use std::collections::{BTreeMap, BTreeSet};

use kubeladder_core::KubeVersion;
use kubeladder_core::checks::{self, CheckInput, Finding, NodeFacts, RemovedApiUse, Severity};
use kubeladder_core::cluster::Role;
use kubeladder_core::drain::DrainOptions;
use kubeladder_core::forecast::{self, Forecast};
use kubeladder_core::package::RepoStyle;
use kubeladder_core::path::{self, PathOptions, UpgradePath};
use kubeladder_core::plan::{self, PlanNote, WorkerStrategy};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::window::MaxUnavailable;
use kubeladder_kube::inventory::Inventory;
use kubeladder_kube::removed_apis;
use kubeladder_kube::workload::WorkloadView;
use serde::Serialize;

use crate::Outcome;
use crate::args::PlanArgs;
use crate::error::CliError;
use crate::output;
use crate::release_channel::{self, Lookup};
use crate::timings::{phase, phase_async};

pub const API_VERSION: &str = "kubeladder.io/v1alpha1";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradePlan {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub cluster: ClusterSummary,
    pub target: KubeVersion,
    pub strategy: WorkerStrategy,
    pub max_unavailable: String,
    pub latest_stable: KubeVersion,
    /// Where `latest_stable` came from: `online: URL`, or the shipped data (and why).
    pub latest_stable_source: String,
    pub latest_in_series: Option<KubeVersion>,
    pub kubelets: Vec<KubeletRow>,
    pub control_plane: Vec<ComponentRow>,
    pub component_configs: Vec<ComponentConfigRow>,
    pub hops: Vec<HopSummary>,
    pub findings: Vec<Finding>,
    pub notes: Vec<PlanNote>,
    pub steps: usize,
    pub drains_per_node: BTreeMap<String, usize>,
    pub forecast: Option<Forecast>,
    pub blockers: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSummary {
    pub version: KubeVersion,
    pub uid: String,
    pub control_planes: usize,
    pub workers: usize,
}

#[derive(Debug, Serialize)]
pub struct KubeletRow {
    pub node: String,
    pub current: KubeVersion,
    pub target: KubeVersion,
}

#[derive(Debug, Serialize)]
pub struct ComponentRow {
    pub component: &'static str,
    pub current: String,
    /// One value per hop, in order.
    pub targets: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentConfigRow {
    pub api_group: &'static str,
    pub current_version: &'static str,
    pub preferred_version: &'static str,
    pub manual_upgrade_required: bool,
}

#[derive(Debug, Serialize)]
pub struct HopSummary {
    pub from: KubeVersion,
    pub to: KubeVersion,
    pub packages: BTreeMap<String, String>,
    pub checklist: Vec<String>,
    pub workers_upgraded: usize,
}

/// What the report is computed from (everything already read).
#[derive(Debug)]
pub struct Inputs<'a> {
    pub data: &'a ReleaseData,
    pub today: jiff::civil::Date,
    pub inventory: &'a Inventory,
    pub workload: &'a WorkloadView,
    pub removed: &'a [removed_apis::Finding],
    pub path: &'a UpgradePath,
    pub strategy: WorkerStrategy,
    pub max_unavailable: MaxUnavailable,
    /// What the hosts told (empty without `--hosts`).
    pub hosts: &'a HostFacts,
    /// What upstream says is the latest release, when asked.
    pub latest: &'a Lookup,
}

/// What only the hosts know, per node.
#[derive(Debug, Default)]
pub struct HostFacts {
    /// The repository each node installs from.
    pub repositories: BTreeMap<String, kubeladder_core::package::Repository>,
    /// Nodes known to run the cgroup v1 hierarchy (`true`) or v2 (`false`).
    pub cgroup_v1: BTreeMap<String, bool>,
}

/// Probe every node reachable through the hosts file: the repository it installs from,
/// its cgroup version, and a BLOCKER for each node that cannot be reached (an upgrade
/// would stop there).
pub async fn host_facts(
    hosts: Option<&std::path::Path>,
    inventory: &Inventory,
) -> Result<(HostFacts, Vec<Finding>), CliError> {
    use futures::StreamExt as _;
    let (execs, pms) = crate::commands::upgrade::executors(hosts, inventory)?;
    let probes: Vec<(String, Result<kubeladder_node::probe::HostReport, kubeladder_node::NodeError>)> =
        futures::stream::iter(execs.iter())
            .map(|(node, exec)| async {
                let report = kubeladder_node::probe::probe(
                    exec.as_ref(),
                    pms.get(node).copied(),
                    std::time::Duration::from_secs(60),
                )
                .await;
                (node.clone(), report)
            })
            .buffer_unordered(16)
            .collect()
            .await;
    let mut facts = HostFacts::default();
    let mut findings = Vec::new();
    for (node, probe) in probes {
        match probe {
            Ok(report) => {
                if let Some(c) = report.cgroup {
                    facts.cgroup_v1.insert(node.clone(), c == kubeladder_node::probe::CgroupVersion::V1);
                }
                if let Some(r) = report.repository {
                    facts.repositories.insert(node, r);
                }
            }
            Err(e) => findings.push(Finding {
                check: "node-unreachable",
                severity: Severity::Blocker,
                hop_into: None,
                subject: node.clone(),
                message: e.to_string(),
                fix: format!("make {node} reachable as the hosts file says (`kubeladder hosts check`)"),
            }),
        }
    }
    findings.sort_by(|a, b| a.subject.cmp(&b.subject));
    Ok((facts, findings))
}

pub async fn run(args: &PlanArgs) -> Result<Outcome, CliError> {
    let data = ReleaseData::embedded()?;
    let clients =
        kubeladder_kube::client::connect(args.cluster.kubeconfig.as_deref(), args.cluster.context.as_deref()).await?;
    let inventory = phase_async("read inventory", Inventory::read(&clients.api)).await?;
    let options = PathOptions { allow_prerelease: args.strategy.allow_prerelease, allow_downgrade: false };
    let path = path::upgrade_path(data, inventory.cluster_version, args.to, options)?;
    let workload = phase_async("read workload", WorkloadView::read(&clients.api, upgrade_drain_options())).await?;
    let removed =
        phase_async("read removed APIs", removed_apis::scan(&clients.api, data, path.from.minor(), path.to.minor()))
            .await?;
    let today = args.date.unwrap_or_else(crate::commands::versions::today);
    let latest = phase_async(
        "read latest release",
        release_channel::lookup(&args.release_url, inventory.cluster_version.minor()),
    )
    .await;
    let (hosts, host_findings) = match &args.hosts {
        Some(hosts) => phase_async("read hosts", host_facts(Some(hosts), &inventory)).await?,
        None => (HostFacts::default(), Vec::new()),
    };
    let mut report = phase("build", || {
        build(&Inputs {
            data,
            today,
            inventory: &inventory,
            workload: &workload,
            removed: &removed,
            path: &path,
            strategy: args.strategy.workers.into(),
            max_unavailable: args.strategy.max_unavailable,
            hosts: &hosts,
            latest: &latest,
        })
    });
    report.blockers += host_findings.len();
    report.findings.extend(host_findings);
    output::emit(args.output, &report, || render(&report))?;
    Ok(if report.blockers > 0 { Outcome::Blockers } else { Outcome::Ok })
}

/// The drain options an upgrade uses: DaemonSet pods stay, emptyDir and bare pods move.
pub fn upgrade_drain_options() -> DrainOptions {
    DrainOptions { ignore_daemonsets: true, delete_emptydir_data: true, force: true }
}

pub fn build(i: &Inputs<'_>) -> UpgradePlan {
    let state = i.inventory.cluster_state();
    let workers = state.workers().count();
    let limit = i.max_unavailable.limit(workers);
    let mut findings = Vec::new();
    let planned = phase("plan", || plan::plan(&state, i.path, i.strategy));
    let (notes, steps, drains, hop_workers) = match &planned {
        Ok(p) => (
            p.notes.clone(),
            p.steps().count(),
            p.drains_per_node().into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            p.hops.iter().map(|h| h.workers.len()).collect::<Vec<_>>(),
        ),
        Err(e) => {
            findings.push(Finding {
                check: "plan-refused",
                severity: Severity::Blocker,
                hop_into: None,
                subject: "plan".to_owned(),
                message: e.to_string(),
                fix: "fix the cause above; kubeladder only runs plans it has proven safe".to_owned(),
            });
            (Vec::new(), 0, BTreeMap::new(), vec![0; i.path.hops.len()])
        }
    };
    let unavailable: BTreeSet<String> =
        state.nodes.iter().filter(|n| n.cordoned || !n.ready).map(|n| n.name.clone()).collect();
    let window = i.workload.window(limit, unavailable);
    let roles: BTreeMap<String, Role> = state.nodes.iter().map(|n| (n.name.clone(), n.role)).collect();
    let forecast = phase("forecast", || {
        planned.as_ref().ok().map(|p| forecast::forecast(p, &roles, &i.workload.candidates, &window))
    });
    findings.extend(phase("checks", || cluster_findings(i, &state, &window, &roles)));
    let (latest_stable, latest_stable_source, latest_in_series) = latest_release(i, state.cluster_version.minor());
    if latest_stable.minor() > i.data.newest().minor {
        findings.push(Finding {
            check: "release-data-behind",
            severity: Severity::Warning,
            hop_into: None,
            subject: "kubeladder release data".to_owned(),
            message: format!(
                "upstream's latest stable release is {latest_stable}; this kubeladder knows minors up to {}",
                i.data.newest().minor
            ),
            fix: format!("upgrade kubeladder to plan an upgrade to {}", latest_stable.minor()),
        });
    }
    let blockers = findings.iter().filter(|f| f.severity == Severity::Blocker).count();
    let target = i.path.to;
    UpgradePlan {
        api_version: API_VERSION,
        kind: "UpgradePlan",
        cluster: ClusterSummary {
            version: state.cluster_version,
            uid: i.inventory.cluster_uid.clone(),
            control_planes: state.control_planes().count(),
            workers,
        },
        target,
        strategy: i.strategy,
        max_unavailable: format!("{} ({limit} node{})", i.max_unavailable, if limit == 1 { "" } else { "s" }),
        latest_stable,
        latest_stable_source,
        latest_in_series,
        kubelets: state.nodes.iter().map(|n| KubeletRow { node: n.name.clone(), current: n.kubelet, target }).collect(),
        control_plane: control_plane_rows(i, &state),
        component_configs: vec![
            ComponentConfigRow {
                api_group: "kubeproxy.config.k8s.io",
                current_version: "v1alpha1",
                preferred_version: "v1alpha1",
                manual_upgrade_required: false,
            },
            ComponentConfigRow {
                api_group: "kubelet.config.k8s.io",
                current_version: "v1beta1",
                preferred_version: "v1beta1",
                manual_upgrade_required: false,
            },
        ],
        hops: hop_summaries(i, hop_workers),
        findings,
        notes,
        steps,
        drains_per_node: drains,
        forecast,
        blockers,
    }
}

/// The latest stable release and the latest of the cluster's series, and where they came
/// from: upstream when it answered, else the shipped release data (saying why).
fn latest_release(i: &Inputs<'_>, series: kubeladder_core::Minor) -> (KubeVersion, String, Option<KubeVersion>) {
    let shipped_series = i.data.get(series).map(|r| r.latest_patch);
    let shipped = |why: Option<&str>| match why {
        Some(why) => format!("kubeladder release data (offline: {why})"),
        None => "kubeladder release data (offline)".to_owned(),
    };
    match i.latest {
        Lookup::Online { url, stable, in_series } => (*stable, format!("online: {url}"), in_series.or(shipped_series)),
        Lookup::Failed(why) => (i.data.newest().latest_patch, shipped(Some(why)), shipped_series),
        Lookup::Off => (i.data.newest().latest_patch, shipped(None), shipped_series),
    }
}

/// Every check for this cluster and path, from what was read.
fn cluster_findings(
    i: &Inputs<'_>,
    state: &kubeladder_core::cluster::ClusterState,
    window: &kubeladder_core::window::WindowState,
    roles: &BTreeMap<String, Role>,
) -> Vec<Finding> {
    // Each worker alone: do its pods fit on the others?
    let mut alone = window.clone();
    alone.unavailable.clear();
    alone.limit = 1;
    let misfits: Vec<(String, String)> = phase("capacity", || {
        i.workload
            .candidates
            .iter()
            .filter(|c| roles.get(&c.node) == Some(&Role::Worker))
            .filter_map(|c| {
                let waiting = kubeladder_core::window::admit(&alone, std::slice::from_ref(c)).waiting;
                waiting.into_iter().find_map(|w| match w {
                    kubeladder_core::window::Wait::Capacity { node, pod } => Some((node, pod)),
                    _ => None,
                })
            })
            .collect()
    });
    let node_facts: Vec<NodeFacts> = i
        .inventory
        .nodes
        .iter()
        .map(|n| NodeFacts {
            name: n.name.clone(),
            container_runtime: n.container_runtime.clone(),
            cgroup_v1: i.hosts.cgroup_v1.get(&n.name).copied(),
            repository: i.hosts.repositories.get(&n.name).copied(),
            etcd: n.control_plane.as_ref().and_then(|c| c.etcd.clone()),
        })
        .collect();
    let removed: Vec<RemovedApiUse> = i
        .removed
        .iter()
        .map(|f| RemovedApiUse {
            removed_in: f.removed_in,
            object: format!(
                "{} {}",
                f.kind,
                f.namespace.as_ref().map_or_else(|| f.name.clone(), |ns| format!("{ns}/{}", f.name))
            ),
            api_version: f.api_version.clone(),
            source: f.source.to_string(),
            replacement: f.replacement.clone(),
        })
        .collect();
    checks::run(&CheckInput {
        data: i.data,
        today: i.today,
        state,
        path: i.path,
        nodes: &node_facts,
        budgets: &i.workload.budget_facts,
        removed_apis: &removed,
        kubeadm_config_api: i.inventory.kubeadm_config_api.as_deref(),
        capacity_misfits: &misfits,
    })
}

fn hop_summaries(i: &Inputs<'_>, hop_workers: Vec<usize>) -> Vec<HopSummary> {
    i.path
        .hops
        .iter()
        .zip(hop_workers)
        .map(|(h, workers_upgraded)| {
            let release = i.data.get(h.to.minor());
            let mut packages = BTreeMap::new();
            for style in RepoStyle::ALL {
                let carried = release.is_some_and(|r| r.repositories.contains(&style.repository));
                if carried && let Ok(v) = style.package_version(&h.to) {
                    packages.insert(style.to_string(), v.to_string());
                }
            }
            HopSummary {
                from: h.from,
                to: h.to,
                packages,
                checklist: release.map(|r| r.checklist.clone()).unwrap_or_default(),
                workers_upgraded,
            }
        })
        .collect()
}

fn control_plane_rows(i: &Inputs<'_>, state: &kubeladder_core::cluster::ClusterState) -> Vec<ComponentRow> {
    let hops = &i.path.hops;
    let versions = |current: String| ComponentRow {
        component: "",
        current,
        targets: hops.iter().map(|h| h.to.to_string()).collect(),
    };
    let from_data = |current: String, field: fn(&kubeladder_core::release::Release) -> String| ComponentRow {
        component: "",
        current,
        targets: hops.iter().map(|h| i.data.get(h.to.minor()).map_or_else(|| "?".to_owned(), field)).collect(),
    };
    let spread = |f: fn(&kubeladder_core::cluster::StaticPods) -> KubeVersion| {
        let set: BTreeSet<String> =
            state.control_planes().filter_map(|n| n.static_pods.as_ref()).map(|p| f(p).to_string()).collect();
        set.into_iter().collect::<Vec<_>>().join(", ")
    };
    let etcd: BTreeSet<String> =
        i.inventory.nodes.iter().filter_map(|n| n.control_plane.as_ref()?.etcd.clone()).collect();
    let mut rows = vec![
        ComponentRow { component: "API Server", ..versions(spread(|p| p.apiserver)) },
        ComponentRow { component: "Controller Manager", ..versions(spread(|p| p.controller_manager)) },
        ComponentRow { component: "Scheduler", ..versions(spread(|p| p.scheduler)) },
    ];
    if let Some(proxy) = state.kube_proxy {
        rows.push(ComponentRow { component: "Kube Proxy", ..versions(proxy.to_string()) });
    }
    rows.push(ComponentRow {
        component: "CoreDNS",
        ..from_data(i.inventory.coredns.clone().unwrap_or_else(|| "-".to_owned()), |r| r.coredns.clone())
    });
    rows.push(ComponentRow {
        component: "Etcd",
        ..from_data(
            if etcd.is_empty() { "external".to_owned() } else { etcd.into_iter().collect::<Vec<_>>().join(", ") },
            |r| r.etcd.clone(),
        )
    });
    rows
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
