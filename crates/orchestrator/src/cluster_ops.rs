//! The read and single-node use cases: `inventory`, `drain`, `uncordon`, `check`.

use kubeladder_core::Minor;
use kubeladder_core::cluster::StateViolation;
use kubeladder_core::path::{PathOptions, Target};
use kubeladder_core::release::ReleaseData;
use kubeladder_kube::drain::{self, DrainConfig, DrainReport, Uncordon};
use kubeladder_kube::health::{self, Gate};
use kubeladder_kube::inventory::Inventory;
use kubeladder_kube::removed_apis;
use serde::Serialize;

use crate::error::OrchestratorError;
use crate::session::{self, ClusterTarget, Session};

/// What the cluster runs, node by node.
pub async fn inventory(target: &ClusterTarget) -> Result<Inventory, OrchestratorError> {
    Ok(Session::open(target).await?.inventory)
}

/// Cordon `node` (recording `config.run_id`) and evict its pods within budgets.
pub async fn drain_node(
    target: &ClusterTarget,
    node: &str,
    config: &DrainConfig,
) -> Result<DrainReport, OrchestratorError> {
    let clients = session::connect(target).await?;
    Ok(drain::drain(&clients, node, config).await.map_err(|e| e.at_server(&clients.server))?)
}

/// Uncordon `node`: only a cordon `run_id` set, unless `force`.
pub async fn uncordon_node(
    target: &ClusterTarget,
    node: &str,
    run_id: &str,
    force: bool,
) -> Result<Uncordon, OrchestratorError> {
    let clients = session::connect(target).await?;
    Ok(drain::uncordon(&clients.api, node, run_id, force).await.map_err(|e| e.at_server(&clients.server))?)
}

/// What `check` found.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub cluster_version: String,
    /// The newest minor the removed-API scan looked up to.
    #[serde(skip)]
    pub scanned_to: Minor,
    pub violations: Vec<StateViolation>,
    pub gates: Vec<Gate>,
    pub removed_apis: Vec<removed_apis::Finding>,
}

impl CheckReport {
    /// Whether anything needs the operator's attention.
    pub fn has_problems(&self) -> bool {
        !self.violations.is_empty() || self.gates.iter().any(|g| !g.passed) || !self.removed_apis.is_empty()
    }
}

/// Skew violations, health gates and objects using APIs removed up to `to` (default: the
/// newest minor kubeladder knows).
pub async fn check(target: &ClusterTarget, to: Option<Target>) -> Result<CheckReport, OrchestratorError> {
    let data = ReleaseData::embedded()?;
    let to = to.unwrap_or(Target::Latest).resolve(data, PathOptions::default())?.minor();
    let session = Session::open(target).await?;
    let (api, inv) = (&session.clients.api, &session.inventory);
    Ok(CheckReport {
        cluster_version: inv.cluster_version.to_string(),
        scanned_to: to,
        violations: inv.cluster_state().violations(),
        gates: vec![health::apiserver_ready(api).await, health::control_planes_ready(inv)],
        removed_apis: removed_apis::scan(api, data, inv.cluster_version.minor(), to).await?,
    })
}
