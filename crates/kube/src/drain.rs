//! Cordon with ownership, and a drain with `kubectl drain`'s decisions and tighter bounds.
//!
//! - Cordoning records the run id in the node annotation [`CORDONED_BY`]; a node found
//!   already cordoned is reported as a foreign cordon and is never uncordoned by us.
//! - Pods are classified by `kubeladder_core::drain` before anything is evicted; one pod
//!   that cannot be handled refuses the whole node (it stays cordoned, nothing evicted).
//! - Evictions go through the Eviction API in the version discovery reports, with a body
//!   we build, in parallel up to a bound; a 429 backs off per budget (doubling, capped),
//!   instead of kubectl's fixed 5 s retry. `disable_eviction` deletes instead.
//! - Deletion is awaited with a watch on the node's pods, not by polling each pod.
//! - On timeout the node stays cordoned and the error names every blocking budget.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use http::Request;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::watcher;
use kubeladder_core::drain::{self, DrainOptions, PodFacts, PodPhase};
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use crate::budgets::{self, Budget};
use crate::error::Blocker;
use crate::error::KubeError;

/// Node annotation naming the kubeladder run that cordoned the node.
pub const CORDONED_BY: &str = "kubeladder.io/cordoned-by";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cordon", rename_all = "kebab-case")]
pub enum Cordon {
    /// We cordoned it now (or had, in an earlier attempt of this run).
    ByUs,
    /// It was cordoned by someone else (`by`: another kubeladder run, if it says so).
    Foreign { by: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "uncordon", rename_all = "kebab-case")]
pub enum Uncordon {
    Done,
    /// The node was schedulable already.
    NotCordoned,
}

/// Cordon `node` for `run_id`. Idempotent for the same run.
pub async fn cordon(client: &Client, node: &str, run_id: &str) -> Result<Cordon, KubeError> {
    let nodes: Api<Node> = Api::all(client.clone());
    let current = nodes.get(node).await.map_err(|e| KubeError::api(&format!("read node {node}"), e))?;
    let by = annotation(&current, CORDONED_BY);
    if current.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
        return Ok(if by.as_deref() == Some(run_id) { Cordon::ByUs } else { Cordon::Foreign { by } });
    }
    // Optimistic concurrency: if someone cordons between our read and write, we conflict
    // (409) instead of claiming their cordon.
    let patch = json!({
        "metadata": {"resourceVersion": current.metadata.resource_version, "annotations": {CORDONED_BY: run_id}},
        "spec": {"unschedulable": true},
    });
    nodes
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| KubeError::api(&format!("cordon node {node}"), e))?;
    Ok(Cordon::ByUs)
}

/// Uncordon `node` if `run_id` cordoned it. A node cordoned by anyone else is refused
/// unless `force`, with who holds it.
pub async fn uncordon(client: &Client, node: &str, run_id: &str, force: bool) -> Result<Uncordon, KubeError> {
    let nodes: Api<Node> = Api::all(client.clone());
    let current = nodes.get(node).await.map_err(|e| KubeError::api(&format!("read node {node}"), e))?;
    if !current.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
        return Ok(Uncordon::NotCordoned);
    }
    let by = annotation(&current, CORDONED_BY);
    if by.as_deref() != Some(run_id) && !force {
        return Err(KubeError::ForeignCordon { node: node.to_owned(), by });
    }
    let patch = json!({
        "metadata": {"resourceVersion": current.metadata.resource_version, "annotations": {CORDONED_BY: null}},
        "spec": {"unschedulable": false},
    });
    nodes
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| KubeError::api(&format!("uncordon node {node}"), e))?;
    Ok(Uncordon::Done)
}

fn annotation(node: &Node, key: &str) -> Option<String> {
    node.metadata.annotations.as_ref().and_then(|a| a.get(key)).cloned()
}

#[derive(Debug, Clone)]
pub struct DrainConfig {
    pub run_id: String,
    pub options: DrainOptions,
    pub timeout: Duration,
    pub max_concurrent_evictions: usize,
    /// Delete pods instead of evicting them (ignores budgets, like kubectl's flag).
    pub disable_eviction: bool,
    /// Override each pod's termination grace period.
    pub grace_period_seconds: Option<i64>,
}

