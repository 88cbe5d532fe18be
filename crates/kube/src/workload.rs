//! The workload as the window and the checks see it: each node's evictable pods (requests,
//! budgets), each schedulable node's free allocatable, and each budget's room - read with
//! one list of nodes, one of budgets and pages of pods, each page folded in before the next.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::Client;
use kube::api::{Api, ListParams};
use kubeladder_core::checks::BudgetFacts;
use kubeladder_core::drain::{Decision, DrainOptions, classify};
use kubeladder_core::window::{Candidate, PodDemand, Resources, WindowState};

use crate::budgets::{self, Budget, BudgetIndex};
use crate::drain::{pod_facts, pod_key};
use crate::error::KubeError;

#[derive(Debug, Clone, Default)]
pub struct WorkloadView {
    /// Every node's pods a drain would move, with their requests and budgets.
    pub candidates: Vec<Candidate>,
    /// Free allocatable of schedulable, Ready nodes.
    pub free: BTreeMap<String, Resources>,
    pub budgets: Vec<Budget>,
    pub budget_facts: Vec<BudgetFacts>,
    /// Workers that are unavailable now: cordoned (by anyone) or not Ready.
    pub unavailable_workers: BTreeSet<String>,
    /// Per node, the pods a drain under the chosen options would refuse (`ns/name`,
    /// kubectl's message): they stop that node's drain before anything is evicted.
    pub drain_refusals: BTreeMap<String, Vec<(String, &'static str)>>,
}

impl WorkloadView {
    pub async fn read(client: &Client, options: DrainOptions) -> Result<Self, KubeError> {
        let nodes = Api::<Node>::all(client.clone())
            .list(&ListParams::default())
            .await
            .map_err(|e| KubeError::api("list nodes", e))?
            .items;
        let policy = budgets::policy_version(client).await?;
        let budgets = budgets::list(client, &policy).await?;
        // Pods page by page, each page folded into the tally before the next is read: the
        // full objects of a large cluster's pods never sit in memory together.
        let mut tally = PodTally::new(budgets, options);
        let api = Api::<Pod>::all(client.clone());
        let mut params = ListParams::default().limit(POD_PAGE);
        for _ in 0..MAX_POD_PAGES {
            let page = api.list(&params).await.map_err(|e| KubeError::api("list pods", e))?;
            tally.add(&page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(tally.finish(&nodes)),
            }
        }
        Err(KubeError::EndlessList { what: "pods".to_owned(), pages: MAX_POD_PAGES })
    }

    pub fn from_objects(nodes: &[Node], pods: &[Pod], budgets: Vec<Budget>, options: DrainOptions) -> Self {
        let mut tally = PodTally::new(budgets, options);
        tally.add(pods);
        tally.finish(nodes)
    }
}

/// Pods per list request (kubectl's `--chunk-size` default).
const POD_PAGE: u32 = 500;
/// 5 million pods: far past any cluster, a bound on a misbehaving server's pagination.
const MAX_POD_PAGES: usize = 10_000;

/// What the pods contribute to a [`WorkloadView`], folded in a page at a time.
struct PodTally {
    options: DrainOptions,
    budgets: Vec<Budget>,
    index: BudgetIndex,
    by_node: BTreeMap<String, Vec<PodDemand>>,
    used: BTreeMap<String, Resources>,
    budget_nodes: BTreeMap<String, (BTreeSet<String>, usize)>,
    refusals: BTreeMap<String, Vec<(String, &'static str)>>,
}

impl PodTally {
    fn new(budgets: Vec<Budget>, options: DrainOptions) -> Self {
        Self {
            options,
            index: BudgetIndex::new(&budgets),
            budgets,
            by_node: BTreeMap::new(),
            used: BTreeMap::new(),
            budget_nodes: BTreeMap::new(),
            refusals: BTreeMap::new(),
        }
    }

    fn add(&mut self, pods: &[Pod]) {
        let daemonsets = BTreeSet::new();
        let no_labels = BTreeMap::new();
        for pod in pods {
            let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else { continue };
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
            if phase == "Succeeded" || phase == "Failed" {
                continue;
            }
            let requests = pod_requests(pod);
            let u = self.used.entry(node.clone()).or_default();
            u.cpu_millis += requests.cpu_millis;
            u.memory_bytes += requests.memory_bytes;
            let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
            let labels = pod.metadata.labels.as_ref().unwrap_or(&no_labels);
            let pod_budgets: Vec<String> =
                self.index.matching(&self.budgets, ns, labels).into_iter().map(Budget::key).collect();
            for b in &pod_budgets {
                let entry = self.budget_nodes.entry(b.clone()).or_default();
                entry.0.insert(node.clone());
                entry.1 += 1;
            }
            // Only pods the drain would move count (DaemonSet pods are assumed present:
            // their DaemonSet existence does not matter for what moves).
            let facts = pod_facts(pod, &daemonsets);
            let facts = kubeladder_core::drain::PodFacts { controller_exists: true, ..facts };
            match classify(&facts, self.options) {
                Decision::Evict { .. } => self.by_node.entry(node).or_default().push(PodDemand {
                    name: pod_key(pod),
                    requests,
                    budgets: pod_budgets,
                }),
                Decision::Refuse { error } => self.refusals.entry(node).or_default().push((pod_key(pod), error)),
                Decision::Skip { .. } => {}
            }
        }
    }

