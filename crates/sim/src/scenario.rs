//! Built-in scenarios: the objects a kubeadm cluster has right after it was built.

use kubeladder_core::release::ReleaseData;
use kubeladder_core::{KubeVersion, Minor};
use serde_json::{Value, json};

use crate::error::SimError;
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
    /// The cluster's version (control plane and kubelets).
    pub version: KubeVersion,
    /// `docker://19.3.15`, `containerd://1.6.20`, ...
    pub container_runtime: String,
}

impl Scenario {
    pub fn new(kind: ScenarioKind) -> Self {
        Self { kind, version: KubeVersion::new(1, 18, 20), container_runtime: "docker://19.3.15".to_owned() }
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

    /// `small`, `ha`, `large` (1,000 nodes x 30 pods) or `large:NODES:PODS`.
    pub fn by_name(name: &str) -> Result<Self, SimError> {
        let mut parts = name.split(':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("small"), None, None) => Ok(Self::small()),
            (Some("ha"), None, None) => Ok(Self::ha()),
            (Some("large"), None, None) => Ok(Self::large(1000, 30)),
            (Some("large"), Some(nodes), pods) => {
                let nodes = nodes.parse().map_err(|_| SimError::Scenario(name.to_owned()))?;
                let pods = pods.map_or(Ok(30), str::parse).map_err(|_| SimError::Scenario(name.to_owned()))?;
                Ok(Self::large(nodes, pods))
            }
            _ => Err(SimError::Scenario(format!("{name} (known: small, ha, large, large:NODES:PODS)"))),
        }
    }

    #[must_use]
    pub fn with_version(mut self, version: KubeVersion) -> Self {
        self.version = version;
        self
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
    if minor >= Minor::new(1, 25) { "registry.k8s.io" } else { "k8s.gcr.io" }
}

/// The `InternalIP` of the node with this index: always in 127.0.0.0/8.
pub fn node_ip(index: usize) -> String {
    format!("127.0.{}.{}", 1 + index / 250, 1 + index % 250)
}

/// Labels and taints of a control-plane node at a minor (kubeadm's history).
fn control_plane_marks(minor: Minor) -> (Vec<&'static str>, Vec<&'static str>) {
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

/// The static pod manifest kubeadm writes for a component (the pod, without status).
pub fn static_pod(component: &str, node_name: &str, ip: &str, version: KubeVersion, etcd: &str) -> Value {
    let registry = registry(version.minor());
    let image = if component == "etcd" {
        format!("{registry}/etcd:{etcd}")
    } else {
        format!("{registry}/{component}:{version}")
    };
    let command = match component {
        "kube-apiserver" => json!([
            "kube-apiserver",
            format!("--advertise-address={ip}"),
            "--secure-port=6443",
            "--etcd-servers=https://127.0.0.1:2379"
        ]),
        "etcd" => json!(["etcd", format!("--advertise-client-urls=https://{ip}:2379"), "--data-dir=/var/lib/etcd"]),
        other => json!([other, "--kubeconfig=/etc/kubernetes/".to_owned() + &other.replace("kube-", "") + ".conf"]),
    };
    let mut annotations = json!({});
    if component == "kube-apiserver" {
        annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = json!(format!("{ip}:6443"));
    }
    if component == "etcd" {
        annotations["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = json!(format!("https://{ip}:2379"));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{component}-{node_name}"),
            "namespace": "kube-system",
            "labels": {"component": component, "tier": "control-plane"},
            "annotations": annotations,
        },
        "spec": {
            "containers": [{"name": component, "image": image, "command": command, "imagePullPolicy": "IfNotPresent",
                            "resources": {"requests": {"cpu": if component == "kube-apiserver" { "250m" } else { "100m" }}}}],
            "hostNetwork": true,
            "priorityClassName": "system-node-critical",
            "nodeName": node_name,
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
        },
    })
}

/// Turn a static pod manifest into its mirror pod (annotations, owner, running status).
pub fn mirror_pod(manifest: &Value, node: &Value, now: &str) -> Value {
    let hash = content_hash(&manifest.to_string());
    let mut pod = manifest.clone();
    if pod.pointer("/metadata/annotations").is_none_or(|a| !a.is_object()) {
        pod["metadata"]["annotations"] = json!({});
    }
    if let Some(a) = pod.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        a.insert("kubernetes.io/config.hash".to_owned(), json!(hash));
        a.insert("kubernetes.io/config.mirror".to_owned(), json!(hash));
        a.insert("kubernetes.io/config.seen".to_owned(), json!(now));
        a.insert("kubernetes.io/config.source".to_owned(), json!("file"));
    }
    pod["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "Node", "name": crate::util::str_at(node, "metadata.name"),
        "uid": crate::util::str_at(node, "metadata.uid"), "controller": true
    }]);
    let ip = crate::model::internal_ip(node);
    let containers = pod.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "started": true, "restartCount": 0,
                   "state": {"running": {"startedAt": now}},
                   "containerID": format!("docker://{}", content_hash(&format!("{hash}{}", c["name"])))})
        })
        .collect();
    pod["status"] = json!({
        "phase": "Running",
        "conditions": running_conditions(now, true),
        "hostIP": ip, "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": now,
        "qosClass": "Burstable",
        "containerStatuses": statuses,
    });
    pod
}

