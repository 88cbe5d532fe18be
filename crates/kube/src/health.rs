//! Health gates: named checks with a clear failure message, run between steps.

use std::time::Duration;

use http::Request;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, ListParams};
use kubeladder_core::kubeadm::StaticPod;
use kubeladder_core::{KubeVersion, image};
use serde::Serialize;

use crate::error::KubeError;
use crate::inventory::Inventory;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gate {
    pub name: String,
    pub passed: bool,
    pub message: String,
}

impl Gate {
    fn new(name: &str, passed: bool, message: String) -> Self {
        Self { name: name.to_owned(), passed, message }
    }
}

/// `GET /readyz`: the apiserver says it is ready to serve.
pub async fn apiserver_ready(client: &Client) -> Gate {
    let request = Request::get("/readyz").body(Vec::new());
    match request {
        Ok(r) => match client.request_text(r).await {
            Ok(body) if body.trim() == "ok" => Gate::new("apiserver-ready", true, "/readyz: ok".to_owned()),
            Ok(body) => Gate::new("apiserver-ready", false, format!("/readyz answered {:?}", body.trim())),
            Err(e) => Gate::new("apiserver-ready", false, format!("/readyz failed: {e}")),
        },
        Err(e) => Gate::new("apiserver-ready", false, e.to_string()),
    }
}

/// Every control-plane node Ready (kubeadm's own precondition for `upgrade apply`).
pub fn control_planes_ready(inventory: &Inventory) -> Gate {
    let not_ready: Vec<&str> = inventory
        .nodes
        .iter()
        .filter(|n| n.role == kubeladder_core::cluster::Role::ControlPlane && !n.ready)
        .map(|n| n.name.as_str())
        .collect();
    if not_ready.is_empty() {
        Gate::new("control-planes-ready", true, "every control-plane node is Ready".to_owned())
    } else {
        Gate::new("control-planes-ready", false, format!("NotReady control-plane nodes: {}", not_ready.join(", ")))
    }
}

/// A node is Ready and its kubelet reports `version`.
pub async fn node_ready_with(client: &Client, node: &str, version: KubeVersion) -> Result<Gate, KubeError> {
    let n = Api::<Node>::all(client.clone())
        .get(node)
        .await
        .map_err(|e| KubeError::api(&format!("read node {node}"), e))?;
    let status = n.status.unwrap_or_default();
    let ready = status.conditions.unwrap_or_default().iter().any(|c| c.type_ == "Ready" && c.status == "True");
    let kubelet = status.node_info.map(|i| i.kubelet_version).unwrap_or_default();
    let at_version = KubeVersion::parse(&kubelet).is_ok_and(|v| v == version);
    let name = "node-ready";
    Ok(match (ready, at_version) {
        (true, true) => Gate::new(name, true, format!("{node} is Ready with kubelet {version}")),
        (false, _) => Gate::new(name, false, format!("{node} is not Ready (kubelet {kubelet})")),
        (true, false) => Gate::new(name, false, format!("{node} runs kubelet {kubelet}, expected {version}")),
    })
}

/// The static pods of a control-plane node are Ready at `version`; with `changed_from`,
/// their `kubernetes.io/config.hash` must differ from the recorded hashes (the kubelet
/// really restarted them).
pub async fn static_pods_at(
    client: &Client,
    node: &str,
    version: KubeVersion,
    changed_from: Option<&std::collections::BTreeMap<String, String>>,
) -> Result<Gate, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let list = pods
        .list(&ListParams::default().labels("tier=control-plane").fields(&format!("spec.nodeName={node}")))
        .await
        .map_err(|e| KubeError::api(&format!("list control-plane pods on {node}"), e))?;
    let mut problems = Vec::new();
    for component in StaticPod::VERSIONED.map(StaticPod::name) {
        let Some(pod) = list.items.iter().find(|p| {
            p.metadata.labels.as_ref().and_then(|l| l.get("component")).map(String::as_str) == Some(component)
        }) else {
            problems.push(format!("{component} has no mirror pod"));
            continue;
        };
        let image =
            pod.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default();
        let tag = image::tag(&image).unwrap_or_default();
        if KubeVersion::parse(tag).ok() != Some(version) {
            problems.push(format!("{component} runs {tag}, expected {version}"));
        }
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if !ready {
            problems.push(format!("{component} is not Ready"));
        }
        if let Some(before) = changed_from {
            let hash = pod.metadata.annotations.as_ref().and_then(|a| a.get("kubernetes.io/config.hash"));
            if hash.is_some() && hash == before.get(component) {
                problems.push(format!("{component}'s config hash did not change"));
            }
        }
    }
    Ok(if problems.is_empty() {
        Gate::new("static-pods", true, format!("{node}: control-plane pods Ready at {version}"))
    } else {
        Gate::new("static-pods", false, format!("{node}: {}", problems.join("; ")))
    })
}

/// The mirror pod of `component` (e.g. `etcd`) on `node` is Ready.
pub async fn static_pod_ready(client: &Client, node: &str, component: &str) -> Result<Gate, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let params =
        ListParams::default().labels(&format!("component={component}")).fields(&format!("spec.nodeName={node}"));
    let list = pods.list(&params).await.map_err(|e| KubeError::api(&format!("list {component} pods on {node}"), e))?;
    let ready = list.items.iter().any(|p| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    let name = "static-pod-ready";
    Ok(if ready {
        Gate::new(name, true, format!("{component} on {node} is Ready"))
    } else if list.items.is_empty() {
        Gate::new(name, false, format!("{component} on {node} has no mirror pod"))
    } else {
        Gate::new(name, false, format!("{component} on {node} is not Ready"))
    })
}

/// Poll a gate until it passes or `timeout` elapses (bounded: one try per `every`).
pub async fn wait_for<F, Fut>(timeout: Duration, every: Duration, mut gate: F) -> Result<Gate, KubeError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Gate, KubeError>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let g = gate().await?;
        if g.passed || tokio::time::Instant::now() + every > deadline {
            return Ok(g);
        }
        tokio::time::sleep(every).await;
    }
}
