//! Built-in scenarios: the objects a kubeadm cluster has right after it was built.

use std::collections::BTreeMap;

use kubeladder_core::package::Repository;
use kubeladder_core::{KubeVersion, Minor};
use serde_json::{Value, json};

use crate::error::SimError;
use crate::host::PackageManager;
use crate::host::build::{Builder, HostSpec, KUBELET_CONFIGURATION};
use crate::host::manifests;
use crate::resources::{self, ResourceDef};
use crate::store::StoreInner;
use crate::util::content_hash;

/// Which built-in cluster shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioKind {
    /// One control plane (`cp-1`) and two workers.
    Small,
    /// Three control planes, six workers, Deployments with budgets, a StatefulSet, DaemonSets,
    /// a pod with an emptyDir volume and a bare pod.
    Ha,
    /// `nodes` nodes (three of them control planes) and about `pods_per_node` workload pods each.
    Large { nodes: usize, pods_per_node: usize },
}

/// A scenario: the shape plus the knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub kind: ScenarioKind,
    /// The cluster's version (control plane, kube-proxy, and every node not in `node_versions`).
    pub version: KubeVersion,
    /// `docker://19.3.15`, `containerd://1.6.20`, ... (default: [`default_runtime`]).
    pub container_runtime: String,
    /// Every host's package manager.
    pub package_manager: PackageManager,
    /// The package repository hosts start with; `None`: legacy before 1.29, pkgs.k8s.io
    /// for the node's minor from 1.29.
    pub repository: Option<Repository>,
    /// Every host runs the cgroup v1 hierarchy (default: v2).
    pub cgroup_v1: bool,
    /// The package repositories the hosts reach (default: today's - legacy gone, a mirror
    /// of both layouts at [`crate::host::DEFAULT_MIRROR`]).
    pub package_world: crate::host::PackageWorld,
    /// Nodes at another version than the cluster's (a cluster caught mid-upgrade): their
    /// packages, kubelet, and for control planes their static pods.
    pub node_versions: BTreeMap<String, KubeVersion>,
    /// Extra objects created after the built-in ones (namespaced objects name their namespace).
    pub objects: Vec<Value>,
}

/// The runtime a kubeadm cluster at `version` runs by default: Docker (dockershim) before
/// 1.24, which removed it; containerd from then on.
pub fn default_runtime(version: &KubeVersion) -> &'static str {
    if version.minor() < Minor::new(1, 24) { "docker://19.3.15" } else { "containerd://1.7.27" }
}

/// Kubernetes' largest supported cluster: "No more than 5,000 nodes", "No more than 110 pods
/// per node" (<https://kubernetes.io/docs/setup/best-practices/cluster-large/>; 110 is also the
/// kubelet's default `maxPods`).
pub const MAX_LARGE_NODES: usize = 5000;
/// See [`MAX_LARGE_NODES`].
pub const MAX_PODS_PER_NODE: usize = 110;
const LARGE_NODES: &str = "1..=5000";
const LARGE_PODS: &str = "0..=110";

impl Scenario {
    pub fn new(kind: ScenarioKind) -> Self {
        let version = KubeVersion::new(1, 18, 20);
        Self {
            kind,
            version,
            container_runtime: default_runtime(&version).to_owned(),
            package_manager: PackageManager::Apt,
            repository: None,
            cgroup_v1: false,
            package_world: crate::host::PackageWorld::default(),
            node_versions: BTreeMap::new(),
            objects: Vec::new(),
        }
    }

    pub fn small() -> Self {
        Self::new(ScenarioKind::Small)
    }

    pub fn ha() -> Self {
        Self::new(ScenarioKind::Ha)
    }

    pub fn large(nodes: usize, pods_per_node: usize) -> Self {
        Self::new(ScenarioKind::Large { nodes, pods_per_node })
    }

