//! The upgrade plan: an ordered list of steps, per hop, per node, computed up front and
//! proven against the skew policy and kubeadm's own version checks before anything runs.
//!
//! Order within a hop (stricter than the upstream page's per-node recipe, so that no
//! kubelet is ever newer than an apiserver it may reach):
//! 1. `Prepare`: an etcd snapshot on the first control-plane node.
//! 2. `ControlPlane`: each control-plane node in turn - repository, kubeadm package,
//!    `kubeadm upgrade plan` + `apply` on the first, `kubeadm upgrade node` on the others,
//!    then wait for its static pods. Only static pods change here, so no drain.
//! 3. `ControlPlaneKubelets`: once every apiserver is new, each control-plane node in turn:
//!    drain, kubelet/kubectl packages, restart kubelet, wait Ready, uncordon.
//! 4. `Workers`: one lane per worker (repository, kubeadm, drain, `kubeadm upgrade node`,
//!    kubelet/kubectl, restart, wait, uncordon), run through the sliding window of
//!    [`crate::window`]. Workers are independent of each other for the skew policy, so
//!    any interleaving of their lanes is as safe as the sequential order proven here.
//!
//! `--workers lag` leaves workers at their version while the policy and kubeadm allow,
//! and lifts them straight to the current control-plane version when the next hop would
//! leave them behind - two drains instead of five on 1.28 -> 1.33.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterState, NodeState, Role, StaticPods};
use crate::path::{Hop, UpgradePath};
use crate::skew::{self, Component, KubeadmPolicyInput, Rule};
use crate::version::{KubeVersion, Minor};

/// How workers follow the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerStrategy {
    /// Upgrade workers on every hop, as the kubeadm procedure does.
    #[default]
    Follow,
    /// Leave workers behind while the skew policy and kubeadm allow; jump them later.
    Lag,
}

impl fmt::Display for WorkerStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Follow => "follow",
            Self::Lag => "lag",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Prepare,
    ControlPlane,
    ControlPlaneKubelets,
    Workers,
}

/// What a step does. Versions are explicit so a step means the same on every rerun.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// `etcdctl snapshot save` on a control-plane node, before the hop changes anything.
    EtcdSnapshot,
    /// Point the node's package manager at the repository carrying `minor`.
    ConfigureRepository { minor: Minor },
    /// Unhold, install, hold kubeadm at exactly this version.
    InstallKubeadm { version: KubeVersion },
    /// `kubeadm upgrade plan vX`: a read-only check on the first control-plane node.
    KubeadmUpgradePlan { version: KubeVersion },
    /// `kubeadm upgrade apply vX -y` on the first control-plane node.
    KubeadmUpgradeApply { version: KubeVersion },
    /// `kubeadm upgrade node` (control plane: static pods + kubelet config; worker: kubelet config).
    KubeadmUpgradeNode { version: KubeVersion },
    /// Static pods Ready at the version, with a changed config hash.
    WaitStaticPods { version: KubeVersion },
    /// Cordon (recording ownership) and evict within PodDisruptionBudgets.
    Drain,
    /// Unhold, install, hold kubelet and kubectl at exactly this version.
    InstallKubeletKubectl { version: KubeVersion },
    /// `systemctl daemon-reload && systemctl restart kubelet`; the kubelet comes back at `version`.
    RestartKubelet { version: KubeVersion },
    /// Node Ready with this kubelet version.
    WaitNodeReady { version: KubeVersion },
    /// Uncordon - only if this run cordoned the node.
    Uncordon,
}

