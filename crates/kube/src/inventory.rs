//! What the cluster runs, node by node, read the way kubeadm lays a cluster out:
//! roles from labels or from a kube-apiserver mirror pod, control-plane versions from the
//! mirror pods' image tags, the cluster version from `kubeadm-config`, kube-proxy and
//! CoreDNS from their workloads. The conversions are pure functions over API objects.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod};
use kube::Client;
use kube::api::{Api, ListParams};
use kubeladder_core::cluster::{ClusterState, NodeState, Role, StaticPods};
use kubeladder_core::kubeadm::StaticPod;
use kubeladder_core::{KubeVersion, image};
use serde::Serialize;

use crate::error::KubeError;

pub const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";
pub const MASTER_LABEL: &str = "node-role.kubernetes.io/master";

/// Versions of a control-plane node's static pods, from their images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlPlanePods {
    pub apiserver: Option<KubeVersion>,
    pub controller_manager: Option<KubeVersion>,
    pub scheduler: Option<KubeVersion>,
    /// etcd image tag (`3.4.13-0`); `None` for external etcd.
    pub etcd: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub role: Role,
    pub internal_ip: Option<String>,
    pub kubelet: KubeVersion,
    /// `status.nodeInfo.kubeProxyVersion` (deprecated upstream; may be empty).
    pub kube_proxy: Option<String>,
    /// `containerd://1.6.8`, `docker://20.10.7`.
    pub container_runtime: String,
    /// The CRI endpoint kubeadm recorded at init/join in the node annotation
    /// `kubeadm.alpha.kubernetes.io/cri-socket` (`unix:///var/run/cri-dockerd.sock`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cri_socket: Option<String>,
    pub os_image: String,
    pub kernel: String,
    pub ready: bool,
    pub unschedulable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlanePods>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// UID of the `kube-system` namespace: the cluster's identity for the journal.
    pub cluster_uid: String,
    /// `kubernetesVersion` from the `kubeadm-config` ConfigMap.
    pub cluster_version: KubeVersion,
    /// The API version the ClusterConfiguration in `kubeadm-config` is stored in
    /// (`kubeadm.k8s.io/v1beta3`): the next kubeadm must be able to read it.
    pub kubeadm_config_api: Option<String>,
    /// The kube-proxy DaemonSet's image version.
    pub kube_proxy: Option<KubeVersion>,
    /// The CoreDNS Deployment's image tag.
    pub coredns: Option<String>,
    /// `kubelet-config` (1.24+) or `kubelet-config-1.y`.
    pub kubelet_config_map: Option<String>,
    /// DaemonSets that look like a CNI plugin (`namespace/name`).
    pub cni_daemonsets: Vec<String>,
    pub nodes: Vec<NodeInfo>,
}

impl Inventory {
    /// Read everything with a bounded number of requests (independent of the node count:
    /// list calls, not per-node gets).
    pub async fn read(client: &Client) -> Result<Self, KubeError> {
        let kube_system: Namespace = Api::<Namespace>::all(client.clone())
            .get("kube-system")
            .await
            .map_err(|e| KubeError::api("read namespace kube-system", e))?;
        let cluster_uid = kube_system.metadata.uid.unwrap_or_default();
        let nodes = Api::<Node>::all(client.clone())
            .list(&ListParams::default())
            .await
            .map_err(|e| KubeError::api("list nodes", e))?
            .items;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
        let mirror_pods = pods
            .list(&ListParams::default().labels("tier=control-plane"))
            .await
            .map_err(|e| KubeError::api("list control-plane pods", e))?
            .items;
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
        let kubeadm_config = config_maps
            .get("kubeadm-config")
            .await
            .map_err(|e| KubeError::api("read ConfigMap kube-system/kubeadm-config", e))?;
        let cm_names: Vec<String> = config_maps
            .list_metadata(&ListParams::default())
            .await
            .map_err(|e| KubeError::api("list ConfigMaps in kube-system", e))?
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .collect();
        let kube_proxy = Api::<DaemonSet>::namespaced(client.clone(), "kube-system")
            .get_opt("kube-proxy")
            .await
            .map_err(|e| KubeError::api("read DaemonSet kube-system/kube-proxy", e))?;
        let coredns = Api::<Deployment>::namespaced(client.clone(), "kube-system")
            .get_opt("coredns")
            .await
            .map_err(|e| KubeError::api("read Deployment kube-system/coredns", e))?;
        let daemonsets = Api::<DaemonSet>::all(client.clone())
            .list_metadata(&ListParams::default())
            .await
            .map_err(|e| KubeError::api("list DaemonSets", e))?
            .items;
        let ds_names: Vec<String> = daemonsets
            .into_iter()
            .filter_map(|d| Some(format!("{}/{}", d.metadata.namespace?, d.metadata.name?)))
            .collect();
        Self::from_objects(&Objects {
            cluster_uid,
            nodes: &nodes,
            mirror_pods: &mirror_pods,
            kubeadm_config: &kubeadm_config,
            config_map_names: &cm_names,
            kube_proxy: kube_proxy.as_ref(),
            coredns: coredns.as_ref(),
            daemonsets: &ds_names,
        })
    }