    /// `small`, `ha`, `large` (1,000 nodes x 30 pods) or `large:NODES:PODS`, NODES in
    /// 1..=5000 and PODS in 0..=110 (Kubernetes' tested limits; beyond them the simulator
    /// would only grow memory without an answer).
    pub fn by_name(name: &str) -> Result<Self, SimError> {
        let mut parts = name.split(':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("small"), None, None) => Ok(Self::small()),
            (Some("ha"), None, None) => Ok(Self::ha()),
            (Some("large"), None, None) => Ok(Self::large(1000, 30)),
            (Some("large"), Some(nodes), pods) if parts.next().is_none() => {
                let bad = |what: &str, text: &str, range: &str| {
                    SimError::Scenario(format!("{name}: {what} {text:?} is not a whole number in {range}"))
                };
                let nodes: usize = nodes.parse().map_err(|_| bad("NODES", nodes, LARGE_NODES))?;
                let pods: usize = match pods {
                    None => 30,
                    Some(p) => p.parse().map_err(|_| bad("PODS_PER_NODE", p, LARGE_PODS))?,
                };
                if !(1..=MAX_LARGE_NODES).contains(&nodes) {
                    return Err(bad("NODES", &nodes.to_string(), LARGE_NODES));
                }
                if pods > MAX_PODS_PER_NODE {
                    return Err(bad("PODS_PER_NODE", &pods.to_string(), LARGE_PODS));
                }
                Ok(Self::large(nodes, pods))
            }
            _ => Err(SimError::Scenario(format!("{name} (known: small, ha, large, large:NODES:PODS)"))),
        }
    }

    #[must_use]
    /// The cluster at `version`; a runtime still at the old version's default follows the
    /// new one (no simulated 1.28 cluster runs on dockershim).
    pub fn with_version(mut self, version: KubeVersion) -> Self {
        if self.container_runtime == default_runtime(&self.version) {
            default_runtime(&version).clone_into(&mut self.container_runtime);
        }
        self.version = version;
        self
    }

    #[must_use]
    pub fn with_package_manager(mut self, package_manager: PackageManager) -> Self {
        self.package_manager = package_manager;
        self
    }

    #[must_use]
    pub fn with_repository(mut self, repository: Repository) -> Self {
        self.repository = Some(repository);
        self
    }

    /// Put one node at another version than the cluster's.
    #[must_use]
    pub fn with_node_version(mut self, node: impl Into<String>, version: KubeVersion) -> Self {
        self.node_versions.insert(node.into(), version);
        self
    }

    /// The names of the scenario's nodes, control planes first.
    pub fn node_names(&self) -> Vec<String> {
        let (cps, workers) = self.node_counts();
        (0..cps + workers)
            .map(|index| if index < cps { format!("cp-{}", index + 1) } else { format!("worker-{}", index - cps + 1) })
            .collect()
    }

    fn node_counts(&self) -> (usize, usize) {
        match self.kind {
            ScenarioKind::Small => (1, 2),
            ScenarioKind::Ha => (3, 6),
            ScenarioKind::Large { nodes, .. } => {
                let cps = if nodes >= 3 { 3 } else { 1 };
                (cps, nodes.saturating_sub(cps))
            }
        }
    }
}

fn def(key: &str) -> Result<&'static ResourceDef, SimError> {
    resources::by_key(key).ok_or_else(|| SimError::Store(format!("unknown resource {key}")))
}

fn put(inner: &mut StoreInner, key: &str, obj: Value) -> Result<(), SimError> {
    inner.put(def(key)?, obj).map(|_| ()).map_err(|e| SimError::Store(e.message))
}

/// The image registry kubeadm uses at a minor.
pub fn registry(minor: Minor) -> &'static str {
    manifests::registry(minor)
}

/// The `InternalIP` of the node with this index: always in 127.0.0.0/8.
pub fn node_ip(index: usize) -> String {
    format!("127.0.{}.{}", 1 + index / 250, 1 + index % 250)
}