/// The four pod conditions of a scheduled pod.
pub fn running_conditions(now: &str, ready: bool) -> Value {
    let flag = if ready { "True" } else { "False" };
    json!([
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
        {"type": "Ready", "status": flag, "lastProbeTime": null, "lastTransitionTime": now},
        {"type": "ContainersReady", "status": flag, "lastProbeTime": null, "lastTransitionTime": now},
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}
    ])
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

fn kubeadm_config(version: KubeVersion, control_planes: &[(String, String)]) -> Value {
    let minor = version.minor();
    let api = if minor >= Minor::new(1, 22) { "kubeadm.k8s.io/v1beta3" } else { "kubeadm.k8s.io/v1beta2" };
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
    let release = ReleaseData::embedded()?.get(minor);
    let etcd = release.map_or_else(|| "3.4.3-0".to_owned(), |r| r.etcd.clone());
    let coredns = release.map_or_else(|| "1.6.7".to_owned(), |r| r.coredns.clone());
    let registry = registry(minor);
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
    let (cps, workers) = scenario.node_counts();
    let mut control_planes = Vec::new();
    for index in 0..cps + workers {
        let control_plane = index < cps;
        let name = if control_plane { format!("cp-{}", index + 1) } else { format!("worker-{}", index - cps + 1) };
        let node_obj = node(&name, index, control_plane, version, &scenario.container_runtime, &created);
        put(inner, resources::NODES, node_obj)?;
        if control_plane {
            control_planes.push((name.clone(), node_ip(index)));
            let node_obj = inner.get(resources::NODES, "", &name).cloned().unwrap_or(Value::Null);
            for component in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
                let manifest = static_pod(component, &name, &node_ip(index), version, &etcd);
                let mut pod = mirror_pod(&manifest, &node_obj, &created);
                pod["metadata"]["creationTimestamp"] = json!(created);
                put(inner, resources::PODS, pod)?;
            }
        }
    }
    put(inner, resources::CONFIGMAPS, kubeadm_config(version, &control_planes))?;
    put(
        inner,
        resources::CONFIGMAPS,
        json!({"metadata": {"name": kubelet_config_name(minor), "namespace": "kube-system"},
        "data": {"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\n"}}),
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
    let coredns_image = if minor >= Minor::new(1, 21) {
        format!("{registry}/coredns/coredns:v{}", coredns.trim_start_matches('v'))
    } else {
        format!("{registry}/coredns:{coredns}")
    };
    let dns_spec = json!({"containers": [container("coredns", &coredns_image, "100m", "70Mi")],
        "tolerations": control_plane_tolerations(), "priorityClassName": "system-cluster-critical",
        "nodeSelector": {"kubernetes.io/os": "linux"}, "terminationGracePeriodSeconds": 30});
    put(inner, resources::DEPLOYMENTS, deployment("kube-system", "coredns", 2, &dns_labels, &dns_spec))?;
    let proxy_labels = json!({"k8s-app": "kube-proxy"});
    let proxy_spec = json!({"containers": [container("kube-proxy", &format!("{registry}/kube-proxy:{version}"), "0", "0")],
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
    Ok(())
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
