//! What the planner knows about a cluster: its nodes, their component versions, and the
//! skew policy evaluated over them the way components actually talk to each other.
//!
//! Who talks to whom (kubeadm's layout): kubelets and kube-proxy reach the apiservers
//! through the control-plane endpoint, so they are checked against every apiserver;
//! kube-controller-manager and kube-scheduler on a control-plane node are upgraded by
//! kubeadm right after the apiserver on the same node and are checked against that one.

use serde::{Deserialize, Serialize};

use crate::skew::{self, Apiservers, Component, Rule};
use crate::version::{KubeVersion, Minor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    ControlPlane,
    Worker,
}

/// Versions of the static pods on a control-plane node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticPods {
    pub apiserver: KubeVersion,
    pub controller_manager: KubeVersion,
    pub scheduler: KubeVersion,
}

impl StaticPods {
    pub fn all_at(version: KubeVersion) -> Self {
        Self { apiserver: version, controller_manager: version, scheduler: version }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    pub name: String,
    pub role: Role,
    pub kubelet: KubeVersion,
    /// Present on control-plane nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_pods: Option<StaticPods>,
    #[serde(default = "yes")]
    pub ready: bool,
    /// `spec.unschedulable` as found.
    #[serde(default)]
    pub cordoned: bool,
}

fn yes() -> bool {
    true
}

impl NodeState {
    pub fn control_plane(name: impl Into<String>, version: KubeVersion) -> Self {
        Self {
            name: name.into(),
            role: Role::ControlPlane,
            kubelet: version,
            static_pods: Some(StaticPods::all_at(version)),
            ready: true,
            cordoned: false,
        }
    }

    pub fn worker(name: impl Into<String>, version: KubeVersion) -> Self {
        Self {
            name: name.into(),
            role: Role::Worker,
            kubelet: version,
            static_pods: None,
            ready: true,
            cordoned: false,
        }
    }
}

/// The versions that matter for an upgrade, cluster-wide and per node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// `kubernetesVersion` in the `kubeadm-config` ConfigMap.
    pub cluster_version: KubeVersion,
    /// The kube-proxy DaemonSet's image version (one for every node); `None` when the
    /// cluster runs without kube-proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_proxy: Option<KubeVersion>,
    pub nodes: Vec<NodeState>,
}

/// A skew violation found in a cluster state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateViolation {
    pub component: Component,
    pub node: Option<String>,
    pub version: Minor,
    pub rule: Rule,
    pub message: String,
}

impl ClusterState {
    pub fn node(&self, name: &str) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut NodeState> {
        self.nodes.iter_mut().find(|n| n.name == name)
    }

    pub fn control_planes(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.iter().filter(|n| n.role == Role::ControlPlane)
    }

    pub fn workers(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.iter().filter(|n| n.role == Role::Worker)
    }

    pub fn apiservers(&self) -> Option<Apiservers> {
        Apiservers::from_minors(
            self.control_planes().filter_map(|n| n.static_pods.as_ref()).map(|s| s.apiserver.minor()),
        )
        .ok()
    }

    /// Every skew-policy violation in this state. A state without any apiserver is itself
    /// reported (as an apiserver violation) rather than passing silently.
    pub fn violations(&self) -> Vec<StateViolation> {
        let mut out = Vec::new();
        let Some(apiservers) = self.apiservers() else {
            out.push(StateViolation {
                component: Component::KubeApiserver,
                node: None,
                version: self.cluster_version.minor(),
                rule: Rule::ApiserverSpread,
                message: "no control-plane node runs a kube-apiserver".to_owned(),
            });
            return out;
        };
        for node in &self.nodes {
            out.extend(self.node_violations(node, apiservers));
        }
        out
    }

    /// Violations of one node's components against `apiservers` (the cluster's, computed
    /// once by the caller): what a step on that node alone can change.
    pub fn node_violations(&self, node: &NodeState, apiservers: Apiservers) -> Vec<StateViolation> {
        let mut out = Vec::new();
        let mut push = |component: Component, version: Minor, result: Result<(), (Rule, String)>| {
            if let Err((rule, message)) = result {
                out.push(StateViolation {
                    component,
                    node: Some(node.name.clone()),
                    version,
                    rule,
                    message: format!("{message} (node {})", node.name),
                });
            }
        };
        if let Some(pods) = &node.static_pods {
            let api = pods.apiserver.minor();
            let local = Apiservers { oldest: api, newest: api };
            push(Component::KubeApiserver, api, apiservers.check(Component::KubeApiserver, api));
            for (component, version) in [
                (Component::KubeControllerManager, pods.controller_manager.minor()),
                (Component::KubeScheduler, pods.scheduler.minor()),
            ] {
                push(component, version, local.check(component, version));
            }
        }
        let kubelet = node.kubelet.minor();
        push(Component::Kubelet, kubelet, apiservers.check(Component::Kubelet, kubelet));
        if let Some(proxy) = self.kube_proxy.map(|v| v.minor()) {
            push(Component::KubeProxy, proxy, apiservers.check(Component::KubeProxy, proxy));
            push(Component::KubeProxy, proxy, skew::check_kube_proxy_against_kubelet(proxy, kubelet));
        }
        out
    }
}
