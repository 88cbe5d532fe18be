//! The kubelet of each simulated host, as the API sees it: it reports the node's Ready
//! condition and `kubeletVersion` from the kubelet service, and runs the static pods in
//! `/etc/kubernetes/manifests` as mirror pods whose `kubernetes.io/config.hash` is the
//! manifest file's hash. A changed manifest replaces the mirror pod (not Ready, then Ready
//! after [`super::HostTimings::static_pod_restart_secs`]); a removed one deletes it.
//! Faults can keep a node or a static pod from becoming Ready; etcd is not Ready while its
//! data is corrupt or missing.

use serde_json::{Value, json};

use super::{ETCD_CORRUPT_MARK, ETCD_DB, Host, Kubelet, MANIFESTS_DIR, Mirror, manifests};
use crate::model::{self, running_conditions};
use crate::resources::{self, NODES, PODS};
use crate::store::{StoreInner, name_of, uid_of};
use crate::util::{content_hash, get_path, object_entry, str_at};

/// What the node reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readiness {
    Ready,
    /// The kubelet runs but reports NotReady (restarting, or a fault).
    NotReady(&'static str),
    /// The kubelet stopped posting status.
    Unknown,
}

/// One pass over the hosts that need a look. Returns when the next timer is due.
pub(crate) fn sync(inner: &mut StoreInner, instant: bool) -> Option<f64> {
    let now = inner.clock().elapsed_secs();
    let mut next: Option<f64> = None;
    for node in inner.hosts.take_work() {
        let (keep, due) = sync_node(inner, &node, now, instant);
        inner.hosts.watch(&node, keep);
        if let Some(due) = due {
            next = Some(next.map_or(due, |n: f64| n.min(due)));
        }
    }
    next
}

#[allow(clippy::unnecessary_wraps)]
fn earliest(a: Option<f64>, b: f64) -> Option<f64> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// Sync one host; returns whether to keep visiting it every pass, and its next timer.
fn sync_node(inner: &mut StoreInner, node: &str, now: f64, instant: bool) -> (bool, Option<f64>) {
    if inner.get(NODES, "", node).is_none() {
        return (false, None);
    }
    let Some(host) = inner.hosts.get(node) else { return (false, None) };
    let mut next = None;
    let mut report_version = None;
    let mut kubelet = host.kubelet;
    if let Kubelet::Restarting { until } = kubelet {
        if instant || now >= until {
            kubelet = Kubelet::Running;
            report_version = host.package_kube_version("kubelet");
        } else {
            next = earliest(next, until);
        }
    }
    let readiness = match kubelet {
        Kubelet::Running if inner.faults.node_not_ready(node) => Readiness::NotReady(
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
        ),
        Kubelet::Running => Readiness::Ready,
        Kubelet::Restarting { .. } => Readiness::NotReady("container runtime status check may not have completed yet"),
        Kubelet::Stopped => Readiness::Unknown,
    };
    if let Some(host) = inner.hosts.get_mut_quiet(node) {
        host.kubelet = kubelet;
    }
    report_node(inner, node, readiness, report_version.map(|v| v.to_string()));
    if kubelet == Kubelet::Running {
        next = sync_static_pods(inner, node, now, instant, next, None);
    }
    let Some(host) = inner.hosts.get(node) else { return (false, next) };
    let keep = !host.mirrors.is_empty()
        || !host.pod_timers.is_empty()
        || matches!(host.kubelet, Kubelet::Restarting { .. })
        || host.files.list(MANIFESTS_DIR).is_ok_and(|l| !l.is_empty());
    (keep, next)
}