impl Action {
    /// A short kebab-case name for events and progress (`drain`, `kubeadm-upgrade-apply`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::EtcdSnapshot => "etcd-snapshot",
            Self::ConfigureRepository { .. } => "configure-repository",
            Self::InstallKubeadm { .. } => "install-kubeadm",
            Self::KubeadmUpgradePlan { .. } => "kubeadm-upgrade-plan",
            Self::KubeadmUpgradeApply { .. } => "kubeadm-upgrade-apply",
            Self::KubeadmUpgradeNode { .. } => "kubeadm-upgrade-node",
            Self::WaitStaticPods { .. } => "wait-static-pods",
            Self::Drain => "drain",
            Self::InstallKubeletKubectl { .. } => "install-kubelet-kubectl",
            Self::RestartKubelet { .. } => "restart-kubelet",
            Self::WaitNodeReady { .. } => "wait-node-ready",
            Self::Uncordon => "uncordon",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EtcdSnapshot => f.write_str("etcd snapshot"),
            Self::ConfigureRepository { minor } => write!(f, "configure package repository for {minor}"),
            Self::InstallKubeadm { version } => write!(f, "install kubeadm {version}"),
            Self::KubeadmUpgradePlan { version } => write!(f, "kubeadm upgrade plan {version}"),
            Self::KubeadmUpgradeApply { version } => write!(f, "kubeadm upgrade apply {version} -y"),
            Self::KubeadmUpgradeNode { .. } => f.write_str("kubeadm upgrade node"),
            Self::WaitStaticPods { version } => write!(f, "wait for static pods at {version}"),
            Self::Drain => f.write_str("drain"),
            Self::InstallKubeletKubectl { version } => write!(f, "install kubelet and kubectl {version}"),
            Self::RestartKubelet { .. } => f.write_str("restart kubelet"),
            Self::WaitNodeReady { version } => write!(f, "wait for node Ready with kubelet {version}"),
            Self::Uncordon => f.write_str("uncordon"),
        }
    }
}

/// One step. `id` is stable across runs of the same plan (`h2/cp-1/drain`): the journal
/// records progress by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    /// Index of the hop (0-based) in [`Plan::hops`].
    pub hop: usize,
    pub phase: Phase,
    pub node: String,
    #[serde(flatten)]
    pub action: Action,
}

/// The steps of one worker within one hop, run as a unit by the sliding window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerLane {
    pub node: String,
    pub to: KubeVersion,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopPlan {
    pub from: KubeVersion,
    pub to: KubeVersion,
    /// Nodes whose kubelet is further behind than this hop's `kubeadm upgrade apply`
    /// tolerates, lifted to the cluster's current version before anything else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch_up: Vec<WorkerLane>,
    /// Prepare, control plane and control-plane kubelets, in order.
    pub steps: Vec<Step>,
    /// Workers upgraded in this hop (none in a hop where `lag` leaves them behind).
    pub workers: Vec<WorkerLane>,
}

/// Something the operator should know about the plan that is not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanNote {
    pub hop: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub from: KubeVersion,
    pub to: KubeVersion,
    pub strategy: WorkerStrategy,
    pub hops: Vec<HopPlan>,
    pub notes: Vec<PlanNote>,
}

impl Plan {
    /// Every step in execution order (worker lanes after their hop's control plane).
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.hops.iter().flat_map(|h| {
            h.catch_up
                .iter()
                .flat_map(|w| w.steps.iter())
                .chain(h.steps.iter())
                .chain(h.workers.iter().flat_map(|w| w.steps.iter()))
        })
    }

    /// How many times each node is drained.
    pub fn drains_per_node(&self) -> std::collections::BTreeMap<&str, usize> {
        let mut out = std::collections::BTreeMap::new();
        for step in self.steps().filter(|s| s.action == Action::Drain) {
            *out.entry(step.node.as_str()).or_insert(0) += 1;
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the cluster has no control-plane node; kubeladder upgrades kubeadm clusters")]
    NoControlPlane,
    #[error(
        "the path starts at {path_from} but the cluster runs {cluster}; recompute the path from the cluster version"
    )]
    PathMismatch { path_from: KubeVersion, cluster: KubeVersion },
    #[error("the cluster already violates the version skew policy: {0}; fix it before upgrading")]
    AlreadyViolates(String),
    #[error("step {step} would violate the version skew policy: {message}")]
    WouldViolate { step: String, message: String },
    #[error("step {step} would be refused by kubeadm: {message}")]
    KubeadmRefuses { step: String, message: String },
    #[error("downgrades are not planned by kubeladder's orchestrator; use kubeadm directly and restore from backups")]
    Downgrade,
}

