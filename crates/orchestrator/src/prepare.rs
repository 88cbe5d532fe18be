//! The `prepare` use case, shared by `plan` and `apply`: read the cluster, compute the path
//! and ONE plan, read what the checks need (workloads, removed APIs, the hosts when asked),
//! and build the [`UpgradePlan`] report from them with the pure [`plan_report::build`].

use std::path::{Path, PathBuf};

use kubeladder_core::checks::{self, Finding, Severity};
use kubeladder_core::drain::DrainOptions;
use kubeladder_core::path::{self, PathOptions, Target, UpgradePath};
use kubeladder_core::plan::{self, Plan, PlanError, WorkerStrategy};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::window::MaxUnavailable;
use kubeladder_kube::removed_apis;
use kubeladder_kube::workload::WorkloadView;
use kubeladder_node::NodeError;
use kubeladder_node::probe::{self, CgroupVersion, HostReport};

use crate::error::OrchestratorError;
use crate::plan_report::{self, HostFacts, Inputs, UpgradePlan};
use crate::release_channel;
use crate::session::{ClusterTarget, Reach, Session};
use crate::timings::{phase, phase_async};

/// The drain options of an upgrade, as the kubeadm docs drain (`kubectl drain
/// --ignore-daemonsets`): DaemonSet pods stay; pods with emptyDir need
/// `delete_emptydir_data`, pods without a controller need `force`, or they stop the drain.
/// <https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/>
pub fn upgrade_drain_options(delete_emptydir_data: bool, force: bool) -> DrainOptions {
    DrainOptions { ignore_daemonsets: true, delete_emptydir_data, force }
}

/// When the hosts are asked (read-only) for what only they know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostProbe {
    /// Never (no hosts file given to `plan`).
    Off,
    /// Every node, through this hosts file; a node that does not answer is a BLOCKER
    /// (`plan --hosts`).
    All(PathBuf),
    /// Only when a check depends on what the hosts know (the cgroup version on a path into
    /// 1.35); a node that does not answer is left to the run's own reachability check
    /// (`apply`).
    WhenChecksNeed(Option<PathBuf>),
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub target: Target,
    pub allow_prerelease: bool,
    pub strategy: WorkerStrategy,
    pub max_unavailable: MaxUnavailable,
    /// Judge end of life on this date.
    pub today: jiff::civil::Date,
    /// Where to ask for the latest release (`off`: the shipped data only).
    pub release_url: String,
    pub hosts: HostProbe,
    /// How the run will drain ([`upgrade_drain_options`]): pods it would refuse are BLOCKERs.
    pub drain: DrainOptions,
}

/// A cluster read and planned.
#[derive(Debug)]
pub struct Prepared {
    pub session: Session,
    pub path: UpgradePath,
    /// The one plan (or why kubeladder cannot prove one safe).
    pub plan: Result<Plan, PlanError>,
    pub report: UpgradePlan,
}

impl Prepared {
    /// The plan, or the reason there is none as a refusal (nothing was changed).
    pub fn proven_plan(&self) -> Result<&Plan, OrchestratorError> {
        self.plan.as_ref().map_err(|e| OrchestratorError::Refused(format!("no safe plan: {e}")))
    }
}

/// Read the cluster and plan the upgrade. Read-only: no lock, nothing changed.
pub async fn prepare(target: &ClusterTarget, request: &PlanRequest) -> Result<Prepared, OrchestratorError> {
    let data = ReleaseData::embedded()?;
    let session = Box::pin(phase_async("read inventory", Session::open(target))).await?;
    let inventory = &session.inventory;
    let options = PathOptions { allow_prerelease: request.allow_prerelease, allow_downgrade: false };
    let path = path::upgrade_path(data, inventory.cluster_version, request.target, options)?;
    let api = &session.clients.api;
    let workload = phase_async("read workload", WorkloadView::read(api, request.drain)).await?;
    let removed =
        phase_async("read removed APIs", removed_apis::scan(api, data, path.from.minor(), path.to.minor())).await?;
    let series = inventory.cluster_version.minor();
    let latest = phase_async("read latest release", release_channel::lookup(&request.release_url, series)).await;
    let (hosts, host_findings) = match &request.hosts {
        HostProbe::All(file) => phase_async("read hosts", host_facts(Some(file), &session)).await?,
        HostProbe::WhenChecksNeed(file)
            if checks::needs_cgroup_v2(&path) || checks::legacy_only_minor(data, &path).is_some() =>
        {
            // Unreachable nodes are refused by the run's preflight with exit 2.
            (host_facts(file.as_deref(), &session).await?.0, Vec::new())
        }
        HostProbe::Off | HostProbe::WhenChecksNeed(_) => (HostFacts::default(), Vec::new()),
    };
    let planned = phase("plan", || plan::plan(&inventory.cluster_state(), &path, request.strategy));
    let mut report = phase("build", || {
        plan_report::build(&Inputs {
            data,
            today: request.today,
            inventory,
            workload: &workload,
            removed: &removed,
            path: &path,
            planned: &planned,
            strategy: request.strategy,
            max_unavailable: request.max_unavailable,
            hosts: &hosts,
            latest: &latest,
        })
    });
    report.blockers += host_findings.len();
    report.findings.extend(host_findings);
    Ok(Prepared { session, path, plan: planned, report })
}

/// Probe every node reachable through the hosts file: the repository it installs from,
/// its cgroup version, and a BLOCKER for each node that cannot be reached (an upgrade
/// would stop there).
async fn host_facts(hosts: Option<&Path>, session: &Session) -> Result<(HostFacts, Vec<Finding>), OrchestratorError> {
    use futures::StreamExt as _;
    let reach = Reach::build(hosts, &session.inventory)?;
    let probes: Vec<(String, Result<HostReport, NodeError>)> = futures::stream::iter(reach.executors.iter())
        .map(|(node, exec)| async {
            let pm = reach.package_managers.get(node).copied();
            let report = probe::probe(exec.as_ref(), pm, std::time::Duration::from_secs(60)).await;
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
                let format = report.package_manager.format();
                let mirrored = reach.package_sources.get(&node).is_some_and(|s| s.legacy_url(format).is_some());
                facts.legacy_mirrors.insert(node.clone(), mirrored);
                if let Some(c) = report.cgroup {
                    facts.cgroup_v1.insert(node.clone(), c == CgroupVersion::V1);
                }
                if let Some(image) = report.sandbox_image {
                    facts.sandbox_images.insert(node.clone(), image);
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