/// Set the node's Ready condition (and `kubeletVersion`), writing only on a change.
fn report_node(inner: &mut StoreInner, node: &str, readiness: Readiness, version: Option<String>) {
    let (status, reason, message) = match readiness {
        Readiness::Ready => ("True", "KubeletReady", "kubelet is posting ready status"),
        Readiness::NotReady(message) => ("False", "KubeletNotReady", message),
        Readiness::Unknown => ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
    };
    let Some(current) = inner.get(NODES, "", node) else { return };
    let same_condition = model::condition(current, "Ready") == Some(status)
        && get_path(current, "status.conditions")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().find(|c| str_at(c, "type") == "Ready"))
            .is_some_and(|c| str_at(c, "reason") == reason);
    let same_version = version.as_deref().is_none_or(|v| str_at(current, "status.nodeInfo.kubeletVersion") == v);
    if same_condition && same_version {
        return;
    }
    let now = inner.clock().now_rfc3339();
    inner.modify(NODES, "", node, |obj| {
        let status_obj = object_entry(obj, "status");
        if let Some(version) = version {
            let info = status_obj.entry("nodeInfo").or_insert_with(|| json!({}));
            info["kubeletVersion"] = json!(version);
        }
        if let Some(conditions) = status_obj.get_mut("conditions").and_then(Value::as_array_mut)
            && let Some(ready) = conditions.iter_mut().find(|c| str_at(c, "type") == "Ready")
        {
            if str_at(ready, "status") != status {
                ready["lastTransitionTime"] = json!(now);
            }
            ready["status"] = json!(status);
            ready["reason"] = json!(reason);
            ready["message"] = json!(message);
            ready["lastHeartbeatTime"] = json!(now);
        }
    });
}

/// Whether the etcd data on a host is present and not corrupt.
pub(crate) fn etcd_healthy(host: &Host) -> bool {
    host.files.text(ETCD_DB).is_some_and(|text| !text.starts_with(ETCD_CORRUPT_MARK))
}

/// Whether the kubelet reads this file in its manifest directory (by extension).
fn is_manifest_file(name: &str) -> bool {
    std::path::Path::new(name).extension().is_some_and(|e| {
        e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("json")
    })
}

/// The component a manifest file runs (`etcd.yaml` -> `etcd`).
fn component_of(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(stem, _)| stem)
}

/// Start a freshly built host's static pods, Ready, created at `created` (RFC 3339).
pub(crate) fn start_static_pods(inner: &mut StoreInner, node: &str, created: &str) {
    let now = inner.clock().elapsed_secs();
    sync_static_pods(inner, node, now, true, None, Some(created));
}