/// Compute the plan for `path` on a cluster in `state`, and prove it: the skew policy holds
/// after every step (except kubeadm's own, documented kube-proxy bump before 1.28, which is
/// reported as a note), and kubeadm's version policy accepts every `upgrade apply` without
/// `--force`.
pub fn plan(state: &ClusterState, path: &UpgradePath, strategy: WorkerStrategy) -> Result<Plan, PlanError> {
    let first_cp = state.control_planes().next().ok_or(PlanError::NoControlPlane)?.name.clone();
    if path.from != state.cluster_version {
        return Err(PlanError::PathMismatch { path_from: path.from, cluster: state.cluster_version });
    }
    if path.hops.iter().any(Hop::is_downgrade) {
        return Err(PlanError::Downgrade);
    }
    if let Some(v) = state.violations().first() {
        return Err(PlanError::AlreadyViolates(v.message.clone()));
    }
    let control_planes: Vec<String> = state.control_planes().map(|n| n.name.clone()).collect();
    let mut hops = Vec::new();
    let mut notes = Vec::new();
    let mut sim = Simulation::new(state.clone(), &mut notes);
    for (index, hop) in path.hops.iter().enumerate() {
        let next_target = path.hops.get(index + 1).map(|h| h.to);
        let tolerated = skew::kubeadm_kubelet_skew(hop.to.minor());
        let behind: Vec<String> = sim
            .state
            .nodes
            .iter()
            .filter(|n| n.kubelet.minor().minors_until(hop.to.minor()) > tolerated)
            .map(|n| n.name.clone())
            .collect();
        let mut catch_up = Vec::new();
        for name in behind {
            let lane = node_lane(index, &name, hop.from, "catch-up");
            for step in &lane {
                sim.apply(step, hop)?;
            }
            catch_up.push(WorkerLane { node: name, to: hop.from, steps: lane });
        }
        let mut steps = Vec::new();
        let mut add = |node: &str, phase: Phase, action: Action| {
            let id = format!("h{}/{node}/{}", index + 1, action.name());
            steps.push(Step { id, hop: index, phase, node: node.to_owned(), action });
        };
        add(&first_cp, Phase::Prepare, Action::EtcdSnapshot);
        for (i, cp) in control_planes.iter().enumerate() {
            add(cp, Phase::ControlPlane, Action::ConfigureRepository { minor: hop.to.minor() });
            add(cp, Phase::ControlPlane, Action::InstallKubeadm { version: hop.to });
            if i == 0 {
                add(cp, Phase::ControlPlane, Action::KubeadmUpgradePlan { version: hop.to });
                add(cp, Phase::ControlPlane, Action::KubeadmUpgradeApply { version: hop.to });
            } else {
                add(cp, Phase::ControlPlane, Action::KubeadmUpgradeNode { version: hop.to });
            }
            add(cp, Phase::ControlPlane, Action::WaitStaticPods { version: hop.to });
        }
        for cp in &control_planes {
            for action in kubelet_actions(hop.to) {
                add(cp, Phase::ControlPlaneKubelets, action);
            }
        }
        for step in &steps {
            sim.apply(step, hop)?;
        }
        let mut workers = Vec::new();
        let worker_names: Vec<String> = sim.state.workers().map(|w| w.name.clone()).collect();
        for name in worker_names {
            let kubelet = sim.node(&name).map_or(hop.to, |n| n.kubelet);
            if kubelet >= hop.to || !must_upgrade_worker(strategy, kubelet, next_target) {
                continue;
            }
            let lane = node_lane(index, &name, hop.to, "");
            for step in &lane {
                sim.apply(step, hop)?;
            }
            workers.push(WorkerLane { node: name, to: hop.to, steps: lane });
        }
        hops.push(HopPlan { from: hop.from, to: hop.to, catch_up, steps, workers });
    }
    Ok(Plan { from: path.from, to: path.to, strategy, hops, notes })
}

/// A node's full lane to `version`: repository, kubeadm, drain, `kubeadm upgrade node`,
/// kubelet/kubectl, restart, wait, uncordon. `tag` keeps catch-up step ids distinct.
fn node_lane(hop: usize, node: &str, version: KubeVersion, tag: &str) -> Vec<Step> {
    let actions = [
        Action::ConfigureRepository { minor: version.minor() },
        Action::InstallKubeadm { version },
        Action::Drain,
        Action::KubeadmUpgradeNode { version },
    ];
    let prefix = if tag.is_empty() { String::new() } else { format!("{tag}-") };
    actions
        .into_iter()
        .chain(kubelet_actions(version).into_iter().skip(1))
        .map(|action| Step {
            id: format!("h{}/{node}/{prefix}{}", hop + 1, action.name()),
            hop,
            phase: Phase::Workers,
            node: node.to_owned(),
            action,
        })
        .collect()
}