/// Labels and taints of a control-plane node at a minor (kubeadm's history).
pub(crate) fn control_plane_marks(minor: Minor) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut labels = Vec::new();
    let mut taints = Vec::new();
    if minor <= Minor::new(1, 23) {
        labels.push("node-role.kubernetes.io/master");
    }
    if minor >= Minor::new(1, 20) {
        labels.push("node-role.kubernetes.io/control-plane");
    }
    if minor <= Minor::new(1, 24) {
        taints.push("node-role.kubernetes.io/master");
    }
    if minor >= Minor::new(1, 24) {
        taints.push("node-role.kubernetes.io/control-plane");
    }
    (labels, taints)
}

fn control_plane_tolerations() -> Value {
    json!([
        {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        {"key": "CriticalAddonsOnly", "operator": "Exists"}
    ])
}

/// A node object as kubelet registers it.
pub fn node(
    name: &str,
    index: usize,
    control_plane: bool,
    version: KubeVersion,
    runtime: &str,
    created: &str,
) -> Value {
    let minor = version.minor();
    let mut labels = json!({
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    });
    let mut taints = Vec::new();
    if control_plane {
        let (role_labels, role_taints) = control_plane_marks(minor);
        for label in role_labels {
            labels[label] = json!("");
        }
        for taint in role_taints {
            taints.push(json!({"key": taint, "effect": "NoSchedule"}));
        }
    }
    let socket = if runtime.starts_with("docker") {
        "/var/run/dockershim.sock"
    } else {
        "unix:///run/containerd/containerd.sock"
    };
    let mut spec = json!({"podCIDR": format!("10.244.{index}.0/24"), "podCIDRs": [format!("10.244.{index}.0/24")]});
    if !taints.is_empty() {
        spec["taints"] = Value::Array(taints);
    }
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": created, "lastTransitionTime": created})
    };
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": labels,
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": socket,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": {
            "capacity": {"cpu": "4", "memory": "8152200Ki", "pods": "110", "ephemeral-storage": "101445540Ki", "hugepages-2Mi": "0"},
            "allocatable": {"cpu": "4", "memory": "8049800Ki", "pods": "110", "ephemeral-storage": "93492209510", "hugepages-2Mi": "0"},
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": node_ip(index)}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": content_hash(&format!("machine-{name}")),
                "systemUUID": content_hash(&format!("uuid-{name}")),
                "bootID": content_hash(&format!("boot-{name}")),
                "kernelVersion": "5.4.0-74-generic",
                "osImage": "Ubuntu 20.04.2 LTS",
                "containerRuntimeVersion": runtime,
                "kubeletVersion": version.to_string(),
                "kubeProxyVersion": version.to_string(),
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    })
}

fn container(name: &str, image: &str, cpu: &str, memory: &str) -> Value {
    json!({"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
           "resources": {"requests": {"cpu": cpu, "memory": memory}}})
}

fn deployment(namespace: &str, name: &str, replicas: u64, labels: &Value, pod_spec: &Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    })
}

fn daemonset(namespace: &str, name: &str, labels: &Value, pod_spec: &Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    })
}

fn pdb(
    namespace: &str,
    name: &str,
    labels: &Value,
    min_available: Option<Value>,
    max_unavailable: Option<Value>,
) -> Value {
    let mut spec = json!({"selector": {"matchLabels": labels}});
    if let Some(min) = min_available {
        spec["minAvailable"] = min;
    }
    if let Some(max) = max_unavailable {
        spec["maxUnavailable"] = max;
    }
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": namespace}, "spec": spec})
}

/// The kubeadm configuration API kubeadm writes at a minor.
pub(crate) fn kubeadm_api_version(minor: Minor) -> &'static str {
    if minor >= Minor::new(1, 31) {
        "kubeadm.k8s.io/v1beta4"
    } else if minor >= Minor::new(1, 22) {
        "kubeadm.k8s.io/v1beta3"
    } else {
        "kubeadm.k8s.io/v1beta2"
    }
}