#[allow(clippy::too_many_lines)]
fn sync_static_pods(
    inner: &mut StoreInner,
    node: &str,
    now: f64,
    instant: bool,
    mut next: Option<f64>,
    created: Option<&str>,
) -> Option<f64> {
    let Some(host) = inner.hosts.get(node) else { return next };
    let files: Vec<(String, String)> = host
        .files
        .list(MANIFESTS_DIR)
        .unwrap_or_default()
        .into_iter()
        .filter(|f| is_manifest_file(f))
        .filter_map(|f| host.files.text(&format!("{MANIFESTS_DIR}/{f}")).map(|t| (f, t.to_owned())))
        .collect();
    let healthy_etcd = etcd_healthy(host);
    let restart_secs = inner.hosts.timings.static_pod_restart_secs;
    let stale: Vec<(String, Mirror)> = host
        .mirrors
        .iter()
        .filter(|(file, _)| !files.iter().any(|(f, _)| f == *file))
        .map(|(f, m)| (f.clone(), m.clone()))
        .collect();
    for (file, mirror) in stale {
        inner.delete(PODS, &mirror.namespace, &mirror.name);
        if let Some(host) = inner.hosts.get_mut_quiet(node) {
            host.mirrors.remove(&file);
            host.pod_timers.remove(&file);
        }
    }
    for (file, text) in files {
        let hash = content_hash(&text);
        let component = component_of(&file).to_owned();
        let known = inner.hosts.get(node).and_then(|h| h.mirrors.get(&file)).cloned();
        let at = if instant { None } else { Some(now + restart_secs) };
        let Some(mirror) =
            known.filter(|m| m.hash == hash).or_else(|| replace_mirror(inner, node, &file, &text, &hash, at, created))
        else {
            continue;
        };
        let blocked = inner.faults.pod_never_ready(&mirror.namespace, &mirror.name)
            || inner.faults.static_pod_never_ready(node, &component, &hash).is_some()
            || (component == "etcd" && !healthy_etcd);
        let Some(pod) = inner.get(PODS, &mirror.namespace, &mirror.name) else {
            // Deleted through the API: the kubelet makes it again on the next pass.
            if let Some(host) = inner.hosts.get_mut_quiet(node) {
                host.mirrors.remove(&file);
            }
            next = earliest(next, now);
            continue;
        };
        if model::is_terminating(pod) {
            continue;
        }
        let ready = model::is_ready(pod);
        let timer = inner.hosts.get(node).and_then(|h| h.pod_timers.get(&file).copied());
        if blocked {
            if ready {
                set_mirror_ready(inner, &mirror, false);
            }
            if let Some(host) = inner.hosts.get_mut_quiet(node) {
                host.pod_timers.remove(&file);
            }
            continue;
        }
        if ready {
            continue;
        }
        match timer {
            Some(at) if instant || now >= at => {
                set_mirror_ready(inner, &mirror, true);
                if let Some(host) = inner.hosts.get_mut_quiet(node) {
                    host.pod_timers.remove(&file);
                }
            }
            Some(at) => next = earliest(next, at),
            None => {
                // It was held back and no longer is: it becomes Ready after a restart.
                let at = now + restart_secs;
                if let Some(host) = inner.hosts.get_mut_quiet(node) {
                    host.pod_timers.insert(file.clone(), at);
                }
                next = earliest(next, at);
            }
        }
    }
    next
}

/// A new or changed manifest: (re)create its mirror pod, Ready at once (`ready_at` None)
/// or later. `None` when the file is not a pod manifest (its old mirror pod goes).
fn replace_mirror(
    inner: &mut StoreInner,
    node: &str,
    file: &str,
    text: &str,
    hash: &str,
    ready_at: Option<f64>,
    created: Option<&str>,
) -> Option<Mirror> {
    if let Some(old) = inner.hosts.get(node).and_then(|h| h.mirrors.get(file)).cloned() {
        inner.delete(PODS, &old.namespace, &old.name);
    }
    let Some(manifest) = manifests::parse(text) else {
        if let Some(host) = inner.hosts.get_mut_quiet(node) {
            host.mirrors.remove(file);
            host.pod_timers.remove(file);
        }
        return None;
    };
    let namespace = str_at(&manifest, "metadata.namespace");
    let mirror = Mirror {
        namespace: if namespace.is_empty() { "default".to_owned() } else { namespace.to_owned() },
        name: format!("{}-{node}", str_at(&manifest, "metadata.name")),
        hash: hash.to_owned(),
    };
    let created = created.map_or_else(|| inner.clock().now_rfc3339(), str::to_owned);
    create_mirror(inner, node, &manifest, &mirror, ready_at.is_none(), &created);
    if let Some(host) = inner.hosts.get_mut_quiet(node) {
        host.mirrors.insert(file.to_owned(), mirror.clone());
        match ready_at {
            Some(at) => host.pod_timers.insert(file.to_owned(), at),
            None => host.pod_timers.remove(file),
        };
    }
    Some(mirror)
}

/// Create the mirror pod of a manifest on `node`.
pub(crate) fn create_mirror(
    inner: &mut StoreInner,
    node: &str,
    manifest: &Value,
    mirror: &Mirror,
    ready: bool,
    created: &str,
) {
    let Some(node_obj) = inner.get(NODES, "", node) else { return };
    let pod = mirror_pod(manifest, mirror, node_obj, ready, created);
    if let Some(def) = resources::by_key(PODS) {
        let _ = inner.create(def, pod);
    }
}