    /// Build the inventory from already-fetched objects.
    pub fn from_objects(o: &Objects<'_>) -> Result<Self, KubeError> {
        let cluster_version = kubeadm_cluster_version(o.kubeadm_config)?;
        let by_node = mirror_pods_by_node(o.mirror_pods);
        let mut nodes = o.nodes.iter().map(|n| node_info(n, &by_node)).collect::<Result<Vec<_>, _>>()?;
        nodes.sort_by(|a, b| a.role.cmp(&b.role).then_with(|| a.name.cmp(&b.name)));
        let kube_proxy = o
            .kube_proxy
            .and_then(|ds| ds.spec.as_ref()?.template.spec.as_ref()?.containers.first()?.image.clone())
            .and_then(|image| image::tag(&image).and_then(|t| KubeVersion::parse(t).ok()));
        let coredns = o
            .coredns
            .and_then(|d| d.spec.as_ref()?.template.spec.as_ref()?.containers.first()?.image.clone())
            .and_then(|image| image::tag(&image).map(str::to_owned));
        let mut kubelet_config_map: Vec<&String> = o
            .config_map_names
            .iter()
            .filter(|n| *n == "kubelet-config" || n.starts_with("kubelet-config-1."))
            .collect();
        kubelet_config_map.sort();
        let cni_daemonsets = o
            .daemonsets
            .iter()
            .filter(|name| {
                ["calico", "flannel", "cilium", "weave", "canal", "antrea", "kube-router", "kindnet"]
                    .iter()
                    .any(|cni| name.contains(cni))
            })
            .cloned()
            .collect();
        Ok(Self {
            cluster_uid: o.cluster_uid.clone(),
            cluster_version,
            kubeadm_config_api: kubeadm_config_api(o.kubeadm_config),
            kube_proxy,
            coredns,
            kubelet_config_map: kubelet_config_map.last().map(|s| (*s).clone()),
            cni_daemonsets,
            nodes,
        })
    }

    /// The planner's view. A missing apiserver mirror pod counts as the cluster version, a
    /// missing controller-manager or scheduler as its node's apiserver.
    pub fn cluster_state(&self) -> ClusterState {
        let nodes = self
            .nodes
            .iter()
            .map(|n| NodeState {
                name: n.name.clone(),
                role: n.role,
                kubelet: n.kubelet,
                static_pods: n.control_plane.as_ref().map(|cp| {
                    let apiserver = cp.apiserver.unwrap_or(self.cluster_version);
                    StaticPods {
                        apiserver,
                        controller_manager: cp.controller_manager.unwrap_or(apiserver),
                        scheduler: cp.scheduler.unwrap_or(apiserver),
                    }
                }),
                ready: n.ready,
                cordoned: n.unschedulable,
            })
            .collect();
        ClusterState { cluster_version: self.cluster_version, kube_proxy: self.kube_proxy, nodes }
    }
}

/// The objects an inventory is made of.
#[derive(Debug)]
pub struct Objects<'a> {
    pub cluster_uid: String,
    pub nodes: &'a [Node],
    pub mirror_pods: &'a [Pod],
    pub kubeadm_config: &'a ConfigMap,
    pub config_map_names: &'a [String],
    pub kube_proxy: Option<&'a DaemonSet>,
    pub coredns: Option<&'a Deployment>,
    pub daemonsets: &'a [String],
}

/// `kubernetesVersion` from the ClusterConfiguration document in `kubeadm-config`.
pub fn kubeadm_cluster_version(cm: &ConfigMap) -> Result<KubeVersion, KubeError> {
    let text =
        cm.data.as_ref().and_then(|d| d.get("ClusterConfiguration")).ok_or_else(|| {
            KubeError::Missing("ClusterConfiguration in ConfigMap kube-system/kubeadm-config".to_owned())
        })?;
    let value = top_level_field(text, "kubernetesVersion")
        .ok_or_else(|| KubeError::Missing("kubernetesVersion in kubeadm-config's ClusterConfiguration".to_owned()))?;
    KubeVersion::parse(value)
        .map_err(|e| KubeError::BadVersion { what: "kubeadm-config kubernetesVersion".to_owned(), error: e })
}