fn kubeadm_config(version: KubeVersion, control_planes: &[(String, String)]) -> Value {
    let minor = version.minor();
    let api = kubeadm_api_version(minor);
    let cluster_configuration = format!(
        "apiServer:\n  extraArgs:\n    authorization-mode: Node,RBAC\n  timeoutForControlPlane: 4m0s\napiVersion: {api}\ncertificatesDir: /etc/kubernetes/pki\nclusterName: kubernetes\ncontrolPlaneEndpoint: {}:6443\ncontrollerManager: {{}}\ndns:\n  type: CoreDNS\netcd:\n  local:\n    dataDir: /var/lib/etcd\nimageRepository: {}\nkind: ClusterConfiguration\nkubernetesVersion: {version}\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/12\nscheduler: {{}}\n",
        control_planes.first().map_or("127.0.1.1", |(_, ip)| ip.as_str()),
        registry(minor),
    );
    let mut data = json!({"ClusterConfiguration": cluster_configuration});
    if minor < Minor::new(1, 22) {
        let mut status = "apiEndpoints:\n".to_owned();
        for (name, ip) in control_planes {
            status.push_str(&format!("  {name}:\n    advertiseAddress: {ip}\n    bindPort: 6443\n"));
        }
        status.push_str(&format!("apiVersion: {api}\nkind: ClusterStatus\n"));
        data["ClusterStatus"] = json!(status);
    }
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"}, "data": data})
}

/// Name of the kubelet config ConfigMap at a minor.
pub fn kubelet_config_name(minor: Minor) -> String {
    if minor >= Minor::new(1, 24) { "kubelet-config".to_owned() } else { format!("kubelet-config-{minor}") }
}