fn kubelet_actions(version: KubeVersion) -> [Action; 5] {
    [
        Action::Drain,
        Action::InstallKubeletKubectl { version },
        Action::RestartKubelet { version },
        Action::WaitNodeReady { version },
        Action::Uncordon,
    ]
}

/// Must a worker whose kubelet runs `kubelet` be upgraded in this hop?
/// `follow`: always. `lag`: only when the next hop's apiserver (or kubeadm's check
/// before it) would no longer accept this kubelet, or when this is the last hop.
fn must_upgrade_worker(strategy: WorkerStrategy, kubelet: KubeVersion, next_target: Option<KubeVersion>) -> bool {
    let Some(next) = next_target else { return true };
    match strategy {
        WorkerStrategy::Follow => true,
        WorkerStrategy::Lag => {
            let lag = kubelet.minor().minors_until(next.minor());
            let kubeadm_tolerates = skew::kubeadm_kubelet_skew(next.minor());
            let policy_tolerates = skew::node_component_window(kubelet.minor());
            lag > kubeadm_tolerates.min(policy_tolerates)
        }
    }
}

/// Replays steps on a copy of the cluster state and checks every intermediate state.
/// Linear in the cluster size: steps that change no version are not re-checked, a kubelet
/// restart re-checks its own node only, and control-plane steps re-check everything.
struct Simulation<'a> {
    state: ClusterState,
    index: std::collections::HashMap<String, usize>,
    notes: &'a mut Vec<PlanNote>,
}

impl<'a> Simulation<'a> {
    fn new(state: ClusterState, notes: &'a mut Vec<PlanNote>) -> Self {
        let index = state.nodes.iter().enumerate().map(|(i, n)| (n.name.clone(), i)).collect();
        Self { state, index, notes }
    }

    fn node(&self, name: &str) -> Option<&NodeState> {
        self.index.get(name).map(|&i| &self.state.nodes[i])
    }
}

impl Simulation<'_> {
    fn apply(&mut self, step: &Step, hop: &Hop) -> Result<(), PlanError> {
        if let Action::KubeadmUpgradeApply { version } = &step.action {
            let kubelets: Vec<KubeVersion> = self.state.nodes.iter().map(|n| n.kubelet).collect();
            let errors = skew::kubeadm_policy(&KubeadmPolicyInput {
                cluster: self.state.cluster_version,
                kubeadm: *version,
                target: *version,
                kubelets: &kubelets,
                allow_experimental: version.is_prerelease(),
                allow_release_candidates: version.is_prerelease(),
            });
            if let Some(message) = errors.mandatory.iter().chain(errors.skippable.iter()).next() {
                return Err(PlanError::KubeadmRefuses { step: step.id.clone(), message: message.clone() });
            }
        }
        self.effect(step);
        let on_control_plane = self.node(&step.node).is_some_and(|n| n.role == Role::ControlPlane);
        let violations = match &step.action {
            // Static pods and the kube-proxy addon change: everything may be affected.
            Action::KubeadmUpgradeApply { .. } => self.state.violations(),
            Action::KubeadmUpgradeNode { .. } if on_control_plane => self.state.violations(),
            Action::RestartKubelet { .. } => match (self.state.apiservers(), self.node(&step.node)) {
                (Some(apiservers), Some(node)) => self.state.node_violations(node, apiservers),
                _ => self.state.violations(),
            },
            // Packages, drains, waits and uncordons change no running version.
            _ => Vec::new(),
        };
        for v in violations {
            if is_kubeadm_kube_proxy_bump(&v, hop) {
                let message = format!(
                    "kubeadm {} updates the kube-proxy DaemonSet during `upgrade apply`, while other \
                     apiservers still run {}: kube-proxy is briefly one minor newer than they are \
                     (kubeadm applies addons only after every apiserver is upgraded from 1.28 on)",
                    hop.to,
                    hop.from.minor()
                );
                let note = PlanNote { hop: step.hop, message };
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
                continue;
            }
            return Err(PlanError::WouldViolate { step: step.id.clone(), message: v.message });
        }
        Ok(())
    }

    fn effect(&mut self, step: &Step) {
        if let Some(&i) = self.index.get(&step.node) {
            apply_effect_at(&mut self.state, i, step);
        }
    }
}