impl Default for DrainConfig {
    fn default() -> Self {
        Self {
            run_id: String::new(),
            options: DrainOptions { ignore_daemonsets: true, delete_emptydir_data: false, force: false },
            timeout: Duration::from_secs(300),
            max_concurrent_evictions: 8,
            disable_eviction: false,
            grace_period_seconds: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    pub node: String,
    pub cordon: Cordon,
    pub evicted: Vec<String>,
    pub skipped: Vec<String>,
    pub warnings: Vec<String>,
    /// Eviction attempts a budget answered with 429.
    pub budget_waits: u32,
}

/// Cordon and drain `node`.
pub async fn drain(
    clients: &crate::client::Clients,
    node: &str,
    config: &DrainConfig,
) -> Result<DrainReport, KubeError> {
    let deadline = Instant::now() + config.timeout;
    let cordon = cordon(&clients.api, node, &config.run_id).await?;
    let pods_api: Api<Pod> = Api::all(clients.api.clone());
    let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let listed = pods_api.list(&on_node).await.map_err(|e| KubeError::api(&format!("list pods on node {node}"), e))?;
    let daemonsets: BTreeSet<String> = Api::<DaemonSet>::all(clients.api.clone())
        .list_metadata(&ListParams::default())
        .await
        .map_err(|e| KubeError::api("list DaemonSets", e))?
        .items
        .into_iter()
        .filter_map(|d| Some(format!("{}/{}", d.metadata.namespace?, d.metadata.name?)))
        .collect();
    let facts: Vec<PodFacts> = listed.items.iter().map(|p| pod_facts(p, &daemonsets)).collect();
    let selection = drain::select(&facts, config.options)
        .map_err(|e| KubeError::DrainRefused { node: node.to_owned(), reason: e.to_string() })?;
    let to_evict: Vec<&Pod> = listed.items.iter().filter(|p| selection.evict.contains(&pod_key(p))).collect();
    let mut report = DrainReport {
        node: node.to_owned(),
        cordon,
        evicted: Vec::new(),
        skipped: selection.skip.clone(),
        warnings: selection.warnings.clone(),
        budget_waits: 0,
    };
    if to_evict.is_empty() {
        return Ok(report);
    }
    let policy = budgets::policy_version(&clients.api).await?;
    let all_budgets = budgets::list(&clients.api, &policy).await?;
    let eviction_version = eviction_group_version(&clients.api).await?;
    let backoff = Arc::new(Mutex::new(BudgetBackoff::default()));
    let waits = Arc::new(Mutex::new(0u32));

    // Owned pods: a stream of futures borrowing them would not be `Send` for every lifetime,
    // which callers spawning this future on a multi-threaded runtime need.
    let owned: Vec<Pod> = to_evict.iter().map(|p| (*p).clone()).collect();
    let evictions = futures::stream::iter(owned.into_iter().map(|pod| {
        let budgets_of_pod: Vec<String> = all_budgets
            .iter()
            .filter(|b| b.selects(&namespace(&pod), &pod.metadata.labels.clone().unwrap_or_default()))
            .map(Budget::key)
            .collect();
        let client = clients.no_retry.clone();
        let backoff = Arc::clone(&backoff);
        let waits = Arc::clone(&waits);
        let version = eviction_version.clone();
        async move { evict_one(&client, &pod, &version, config, &budgets_of_pod, &backoff, &waits, deadline).await }
    }))
    .buffer_unordered(config.max_concurrent_evictions.max(1));
    let outcome = tokio::time::timeout_at(deadline, evictions.try_collect::<Vec<_>>()).await;
    report.budget_waits = waits.lock().map_or(0, |w| *w);
    match outcome {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(timeout_error(clients, node, &to_evict, &policy).await),
    }
    // Wait (watch) until every evicted pod is gone from the node.
    let gone: BTreeMap<String, String> =
        to_evict.iter().map(|p| (pod_key(p), p.metadata.uid.clone().unwrap_or_default())).collect();
    let waited = tokio::time::timeout_at(deadline, wait_gone(&clients.api, node, gone)).await;
    match waited {
        Ok(result) => result?,
        Err(_) => return Err(timeout_error(clients, node, &to_evict, &policy).await),
    }
    report.evicted = to_evict.iter().map(|p| pod_key(p)).collect();
    Ok(report)
}

/// Per-budget exponential backoff shared by all evictions of one drain.
#[derive(Debug, Default)]
struct BudgetBackoff {
    delay: BTreeMap<String, Duration>,
}

impl BudgetBackoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(8);

    fn next_delay(&mut self, budgets: &[String]) -> Duration {
        let mut longest = Self::FIRST;
        for b in budgets {
            let d = self.delay.entry(b.clone()).or_insert(Self::FIRST);
            longest = longest.max(*d);
            *d = (*d * 2).min(Self::MAX);
        }
        longest
    }

    fn reset(&mut self, budgets: &[String]) {
        for b in budgets {
            self.delay.remove(b);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn evict_one(
    client: &Client,
    pod: &Pod,
    version: &str,
    config: &DrainConfig,
    budgets: &[String],
    backoff: &Mutex<BudgetBackoff>,
    waits: &Mutex<u32>,
    deadline: Instant,
) -> Result<(), KubeError> {
    let ns = namespace(pod);
    let name = pod.metadata.name.clone().unwrap_or_default();
    if config.disable_eviction {
        let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let params = DeleteParams {
            grace_period_seconds: config.grace_period_seconds.and_then(|g| u32::try_from(g).ok()),
            ..DeleteParams::default()
        };
        return match api.delete(&name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(KubeError::api(&format!("delete pod {ns}/{name}"), e)),
        };
    }
    let mut body = json!({
        "apiVersion": version,
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": ns},
    });
    if let Some(grace) = config.grace_period_seconds {
        body["deleteOptions"] = json!({"gracePeriodSeconds": grace});
    }
    let url = format!("/api/v1/namespaces/{ns}/pods/{name}/eviction");
    let bytes = serde_json::to_vec(&body).map_err(|e| KubeError::Request(e.to_string()))?;
    loop {
        let request = Request::post(&url)
            .header("Content-Type", "application/json")
            .body(bytes.clone())
            .map_err(|e| KubeError::Request(e.to_string()))?;
        match client.request::<serde_json::Value>(request).await {
            Ok(_) => {
                if let Ok(mut b) = backoff.lock() {
                    b.reset(budgets);
                }
                return Ok(());
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 429 => {
                if let Ok(mut w) = waits.lock() {
                    *w += 1;
                }
                let delay = backoff.lock().map_or(BudgetBackoff::FIRST, |mut b| b.next_delay(budgets));
                if Instant::now() + delay > deadline {
                    // Let the overall timeout report the blockers.
                    tokio::time::sleep_until(deadline).await;
                }
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(KubeError::api(&format!("evict pod {ns}/{name}"), e)),
        }
    }
}

/// Watch the node's pods until none of `gone` (key -> uid) remains with its uid.
async fn wait_gone(client: &Client, node: &str, mut gone: BTreeMap<String, String>) -> Result<(), KubeError> {
    let api: Api<Pod> = Api::all(client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut stream = watcher(api, config).boxed();
    let mut present: BTreeMap<String, String> = BTreeMap::new();
    // During a (re)list the picture is partial: a pod not listed yet only looks gone.
    let mut listed = false;
    while let Some(event) = stream.try_next().await.map_err(|e| KubeError::Watch(e.to_string()))? {
        match event {
            watcher::Event::Init => {
                present.clear();
                listed = false;
            }
            watcher::Event::InitApply(p) | watcher::Event::Apply(p) => {
                present.insert(pod_key(&p), p.metadata.uid.clone().unwrap_or_default());
            }
            watcher::Event::Delete(p) => {
                present.remove(&pod_key(&p));
            }
            watcher::Event::InitDone => listed = true,
        }
        if !listed {
            continue;
        }
        gone.retain(|key, uid| present.get(key) == Some(uid));
        if gone.is_empty() {
            return Ok(());
        }
    }
    Err(KubeError::Watch(format!("the watch on node {node}'s pods ended")))
}

async fn timeout_error(clients: &crate::client::Clients, node: &str, pods: &[&Pod], policy: &str) -> KubeError {
    let pods_api: Api<Pod> = Api::all(clients.api.clone());
    let still: BTreeSet<String> = pods_api
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .map(|l| l.items.iter().map(pod_key).collect())
        .unwrap_or_default();
    let budgets = budgets::list(&clients.api, policy).await.unwrap_or_default();
    let mut blockers = Vec::new();
    for pod in pods.iter().filter(|p| still.contains(&pod_key(p))) {
        // Only a budget with no disruption left holds a pod; one that allows a disruption
        // did not stop this pod (it was evicted and still terminating, or retried too late).
        for b in budgets.iter().filter(|b| {
            b.disruptions_allowed <= 0 && b.selects(&namespace(pod), &pod.metadata.labels.clone().unwrap_or_default())
        }) {
            blockers.push(Blocker {
                pod: pod_key(pod),
                budget: b.key(),
                disruptions_allowed: b.disruptions_allowed,
                current_healthy: b.current_healthy,
                desired_healthy: b.desired_healthy,
            });
        }
    }
    let remaining = pods.iter().filter(|p| still.contains(&pod_key(p))).map(|p| pod_key(p)).collect();
    KubeError::DrainTimeout { node: node.to_owned(), blockers, remaining }
}

/// The eviction subresource's group/version from discovery, as kubectl chooses it.
pub async fn eviction_group_version(client: &Client) -> Result<String, KubeError> {
    let core = client.list_core_api_resources("v1").await.map_err(|e| KubeError::api("discover /api/v1", e))?;
    let eviction = core
        .resources
        .iter()
        .find(|r| r.name == "pods/eviction")
        .ok_or_else(|| KubeError::Missing("pods/eviction subresource".to_owned()))?;
    match (eviction.group.as_deref(), eviction.version.as_deref()) {
        (Some(g), Some(v)) if !g.is_empty() && !v.is_empty() => Ok(format!("{g}/{v}")),
        // Discovery without the subresource's version: policy/v1beta1 while the cluster
        // serves it, since 1.21 serves policy/v1 budgets but takes policy/v1 evictions only
        // from 1.22 (kubernetes/kubernetes#100724) and every apiserver since takes
        // policy/v1beta1 evictions (`EvictionREST.AcceptsGroupVersion`).
        _ => {
            let versions = budgets::policy_versions(client).await?;
            Ok(if versions.iter().any(|v| v == "v1beta1") { "policy/v1beta1" } else { "policy/v1" }.to_owned())
        }
    }
}

fn namespace(pod: &Pod) -> String {
    pod.metadata.namespace.clone().unwrap_or_default()
}

pub fn pod_key(pod: &Pod) -> String {
    format!("{}/{}", namespace(pod), pod.metadata.name.clone().unwrap_or_default())
}

/// What `kubeladder_core::drain` needs to know about a pod.
pub fn pod_facts(pod: &Pod, daemonsets: &BTreeSet<String>) -> PodFacts {
    let owner = pod.metadata.owner_references.as_ref().and_then(|o| o.iter().find(|r| r.controller == Some(true)));
    let controller_kind = owner.map(|o| o.kind.clone());
    let controller_exists =
        owner.is_none_or(|o| o.kind != "DaemonSet" || daemonsets.contains(&format!("{}/{}", namespace(pod), o.name)));
    PodFacts {
        namespace: namespace(pod),
        name: pod.metadata.name.clone().unwrap_or_default(),
        controller_kind,
        controller_exists,
        mirror: pod.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror")),
        local_storage: pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .is_some_and(|v| v.iter().any(|v| v.empty_dir.is_some())),
        phase: PodPhase::parse(pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Unknown")),
    }
}