/// Build the scenario's objects into the store (workload pods come from the controllers).
#[allow(clippy::too_many_lines)]
pub fn build(inner: &mut StoreInner, scenario: &Scenario) -> Result<(), SimError> {
    let version = scenario.version;
    let minor = version.minor();
    for node in scenario.node_versions.keys() {
        if !scenario.node_names().contains(node) {
            return Err(SimError::Scenario(format!(
                "node_versions names {node:?}, which the scenario does not have (it has {})",
                scenario.node_names().join(", ")
            )));
        }
    }
    let created_at = -41.0 * 24.0 * 3600.0;
    let created = crate::clock::format_time(
        inner
            .clock()
            .now()
            .checked_sub(jiff::SignedDuration::from_hours(24 * 41))
            .unwrap_or_else(|_| inner.clock().now()),
    );
    let mut namespaces = vec!["default", "kube-system", "kube-public", "kube-node-lease"];
    if !matches!(scenario.kind, ScenarioKind::Small) {
        namespaces.push("shop");
    }
    for ns in namespaces {
        put(
            inner,
            resources::NAMESPACES,
            json!({"metadata": {"name": ns, "creationTimestamp": created}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        )?;
    }
    let (cps, _) = scenario.node_counts();
    let mut control_planes = Vec::new();
    let mut hosts = Builder::default();
    let world = std::sync::Arc::new(scenario.package_world.clone());
    for (index, name) in scenario.node_names().into_iter().enumerate() {
        let control_plane = index < cps;
        let node_version = scenario.node_versions.get(&name).copied().unwrap_or(version);
        let mut node_obj = node(&name, index, control_plane, node_version, &scenario.container_runtime, &created);
        // kube-proxy runs from the cluster's DaemonSet, whatever the kubelet's version.
        node_obj["status"]["nodeInfo"]["kubeProxyVersion"] = json!(version.to_string());
        node_obj["status"]["nodeInfo"]["osImage"] = json!(crate::host::os_image(scenario.package_manager));
        put(inner, resources::NODES, node_obj)?;
        let address = node_ip(index);
        if control_plane {
            control_planes.push((name.clone(), address.clone()));
        }
        let spec = HostSpec {
            node: &name,
            address: &address,
            control_plane,
            version: node_version,
            package_manager: scenario.package_manager,
            repository: scenario.repository,
            cgroup_v1: scenario.cgroup_v1,
            world: std::sync::Arc::clone(&world),
        };
        let host = hosts.host(&spec, created_at);
        inner.hosts.insert(name.clone(), host);
        crate::host::kubelet::start_static_pods(inner, &name, &created);
    }
    put(inner, resources::CONFIGMAPS, kubeadm_config(version, &control_planes))?;
    put(
        inner,
        resources::CONFIGMAPS,
        json!({"metadata": {"name": kubelet_config_name(minor), "namespace": "kube-system"},
        "data": {"kubelet": KUBELET_CONFIGURATION}}),
    )?;
    put(
        inner,
        resources::CONFIGMAPS,
        json!({"metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
        "data": {"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"\"\nclusterCIDR: 10.244.0.0/16\n",
                 "kubeconfig.conf": "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://127.0.1.1:6443\n  name: default\n"}}),
    )?;
    put(
        inner,
        resources::CONFIGMAPS,
        json!({"metadata": {"name": "coredns", "namespace": "kube-system"},
        "data": {"Corefile": ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n    }\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n"}}),
    )?;
    let dns_labels = json!({"k8s-app": "kube-dns"});
    let coredns_image = manifests::coredns_image(&version);
    let dns_spec = json!({"containers": [container("coredns", &coredns_image, "100m", "70Mi")],
        "tolerations": control_plane_tolerations(), "priorityClassName": "system-cluster-critical",
        "nodeSelector": {"kubernetes.io/os": "linux"}, "terminationGracePeriodSeconds": 30});
    put(inner, resources::DEPLOYMENTS, deployment("kube-system", "coredns", 2, &dns_labels, &dns_spec))?;
    let proxy_labels = json!({"k8s-app": "kube-proxy"});
    let proxy_spec = json!({"containers": [container("kube-proxy", &manifests::kube_proxy_image(&version), "0", "0")],
        "tolerations": [{"operator": "Exists"}], "priorityClassName": "system-node-critical", "hostNetwork": true,
        "nodeSelector": {"kubernetes.io/os": "linux"}, "terminationGracePeriodSeconds": 30});
    put(inner, resources::DAEMONSETS, daemonset("kube-system", "kube-proxy", &proxy_labels, &proxy_spec))?;

    match scenario.kind {
        ScenarioKind::Small => {
            let labels = json!({"app": "hello"});
            let spec = json!({"containers": [container("hello", "nginx:1.21", "100m", "64Mi")], "terminationGracePeriodSeconds": 5});
            put(inner, resources::DEPLOYMENTS, deployment("default", "hello", 2, &labels, &spec))?;
            put(inner, resources::PDBS, pdb("default", "hello", &labels, Some(json!(1)), None))?;
        }
        ScenarioKind::Ha => build_ha_workloads(inner)?,
        ScenarioKind::Large { nodes, pods_per_node } => {
            let total = nodes.saturating_sub(3).max(1) * pods_per_node;
            let per_deployment = 50_usize;
            let count = total.div_ceil(per_deployment);
            for i in 0..count {
                let replicas = per_deployment.min(total - i * per_deployment);
                let labels = json!({"app": format!("app-{i}")});
                let spec = json!({"containers": [container("app", "nginx:1.21", "10m", "16Mi")], "terminationGracePeriodSeconds": 5});
                put(
                    inner,
                    resources::DEPLOYMENTS,
                    deployment("shop", &format!("app-{i}"), replicas as u64, &labels, &spec),
                )?;
                put(inner, resources::PDBS, pdb("shop", &format!("app-{i}"), &labels, None, Some(json!("10%"))))?;
            }
        }
    }
    for object in &scenario.objects {
        preload(inner, object)?;
    }
    Ok(())
}

/// Create one of the scenario's extra objects, by its apiVersion and kind.
fn preload(inner: &mut StoreInner, object: &Value) -> Result<(), SimError> {
    let api_version = crate::util::str_at(object, "apiVersion");
    let kind = crate::util::str_at(object, "kind");
    let def = resources::all()
        .find(|d| d.api_version() == api_version && d.kind == kind)
        .ok_or_else(|| SimError::Scenario(format!("objects: the simulator does not serve {kind} in {api_version}")))?;
    // Stored as the API would store it: converted to its hub form, its managedFields naming
    // the version it was written in (as a write through that version records them) unless
    // the object sets its own.
    let mut stored = crate::convert::to_hub(def, object.clone()).map_err(|e| SimError::Scenario(e.message))?;
    if crate::util::get_path(&stored, "metadata.managedFields").is_none() {
        let entry = json!({"manager": "scenario", "operation": "Update", "apiVersion": api_version,
            "fieldsType": "FieldsV1", "fieldsV1": {}});
        crate::util::object_entry(&mut stored, "metadata").insert("managedFields".to_owned(), json!([entry]));
    }
    inner.put(def.hub(), stored).map(|_| ()).map_err(|e| {
        SimError::Scenario(format!("objects: {kind} {:?}: {}", crate::util::str_at(object, "metadata.name"), e.message))
    })
}

fn build_ha_workloads(inner: &mut StoreInner) -> Result<(), SimError> {
    let flannel_labels = json!({"app": "flannel"});
    let flannel_spec = json!({"containers": [container("kube-flannel", "quay.io/coreos/flannel:v0.14.0", "100m", "50Mi")],
        "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}], "hostNetwork": true,
        "priorityClassName": "system-node-critical", "terminationGracePeriodSeconds": 30});
    put(inner, resources::DAEMONSETS, daemonset("kube-system", "kube-flannel-ds", &flannel_labels, &flannel_spec))?;

    let web = json!({"app": "web"});
    let web_spec =
        json!({"containers": [container("web", "nginx:1.21", "200m", "128Mi")], "terminationGracePeriodSeconds": 5});
    put(inner, resources::DEPLOYMENTS, deployment("shop", "web", 6, &web, &web_spec))?;
    put(inner, resources::PDBS, pdb("shop", "web", &web, Some(json!(4)), None))?;

    let api = json!({"app": "api"});
    let api_spec = json!({"containers": [container("api", "ghcr.io/example/api:2.3.1", "250m", "256Mi")], "terminationGracePeriodSeconds": 5});
    put(inner, resources::DEPLOYMENTS, deployment("shop", "api", 3, &api, &api_spec))?;
    put(inner, resources::PDBS, pdb("shop", "api", &api, None, Some(json!(1))))?;

    let cache = json!({"app": "cache"});
    let cache_spec = json!({"containers": [{"name": "redis", "image": "redis:6.2", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
        "volumeMounts": [{"name": "scratch", "mountPath": "/data"}]}],
        "volumes": [{"name": "scratch", "emptyDir": {}}], "terminationGracePeriodSeconds": 5});
    put(inner, resources::DEPLOYMENTS, deployment("shop", "cache", 2, &cache, &cache_spec))?;

    let db = json!({"app": "db"});
    put(
        inner,
        resources::STATEFULSETS,
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "shop", "labels": db},
            "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": db}, "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate"},
                     "template": {"metadata": {"labels": db}, "spec": {"containers": [container("postgres", "postgres:13", "250m", "256Mi")], "terminationGracePeriodSeconds": 5}}},
        }),
    )?;
    put(inner, resources::PDBS, pdb("shop", "db", &db, None, Some(json!(1))))?;

    put(
        inner,
        resources::PODS,
        json!({
            "metadata": {"name": "debug", "namespace": "shop", "labels": {"run": "debug"}},
            "spec": {"containers": [container("debug", "busybox:1.34", "10m", "16Mi")], "terminationGracePeriodSeconds": 5},
            "status": {"phase": "Pending"},
        }),
    )?;
    Ok(())
}