/// What a step does to the versions and cordons of a cluster: the model every plan is
/// proven against, and what a faithful executor must reproduce.
pub fn apply_effect(state: &mut ClusterState, step: &Step) {
    if let Some(i) = state.nodes.iter().position(|n| n.name == step.node) {
        apply_effect_at(state, i, step);
    }
}

/// [`apply_effect`] for the node at `index` in `state.nodes`.
fn apply_effect_at(state: &mut ClusterState, index: usize, step: &Step) {
    let is_cp = state.nodes[index].role == Role::ControlPlane;
    match &step.action {
        Action::KubeadmUpgradeApply { version } => {
            state.cluster_version = *version;
            upgrade_static_pods(state, index, *version, true);
        }
        Action::KubeadmUpgradeNode { version } if is_cp => upgrade_static_pods(state, index, *version, false),
        Action::RestartKubelet { version } => state.nodes[index].kubelet = *version,
        Action::Drain => state.nodes[index].cordoned = true,
        Action::Uncordon => state.nodes[index].cordoned = false,
        _ => {}
    }
}

/// Static pods of a control-plane node move to `version`; kubeadm then applies its addons
/// (kube-proxy): before 1.28 in `upgrade apply` whatever the other apiservers run, from
/// 1.28 on only once every apiserver runs the new version.
fn upgrade_static_pods(state: &mut ClusterState, index: usize, version: KubeVersion, is_apply: bool) {
    state.nodes[index].static_pods = Some(StaticPods::all_at(version));
    let all_new = state.control_planes().all(|n| n.static_pods.as_ref().is_some_and(|p| p.apiserver == version));
    let addons_now = if version.minor() < Minor::new(1, 28) { is_apply } else { all_new };
    if addons_now && state.kube_proxy.is_some() {
        state.kube_proxy = Some(version);
    }
}

/// kubeadm before 1.28 bumps the kube-proxy DaemonSet in `upgrade apply` on the first
/// control-plane node, so kube-proxy is briefly newer than the not-yet-upgraded apiservers.
/// The one violation a plan may pass through (reported as a note); checkers use this too.
pub fn is_kubeadm_kube_proxy_bump(v: &crate::cluster::StateViolation, hop: &Hop) -> bool {
    v.component == Component::KubeProxy
        && v.rule == Rule::NewerThanApiserver
        && hop.to.minor() < Minor::new(1, 28)
        && v.version == hop.to.minor()
}

/// Every node's kubelet version after the plan, for checks and summaries.
pub fn final_state(state: &ClusterState, plan: &Plan) -> ClusterState {
    let mut notes = Vec::new();
    let mut sim = Simulation::new(state.clone(), &mut notes);
    for step in plan.steps() {
        sim.effect(step);
    }
    sim.state
}