/// The mirror pod of a static pod manifest (annotations, owner, defaults, running status).
pub(crate) fn mirror_pod(manifest: &Value, mirror: &Mirror, node: &Value, ready: bool, now: &str) -> Value {
    let mut pod = manifest.clone();
    let node_name = name_of(node).to_owned();
    if let Some(metadata) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("creationTimestamp");
        metadata.insert("name".to_owned(), json!(mirror.name));
        metadata.insert("namespace".to_owned(), json!(mirror.namespace));
        metadata.insert("creationTimestamp".to_owned(), json!(now));
    }
    let metadata = object_entry(&mut pod, "metadata");
    if !metadata.get("annotations").is_some_and(Value::is_object) {
        metadata.insert("annotations".to_owned(), json!({}));
    }
    if let Some(a) = pod.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        a.insert("kubernetes.io/config.hash".to_owned(), json!(mirror.hash));
        a.insert("kubernetes.io/config.mirror".to_owned(), json!(mirror.hash));
        a.insert("kubernetes.io/config.seen".to_owned(), json!(now));
        a.insert("kubernetes.io/config.source".to_owned(), json!("file"));
    }
    pod["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "Node", "name": node_name, "uid": uid_of(node), "controller": true
    }]);
    if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("nodeName".to_owned(), json!(node_name));
        spec.entry("tolerations").or_insert_with(|| json!([{"operator": "Exists", "effect": "NoExecute"}]));
        spec.entry("restartPolicy").or_insert_with(|| json!("Always"));
        spec.entry("terminationGracePeriodSeconds").or_insert_with(|| json!(30));
        spec.entry("dnsPolicy").or_insert_with(|| json!("ClusterFirst"));
        spec.entry("schedulerName").or_insert_with(|| json!("default-scheduler"));
        spec.entry("enableServiceLinks").or_insert_with(|| json!(true));
        if spec.get("priorityClassName").and_then(Value::as_str) == Some("system-node-critical") {
            spec.entry("priority").or_insert_with(|| json!(2_000_001_000));
        }
    }
    let ip = model::internal_ip(node).to_owned();
    pod["status"] = pod_status(&pod, &mirror.hash, &ip, ready, now);
    pod
}

fn pod_status(pod: &Value, hash: &str, ip: &str, ready: bool, now: &str) -> Value {
    let containers = get_path(pod, "spec.containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": format!("docker-pullable://{}", str_at(c, "image")),
                   "ready": ready, "started": true, "restartCount": 0,
                   "state": {"running": {"startedAt": now}},
                   "containerID": format!("docker://{}", content_hash(&format!("{hash}{}", c["name"])))})
        })
        .collect();
    json!({
        "phase": "Running",
        "conditions": running_conditions(now, ready),
        "hostIP": ip, "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": now,
        "qosClass": "Burstable",
        "containerStatuses": statuses,
    })
}

/// Flip a mirror pod's readiness (conditions and container statuses).
fn set_mirror_ready(inner: &mut StoreInner, mirror: &Mirror, ready: bool) {
    let now = inner.clock().now_rfc3339();
    inner.modify(PODS, &mirror.namespace, &mirror.name, |pod| {
        let flag = if ready { "True" } else { "False" };
        if let Some(conditions) = pod.pointer_mut("/status/conditions").and_then(Value::as_array_mut) {
            for c in conditions.iter_mut().filter(|c| matches!(str_at(c, "type"), "Ready" | "ContainersReady")) {
                c["status"] = json!(flag);
                c["lastTransitionTime"] = json!(now);
            }
        }
        if let Some(statuses) = pod.pointer_mut("/status/containerStatuses").and_then(Value::as_array_mut) {
            for s in statuses {
                s["ready"] = json!(ready);
            }
        }
    });
}