/// The top-level `apiVersion` of the ClusterConfiguration document in `kubeadm-config`.
pub fn kubeadm_config_api(cm: &ConfigMap) -> Option<String> {
    let text = cm.data.as_ref()?.get("ClusterConfiguration")?;
    top_level_field(text, "apiVersion").filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The value of a top-level `key: value` line of a YAML document, unquoted.
fn top_level_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\''))
}

fn mirror_pods_by_node(pods: &[Pod]) -> BTreeMap<String, Vec<&Pod>> {
    let mut out: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    for pod in pods {
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
            out.entry(node).or_default().push(pod);
        }
    }
    out
}

fn component_image<'p>(pods: &[&'p Pod], component: StaticPod) -> Option<&'p str> {
    pods.iter()
        .find(|p| {
            p.metadata.labels.as_ref().and_then(|l| l.get("component")).map(String::as_str) == Some(component.name())
        })
        .and_then(|p| p.spec.as_ref()?.containers.first()?.image.as_deref())
}

/// Where kubeadm records a node's CRI endpoint (cmd/kubeadm/app/constants:
/// `AnnotationKubeadmCRISocket`).
pub const CRI_SOCKET_ANNOTATION: &str = "kubeadm.alpha.kubernetes.io/cri-socket";

fn node_info(node: &Node, mirror_pods: &BTreeMap<String, Vec<&Pod>>) -> Result<NodeInfo, KubeError> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let pods = mirror_pods.get(&name).map_or(&[][..], Vec::as_slice);
    let has_apiserver = component_image(pods, StaticPod::KubeApiserver).is_some();
    let role = if labels.contains_key(CONTROL_PLANE_LABEL) || labels.contains_key(MASTER_LABEL) || has_apiserver {
        Role::ControlPlane
    } else {
        Role::Worker
    };
    let status = node.status.clone().unwrap_or_default();
    let info = status.node_info.clone().unwrap_or_default();
    let kubelet = KubeVersion::parse(&info.kubelet_version)
        .map_err(|e| KubeError::BadVersion { what: format!("kubelet version of node {name}"), error: e })?;
    let version_of = |component: StaticPod| {
        component_image(pods, component).and_then(image::tag).and_then(|t| KubeVersion::parse(t).ok())
    };
    let control_plane = (role == Role::ControlPlane).then(|| ControlPlanePods {
        apiserver: version_of(StaticPod::KubeApiserver),
        controller_manager: version_of(StaticPod::KubeControllerManager),
        scheduler: version_of(StaticPod::KubeScheduler),
        etcd: component_image(pods, StaticPod::Etcd).and_then(image::tag).map(str::to_owned),
    });
    let ready =
        status.conditions.as_ref().is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let internal_ip =
        status.addresses.as_ref().and_then(|a| a.iter().find(|a| a.type_ == "InternalIP")).map(|a| a.address.clone());
    Ok(NodeInfo {
        name,
        role,
        internal_ip,
        kubelet,
        kube_proxy: Some(info.kube_proxy_version).filter(|v| !v.is_empty()),
        container_runtime: info.container_runtime_version,
        cri_socket: node.metadata.annotations.as_ref().and_then(|a| a.get(CRI_SOCKET_ANNOTATION)).cloned(),
        os_image: info.os_image,
        kernel: info.kernel_version,
        ready,
        unschedulable: node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false),
        control_plane,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, labels: &serde_json::Value, kubelet: &str, ready: &str) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.10.1"}, {"type": "Hostname", "address": name}],
                "conditions": [{"type": "Ready", "status": ready}],
                "nodeInfo": {
                    "kubeletVersion": kubelet, "kubeProxyVersion": kubelet,
                    "containerRuntimeVersion": "containerd://1.6.8", "osImage": "Ubuntu 20.04.6 LTS",
                    "kernelVersion": "5.4.0", "architecture": "amd64", "bootID": "", "machineID": "",
                    "operatingSystem": "linux", "systemUUID": ""
                }
            }
        }))
        .unwrap()
    }

    fn mirror(component: &str, node: &str, image: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{component}-{node}"), "namespace": "kube-system",
                         "labels": {"component": component, "tier": "control-plane"}},
            "spec": {"nodeName": node, "containers": [{"name": component, "image": image}]}
        }))
        .unwrap()
    }

    fn kubeadm_config(version: &str) -> ConfigMap {
        serde_json::from_value(json!({
            "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
            "data": {"ClusterConfiguration": format!("apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\nkubernetesVersion: {version}\n")}
        }))
        .unwrap()
    }

    #[test]
    fn roles_versions_and_cluster_state() {
        let nodes = vec![
            node("worker-1", &json!({}), "v1.18.20", "True"),
            node("cp-1", &json!({MASTER_LABEL: ""}), "v1.18.20", "True"),
            // No role label, but a kube-apiserver mirror pod: still a control plane.
            node("cp-2", &json!({}), "v1.18.20", "False"),
        ];
        let pods = vec![
            mirror("kube-apiserver", "cp-1", "k8s.gcr.io/kube-apiserver:v1.19.16"),
            mirror("kube-controller-manager", "cp-1", "k8s.gcr.io/kube-controller-manager:v1.19.16"),
            mirror("kube-scheduler", "cp-1", "k8s.gcr.io/kube-scheduler:v1.19.16"),
            mirror("etcd", "cp-1", "k8s.gcr.io/etcd:3.4.13-0"),
            mirror("kube-apiserver", "cp-2", "k8s.gcr.io/kube-apiserver:v1.18.20"),
        ];
        let cm = kubeadm_config("v1.19.16");
        let inv = Inventory::from_objects(&Objects {
            cluster_uid: "uid-1".to_owned(),
            nodes: &nodes,
            mirror_pods: &pods,
            kubeadm_config: &cm,
            config_map_names: &[
                "kubelet-config-1.18".to_owned(),
                "kubelet-config-1.19".to_owned(),
                "kube-proxy".to_owned(),
            ],
            kube_proxy: None,
            coredns: None,
            daemonsets: &["kube-system/kube-proxy".to_owned(), "kube-system/calico-node".to_owned()],
        })
        .unwrap();
        let names: Vec<(&str, Role)> = inv.nodes.iter().map(|n| (n.name.as_str(), n.role)).collect();
        assert_eq!(names, [("cp-1", Role::ControlPlane), ("cp-2", Role::ControlPlane), ("worker-1", Role::Worker)]);
        assert_eq!(inv.cluster_version.to_string(), "v1.19.16");
        assert_eq!(inv.kubelet_config_map.as_deref(), Some("kubelet-config-1.19"));
        assert_eq!(inv.cni_daemonsets, ["kube-system/calico-node"]);
        let cp1 = inv.nodes[0].control_plane.as_ref().unwrap();
        assert_eq!(cp1.apiserver.unwrap().to_string(), "v1.19.16");
        assert_eq!(cp1.etcd.as_deref(), Some("3.4.13-0"));
        assert!(!inv.nodes[1].ready);
        assert_eq!(inv.nodes[2].internal_ip.as_deref(), Some("127.0.10.1"));
        let state = inv.cluster_state();
        assert_eq!(state.nodes[1].static_pods.as_ref().unwrap().apiserver.to_string(), "v1.18.20");
        // cp-2 has no controller-manager mirror pod: it counts as its apiserver's version.
        assert_eq!(state.nodes[1].static_pods.as_ref().unwrap().controller_manager.to_string(), "v1.18.20");
        assert!(state.violations().is_empty());
    }

    #[test]
    fn missing_or_bad_kubeadm_config_is_named() {
        let mut cm = kubeadm_config("v1.x");
        let err = kubeadm_cluster_version(&cm).unwrap_err().to_string();
        assert!(err.contains("kubernetesVersion") && err.contains("v1.x"), "{err}");
        cm.data = None;
        assert!(kubeadm_cluster_version(&cm).unwrap_err().to_string().contains("ClusterConfiguration"));
        assert_eq!(kubeadm_config_api(&cm), None);
    }

    #[test]
    fn the_stored_kubeadm_config_api_version_is_read() {
        assert_eq!(kubeadm_config_api(&kubeadm_config("v1.21.14")).as_deref(), Some("kubeadm.k8s.io/v1beta2"));
        let mut cm = kubeadm_config("v1.31.14");
        let nested =
            "apiServer:\n  extraArgs: {}\napiVersion: \"kubeadm.k8s.io/v1beta4\"\nkind: ClusterConfiguration\n";
        cm.data = Some([("ClusterConfiguration".to_owned(), nested.to_owned())].into());
        assert_eq!(kubeadm_config_api(&cm).as_deref(), Some("kubeadm.k8s.io/v1beta4"));
    }
}