/// Convenience for tests and the demo: a uniform cluster.
pub fn uniform_cluster(version: KubeVersion, control_planes: usize, workers: usize) -> ClusterState {
    let mut nodes: Vec<NodeState> =
        (1..=control_planes).map(|i| NodeState::control_plane(format!("cp-{i}"), version)).collect();
    nodes.extend((1..=workers).map(|i| NodeState::worker(format!("worker-{i}"), version)));
    ClusterState { cluster_version: version, kube_proxy: Some(version), nodes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::{PathOptions, Target, upgrade_path};
    use crate::release::ReleaseData;
    use proptest::prelude::*;

    use crate::test_support::{kv, path as path_to};

    #[test]
    fn follow_upgrades_everything_every_hop_and_ends_at_the_target() {
        let state = uniform_cluster(kv("v1.18.20"), 3, 6);
        let path = path_to("v1.18.20", "1.23");
        let plan = plan(&state, &path, WorkerStrategy::Follow).unwrap();
        assert_eq!(plan.hops.len(), 5);
        for hop in &plan.hops {
            assert_eq!(hop.workers.len(), 6);
        }
        assert!(plan.drains_per_node().values().all(|&d| d == 5));
        let end = final_state(&state, &plan);
        assert!(end.nodes.iter().all(|n| n.kubelet == kv("v1.23.17") && !n.cordoned));
        assert!(end.control_planes().all(|n| n.static_pods == Some(StaticPods::all_at(kv("v1.23.17")))));
        assert_eq!(end.kube_proxy, Some(kv("v1.23.17")));
        assert_eq!(end.cluster_version, kv("v1.23.17"));
    }

    #[test]
    fn control_plane_kubelets_wait_for_every_apiserver() {
        let state = uniform_cluster(kv("v1.18.20"), 3, 1);
        let plan = plan(&state, &path_to("v1.18.20", "1.19"), WorkerStrategy::Follow).unwrap();
        let ids: Vec<&str> = plan.steps().map(|s| s.id.as_str()).collect();
        let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap_or_else(|| panic!("{id} not in {ids:?}"));
        assert!(pos("h1/cp-3/wait-static-pods") < pos("h1/cp-1/restart-kubelet"));
        assert!(pos("h1/cp-1/etcd-snapshot") < pos("h1/cp-1/kubeadm-upgrade-apply"));
        assert!(pos("h1/cp-1/kubeadm-upgrade-plan") < pos("h1/cp-1/kubeadm-upgrade-apply"));
        assert!(pos("h1/cp-2/kubeadm-upgrade-node") < pos("h1/cp-3/kubeadm-upgrade-node"));
        assert!(pos("h1/cp-3/uncordon") < pos("h1/worker-1/drain"));
        assert!(pos("h1/worker-1/drain") < pos("h1/worker-1/kubeadm-upgrade-node"));
        // Step ids are unique: the journal keys on them.
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
    }

    #[test]
    fn pre_1_28_ha_hops_note_kubeadms_kube_proxy_bump() {
        let plan =
            plan(&uniform_cluster(kv("v1.18.20"), 3, 1), &path_to("v1.18.20", "1.19"), WorkerStrategy::Follow).unwrap();
        assert_eq!(plan.notes.len(), 1);
        assert!(plan.notes[0].message.contains("kube-proxy"));
        let plan = plan_for("v1.28.15", "1.29", 3, WorkerStrategy::Follow);
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    }

    fn plan_for(from: &str, to: &str, cps: usize, strategy: WorkerStrategy) -> Plan {
        plan(&uniform_cluster(kv(from), cps, 4), &path_to(from, to), strategy).unwrap()
    }

    #[test]
    fn lag_drains_each_worker_twice_from_1_28_to_1_33() {
        let p = plan_for("v1.28.15", "1.33", 3, WorkerStrategy::Lag);
        let drains = p.drains_per_node();
        for w in 1..=4 {
            assert_eq!(drains[format!("worker-{w}").as_str()], 2, "{drains:?}");
        }
        let worker_hops: Vec<String> =
            p.hops.iter().filter(|h| !h.workers.is_empty()).map(|h| h.to.minor().to_string()).collect();
        assert_eq!(worker_hops, ["1.31", "1.33"]);
        let follow = plan_for("v1.28.15", "1.33", 3, WorkerStrategy::Follow);
        assert_eq!(follow.drains_per_node()["worker-1"], 5);
    }

    #[test]
    fn lag_before_1_29_cannot_skip_because_kubeadm_tolerates_one_minor() {
        let p = plan_for("v1.18.20", "1.23", 1, WorkerStrategy::Lag);
        assert_eq!(p.drains_per_node()["worker-1"], 5);
    }

    #[test]
    fn refuses_a_cluster_that_already_violates() {
        let mut state = uniform_cluster(kv("v1.20.15"), 1, 1);
        state.nodes[1].kubelet = kv("v1.17.17");
        let err = plan(&state, &path_to("v1.20.15", "1.21"), WorkerStrategy::Follow).unwrap_err();
        assert!(matches!(err, PlanError::AlreadyViolates(_)), "{err}");
    }

    #[test]
    fn kubelets_too_old_for_kubeadm_are_caught_up_before_the_hop() {
        // Two minors behind at 1.21 is legal for the policy, but kubeadm 1.22's apply refuses
        // kubelets more than one minor older than its target: lift it to 1.21 first.
        let mut state = uniform_cluster(kv("v1.21.14"), 1, 2);
        state.nodes[2].kubelet = kv("v1.19.16");
        let p = plan(&state, &path_to("v1.21.14", "1.23"), WorkerStrategy::Follow).unwrap();
        assert_eq!(p.hops[0].catch_up.len(), 1);
        assert_eq!(p.hops[0].catch_up[0].node, "worker-2");
        assert_eq!(p.hops[0].catch_up[0].to, kv("v1.21.14"));
        assert!(p.hops[1].catch_up.is_empty());
        let ids: Vec<&str> = p.steps().map(|s| s.id.as_str()).collect();
        assert_eq!(ids[0], "h1/worker-2/catch-up-configure-repository");
        assert_eq!(final_state(&state, &p).nodes[2].kubelet, kv("v1.23.17"));
        // kubeadm 1.29 tolerates three minors: a 1.26 kubelet needs no catch-up for 1.28 -> 1.29.
        let mut state = uniform_cluster(kv("v1.28.15"), 1, 2);
        state.nodes[2].kubelet = kv("v1.26.15");
        let p = plan(&state, &path_to("v1.28.15", "1.29"), WorkerStrategy::Follow).unwrap();
        assert!(p.hops[0].catch_up.is_empty());
    }

    #[test]
    fn plan_serializes_steps_with_flat_actions() {
        let p = plan_for("v1.28.15", "1.29", 1, WorkerStrategy::Follow);
        let json = serde_json::to_value(&p).unwrap();
        let first = &json["hops"][0]["steps"][0];
        assert_eq!(first["action"], "etcd-snapshot");
        assert_eq!(first["id"], "h1/cp-1/etcd-snapshot");
        let apply = p.steps().find(|s| s.action.name() == "kubeadm-upgrade-apply").unwrap();
        assert_eq!(serde_json::to_value(apply).unwrap()["version"], "v1.29.15");
        let back: Plan = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }

    fn arb_cluster() -> impl Strategy<Value = (ClusterState, UpgradePath)> {
        let data = ReleaseData::embedded().unwrap();
        let first = data.oldest().minor.minor;
        let last = data.newest().minor.minor;
        (first..last, 1u32..=5, 1usize..=3, 0usize..=4, proptest::collection::vec(0i64..=3, 4)).prop_filter_map(
            "path must exist and the start state must be legal",
            move |(start, hops, cps, workers, lags)| {
                let from = data.get(Minor::new(1, start))?.latest_patch;
                let target = Minor::new(1, (start + hops).min(last));
                let target = Target::Version(KubeVersion { major: 1, minor: target.minor, patch: None, pre: None });
                let path = upgrade_path(data, from, target, PathOptions::default()).ok()?;
                let mut state = uniform_cluster(from, cps, workers);
                for (i, lag) in lags.iter().enumerate().take(workers) {
                    let minor = from.minor().offset(-lag)?;
                    state.nodes[cps + i].kubelet = KubeVersion::new(1, minor.minor, 0);
                }
                state.violations().is_empty().then_some((state, path))
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        /// Whatever the cluster, a produced plan never leaves the policy at any step and ends
        /// with every node at the target; refusals are only the documented kinds.
        #[test]
        fn produced_plans_are_safe_and_complete((state, path) in arb_cluster(), lag in any::<bool>()) {
            let strategy = if lag { WorkerStrategy::Lag } else { WorkerStrategy::Follow };
            match plan(&state, &path, strategy) {
                Ok(p) => {
                    let mut sim_notes = Vec::new();
                    let mut sim = Simulation::new(state.clone(), &mut sim_notes);
                    for step in p.steps() {
                        let hop = Hop { from: p.hops[step.hop].from, to: p.hops[step.hop].to };
                        sim.effect(step);
                        for v in sim.state.violations() {
                            prop_assert!(is_kubeadm_kube_proxy_bump(&v, &hop), "{}: {}", step.id, v.message);
                        }
                    }
                    prop_assert!(sim.state.nodes.iter().all(|n| n.kubelet == path.to && !n.cordoned));
                }
                Err(err) => prop_assert!(false, "refused a legal cluster: {}", err),
            }
        }
    }
}
