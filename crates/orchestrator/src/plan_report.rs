//! The `UpgradePlan` document: what kubeadm's `upgrade plan` shows, for every hop and node,
//! plus the checks, removed APIs and a drain forecast - built by one pure function,
//! [`build`], from what was read and the one plan computed for it, so that `plan` and
//! `apply` show the same plan from the same computation.

use std::collections::{BTreeMap, BTreeSet};

use kubeladder_core::KubeVersion;
use kubeladder_core::checks::{self, CheckInput, Finding, NodeFacts, RemovedApiUse, Severity};
use kubeladder_core::cluster::Role;
use kubeladder_core::forecast::{self, Forecast};
use kubeladder_core::package::RepoStyle;
use kubeladder_core::path::UpgradePath;
use kubeladder_core::plan::{Plan, PlanError, PlanNote, WorkerStrategy};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::window::MaxUnavailable;
use kubeladder_kube::inventory::Inventory;
use kubeladder_kube::removed_apis;
use kubeladder_kube::workload::WorkloadView;
use serde::Serialize;

use crate::release_channel::Lookup;
use crate::timings::phase;

/// The document's `apiVersion`. v1alpha2: every field camelCase (v1alpha1 had
/// `hops[].workers_upgraded`).
pub const API_VERSION: &str = "kubeladder.io/v1alpha2";

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
#[serde(rename_all = "camelCase")]
pub struct KubeletRow {
    pub node: String,
    pub current: KubeVersion,
    pub target: KubeVersion,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
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
#[serde(rename_all = "camelCase")]
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
    /// The one plan for this path and strategy (or why there is none).
    pub planned: &'a Result<Plan, PlanError>,
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
    /// Whether the hosts file gives each node a legacy-layout mirror for its package format.
    pub legacy_mirrors: BTreeMap<String, bool>,
    /// The sandbox image each node's containerd is configured with, when it sets one.
    pub sandbox_images: BTreeMap<String, String>,
}

pub fn build(i: &Inputs<'_>) -> UpgradePlan {
    let state = i.inventory.cluster_state();
    let workers = state.workers().count();
    let limit = i.max_unavailable.limit(workers);
    let mut findings = Vec::new();
    let (notes, steps, drains, hop_workers) = match i.planned {
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
        i.planned.as_ref().ok().map(|p| forecast::forecast(p, &roles, &i.workload.candidates, &window))
    });
    findings.extend(phase("checks", || cluster_findings(i, &state, &window, &roles)));
    if let Some(target) = i.data.get(i.path.to.minor()) {
        findings.extend(kubeladder_core::sandbox::findings(&i.hosts.sandbox_images, target.minor, &target.pause));
    }
    findings
        .extend(kubeladder_core::drain::drain_blockers(&i.workload.drain_refusals, drains.keys().map(String::as_str)));
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
            cri_socket: n.cri_socket.clone(),
            cgroup_v1: i.hosts.cgroup_v1.get(&n.name).copied(),
            repository: i.hosts.repositories.get(&n.name).copied(),
            legacy_mirror: i.hosts.legacy_mirrors.get(&n.name).copied(),
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