    fn finish(self, nodes: &[Node]) -> WorkloadView {
        let Self { mut by_node, used, budget_nodes, budgets, refusals, .. } = self;
        let mut free = BTreeMap::new();
        let mut candidates = Vec::new();
        let mut unavailable_workers = BTreeSet::new();
        for node in nodes {
            let name = node.metadata.name.clone().unwrap_or_default();
            candidates.push(Candidate { node: name.clone(), pods: by_node.remove(&name).unwrap_or_default() });
            let schedulable = !node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
            let status = node.status.clone().unwrap_or_default();
            let ready = status.conditions.unwrap_or_default().iter().any(|c| c.type_ == "Ready" && c.status == "True");
            let tainted = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .is_some_and(|t| t.iter().any(|t| t.effect == "NoSchedule"));
            let control_plane = node.metadata.labels.as_ref().is_some_and(|l| {
                l.contains_key("node-role.kubernetes.io/control-plane")
                    || l.contains_key("node-role.kubernetes.io/master")
            });
            if !control_plane && (!schedulable || !ready) {
                unavailable_workers.insert(name.clone());
            }
            if schedulable && ready && !tainted {
                let alloc = status.allocatable.unwrap_or_default();
                let total = Resources {
                    cpu_millis: alloc.get("cpu").map_or(0, |q| cpu_millis(q).unwrap_or(0)),
                    memory_bytes: alloc.get("memory").map_or(0, |q| bytes(q).unwrap_or(0)),
                };
                let u = used.get(&name).copied().unwrap_or_default();
                free.insert(
                    name,
                    Resources {
                        cpu_millis: total.cpu_millis.saturating_sub(u.cpu_millis),
                        memory_bytes: total.memory_bytes.saturating_sub(u.memory_bytes),
                    },
                );
            }
        }
        let budget_facts = budgets
            .iter()
            .map(|b| {
                let (nodes, pods) = budget_nodes.get(&b.key()).cloned().unwrap_or_default();
                BudgetFacts { name: b.key(), disruptions_allowed: b.disruptions_allowed, nodes, pods }
            })
            .collect();
        WorkloadView { candidates, free, budgets, budget_facts, unavailable_workers, drain_refusals: refusals }
    }
}

impl WorkloadView {
    /// The window as observed: `limit`, unavailable nodes given, budget room from status.
    pub fn window(&self, limit: usize, unavailable: BTreeSet<String>) -> WindowState {
        WindowState {
            limit,
            unavailable,
            budget_room: self
                .budgets
                .iter()
                .map(|b| (b.key(), u32::try_from(b.disruptions_allowed.max(0)).unwrap_or(u32::MAX)))
                .collect(),
            free: self.free.clone(),
        }
    }
}

fn pod_requests(pod: &Pod) -> Resources {
    let mut total = Resources::default();
    for c in pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default() {
        if let Some(req) = c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
            total.cpu_millis += req.get("cpu").and_then(cpu_millis).unwrap_or(0);
            total.memory_bytes += req.get("memory").and_then(bytes).unwrap_or(0);
        }
    }
    total
}

/// `250m` -> 250, `2` -> 2000, `0.5` -> 500.
pub fn cpu_millis(q: &Quantity) -> Option<u64> {
    let s = q.0.trim();
    if let Some(m) = s.strip_suffix('m') {
        return m.parse().ok();
    }
    let v: f64 = s.parse().ok()?;
    if v < 0.0 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked non-negative, rounded
    Some((v * 1000.0).round() as u64)
}

/// Binary and decimal suffixes of Kubernetes quantities.
const UNITS: [(&str, u64); 12] = [
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("Pi", 1 << 50),
    ("Ei", 1 << 60),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("E", 1_000_000_000_000_000_000),
];

/// `128Mi`, `1Gi`, `500M`, `1e9`, `1024` -> bytes.
pub fn bytes(q: &Quantity) -> Option<u64> {
    let s = q.0.trim();
    for (suffix, factor) in UNITS {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<u64>().ok().and_then(|n| n.checked_mul(factor));
        }
    }
    let v: f64 = s.parse().ok()?;
    if v < 0.0 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked non-negative
    Some(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity(s.to_owned())
    }

    #[test]
    fn quantities() {
        assert_eq!(cpu_millis(&q("250m")), Some(250));
        assert_eq!(cpu_millis(&q("2")), Some(2000));
        assert_eq!(cpu_millis(&q("0.5")), Some(500));
        assert_eq!(bytes(&q("128Mi")), Some(128 << 20));
        assert_eq!(bytes(&q("1Gi")), Some(1 << 30));
        assert_eq!(bytes(&q("500M")), Some(500_000_000));
        assert_eq!(bytes(&q("1e9")), Some(1_000_000_000));
        assert_eq!(bytes(&q("x")), None);
    }
}
