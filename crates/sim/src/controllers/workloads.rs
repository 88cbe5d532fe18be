//! Workload controllers: Deployment -> ReplicaSet -> pods, StatefulSet, DaemonSet.

use serde_json::{Map, Value, json};

use crate::lifecycle;
use crate::model;
use crate::resources::{self, DAEMONSETS, DEPLOYMENTS, NODES, PODS, REPLICASETS, STATEFULSETS};
use crate::store::{StoreInner, name_of, namespace_of, uid_of};
use crate::util::{get_path, name_hash, object_entry, str_at};

fn replicas(obj: &Value) -> i64 {
    get_path(obj, "spec.replicas").and_then(Value::as_i64).unwrap_or(1)
}

fn template_hash(obj: &Value) -> String {
    name_hash(&get_path(obj, "spec.template").map(Value::to_string).unwrap_or_default(), 10)
}

/// Pods controlled by `owner_uid` that are neither terminating nor finished.
fn owned_pods<'a>(
    inner: &'a StoreInner,
    namespace: &'a str,
    owner_uid: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    inner
        .owned_by(PODS, owner_uid)
        .filter(move |p| namespace_of(p) == namespace)
        .filter(move |p| model::controller_of(p).is_some_and(|(_, _, uid)| uid == owner_uid))
        .filter(|p| !model::is_terminating(p) && !model::pod_finished(p))
}

/// A new pod from an owner's template.
fn pod_from_template(owner: &Value, name: &str, extra_labels: &[(&str, String)]) -> Value {
    let template = get_path(owner, "spec.template").cloned().unwrap_or_else(|| json!({}));
    let mut labels: Map<String, Value> =
        get_path(&template, "metadata.labels").and_then(Value::as_object).cloned().unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert((*k).to_owned(), Value::from(v.clone()));
    }
    let mut metadata = json!({
        "name": name,
        "namespace": namespace_of(owner),
        "labels": labels,
        "ownerReferences": [model::owner_reference(owner)],
    });
    if let Some(annotations) = get_path(&template, "metadata.annotations") {
        metadata["annotations"] = annotations.clone();
    }
    let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    if let Some(map) = spec.as_object_mut() {
        map.entry("restartPolicy").or_insert_with(|| json!("Always"));
        map.entry("terminationGracePeriodSeconds").or_insert_with(|| json!(30));
        map.entry("schedulerName").or_insert_with(|| json!("default-scheduler"));
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec,
           "status": {"phase": "Pending", "qosClass": "Burstable"}})
}

fn create_pod(inner: &mut StoreInner, pod: Value) {
    if let Some(def) = resources::by_key(PODS) {
        let _ = inner.create(def, pod);
    }
}

pub(super) fn deployments(inner: &mut StoreInner) {
    let all = inner.snapshot(DEPLOYMENTS);
    let Some(rs_def) = resources::by_key(REPLICASETS) else { return };
    for deploy in all {
        let namespace = namespace_of(&deploy).to_owned();
        let uid = uid_of(&deploy).to_owned();
        let hash = template_hash(&deploy);
        let rs_name = format!("{}-{hash}", name_of(&deploy));
        let desired = replicas(&deploy);
        let owned: Vec<Value> = inner
            .owned_by(REPLICASETS, &uid)
            .filter(|rs| model::controller_of(rs).is_some_and(|(_, _, u)| u == uid))
            .cloned()
            .collect();
        let new_ready: i64 = owned
            .iter()
            .find(|rs| name_of(rs) == rs_name)
            .and_then(|rs| get_path(rs, "status.readyReplicas").and_then(Value::as_i64))
            .unwrap_or(0);
        if !owned.iter().any(|rs| name_of(rs) == rs_name) {
            let mut template = get_path(&deploy, "spec.template").cloned().unwrap_or_else(|| json!({}));
            if let Some(labels) = template.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
                labels.insert("pod-template-hash".to_owned(), Value::from(hash.clone()));
            }
            let mut selector = get_path(&deploy, "spec.selector").cloned().unwrap_or_else(|| json!({}));
            object_entry(&mut selector, "matchLabels")
                .insert("pod-template-hash".to_owned(), Value::from(hash.clone()));
            let mut labels = get_path(&template, "metadata.labels").cloned().unwrap_or_else(|| json!({}));
            labels["pod-template-hash"] = Value::from(hash.clone());
            let rs = json!({
                "metadata": {"name": rs_name, "namespace": namespace, "labels": labels,
                             "ownerReferences": [model::owner_reference(&deploy)]},
                "spec": {"replicas": desired, "selector": selector, "template": template},
            });
            let _ = inner.create(rs_def, rs);
        }
        for rs in &owned {
            let target = if name_of(rs) == rs_name { desired } else { (desired - new_ready).max(0).min(replicas(rs)) };
            if replicas(rs) != target {
                inner.modify(REPLICASETS, &namespace, name_of(rs), |obj| {
                    object_entry(obj, "spec").insert("replicas".to_owned(), Value::from(target));
                });
            }
        }
    }
}

pub(super) fn replicasets(inner: &mut StoreInner) {
    let all = inner.snapshot(REPLICASETS);
    for rs in all {
        let namespace = namespace_of(&rs).to_owned();
        let uid = uid_of(&rs).to_owned();
        let want = usize::try_from(replicas(&rs)).unwrap_or(0);
        if owned_pods(inner, &namespace, &uid).count() == want {
            continue;
        }
        let mut pods: Vec<(String, bool, bool)> = owned_pods(inner, &namespace, &uid)
            .map(|p| (name_of(p).to_owned(), model::node_name(p).is_empty(), model::is_ready(p)))
            .collect();
        if pods.len() < want {
            let hash = str_at(&rs, "metadata.labels.pod-template-hash").to_owned();
            for _ in pods.len()..want {
                let name = format!("{}-{}", name_of(&rs), inner.rng.suffix(5));
                let extra = if hash.is_empty() { Vec::new() } else { vec![("pod-template-hash", hash.clone())] };
                create_pod(inner, pod_from_template(&rs, &name, &extra));
            }
        } else if pods.len() > want {
            // Unscheduled first, then not ready, then by name.
            pods.sort_by_key(|(name, unscheduled, ready)| (!*unscheduled, *ready, name.clone()));
            for (name, _, _) in pods.iter().take(pods.len() - want) {
                lifecycle::delete_pod(inner, &namespace, name, None);
            }
        }
    }
}

pub(super) fn statefulsets(inner: &mut StoreInner) {
    let all = inner.snapshot(STATEFULSETS);
    for sts in all {
        let namespace = namespace_of(&sts).to_owned();
        let name = name_of(&sts).to_owned();
        let uid = uid_of(&sts).to_owned();
        let want = replicas(&sts);
        let ordered = str_at(&sts, "spec.podManagementPolicy") != "Parallel";
        let hash = template_hash(&sts);
        for ordinal in 0..want {
            let pod_name = format!("{name}-{ordinal}");
            match inner.get(PODS, &namespace, &pod_name) {
                Some(pod) if model::controller_of(pod).is_some_and(|(_, _, u)| u == uid) => {
                    if ordered && !model::pod_healthy(pod) {
                        break;
                    }
                }
                Some(_) => break,
                None => {
                    let extra = [
                        ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                        ("controller-revision-hash", format!("{name}-{hash}")),
                    ];
                    let mut pod = pod_from_template(&sts, &pod_name, &extra);
                    pod["spec"]["hostname"] = Value::from(pod_name.clone());
                    pod["spec"]["subdomain"] = Value::from(str_at(&sts, "spec.serviceName"));
                    create_pod(inner, pod);
                    if ordered {
                        break;
                    }
                }
            }
        }
        let extra: Vec<String> = owned_pods(inner, &namespace, &uid)
            .map(|p| name_of(p).to_owned())
            .filter(|n| n.rsplit_once('-').and_then(|(_, o)| o.parse::<i64>().ok()).is_none_or(|o| o >= want))
            .collect();
        for pod_name in extra {
            lifecycle::delete_pod(inner, &namespace, &pod_name, None);
        }
    }
}

/// The DaemonSet's pod spec with the tolerations the DaemonSet controller adds.
fn daemon_pod_spec(ds: &Value) -> Value {
    let mut spec = get_path(ds, "spec.template.spec").cloned().unwrap_or_else(|| json!({}));
    let mut tolerations = spec.get("tolerations").and_then(Value::as_array).cloned().unwrap_or_default();
    for key in ["node.kubernetes.io/unschedulable", "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        tolerations.push(json!({"key": key, "operator": "Exists"}));
    }
    if let Some(map) = spec.as_object_mut() {
        map.insert("tolerations".to_owned(), Value::Array(tolerations));
    }
    spec
}

fn eligible_nodes(inner: &StoreInner, spec: &Value) -> Vec<String> {
    inner
        .list(NODES, None)
        .filter(|n| model::node_selector_matches(spec, n) && model::tolerates(spec, n))
        .map(|n| name_of(n).to_owned())
        .collect()
}

pub(super) fn daemonsets(inner: &mut StoreInner) {
    let all = inner.snapshot(DAEMONSETS);
    for ds in all {
        let namespace = namespace_of(&ds).to_owned();
        let uid = uid_of(&ds).to_owned();
        let hash = template_hash(&ds);
        let spec = daemon_pod_spec(&ds);
        let eligible = eligible_nodes(inner, &spec);
        let pods: Vec<(String, String, String, bool)> = owned_pods(inner, &namespace, &uid)
            .map(|p| {
                (
                    name_of(p).to_owned(),
                    model::node_name(p).to_owned(),
                    str_at(p, "metadata.labels.controller-revision-hash").to_owned(),
                    model::pod_healthy(p),
                )
            })
            .collect();
        let terminating_nodes: Vec<String> = inner
            .owned_by(PODS, &uid)
            .filter(|p| model::controller_of(p).is_some_and(|(_, _, u)| u == uid) && model::is_terminating(p))
            .map(|p| model::node_name(p).to_owned())
            .collect();
        let mut all_healthy = true;
        for node in &eligible {
            if !pods.iter().any(|(_, n, _, _)| n == node) {
                all_healthy = false;
                if terminating_nodes.contains(node) {
                    continue;
                }
                let name = format!("{}-{}", name_of(&ds), inner.rng.suffix(5));
                let mut pod = pod_from_template(&ds, &name, &[("controller-revision-hash", hash.clone())]);
                pod["spec"]["tolerations"] = spec.get("tolerations").cloned().unwrap_or(Value::Null);
                pod["spec"]["nodeName"] = Value::from(node.clone());
                create_pod(inner, pod);
            }
        }
        for (name, node, _, healthy) in &pods {
            if !eligible.contains(node) {
                lifecycle::delete_pod(inner, &namespace, name, None);
            } else if !healthy {
                all_healthy = false;
            }
        }
        // Rolling update, one pod at a time, once every other pod is healthy.
        if all_healthy && let Some((name, _, _, _)) = pods.iter().find(|(_, _, h, _)| *h != hash) {
            lifecycle::delete_pod(inner, &namespace, name, None);
        }
    }
}

/// Status of Deployments, ReplicaSets, StatefulSets and DaemonSets from their pods.
pub(super) fn statuses(inner: &mut StoreInner) {
    for key in [REPLICASETS, STATEFULSETS] {
        let all = inner.snapshot(key);
        for obj in all {
            let namespace = namespace_of(&obj).to_owned();
            let pods: Vec<&Value> = owned_pods(inner, &namespace, uid_of(&obj)).collect();
            let count = pods.len();
            let ready = pods.iter().filter(|p| model::is_ready(p)).count();
            let generation = get_path(&obj, "metadata.generation").and_then(Value::as_i64).unwrap_or(1);
            let mut status = json!({"replicas": count, "readyReplicas": ready, "availableReplicas": ready,
                                    "observedGeneration": generation});
            if key == REPLICASETS {
                status["fullyLabeledReplicas"] = json!(count);
            } else {
                status["currentReplicas"] = json!(count);
                status["updatedReplicas"] = json!(count);
            }
            inner.set_status(key, &namespace, name_of(&obj), status);
        }
    }
    let deployments = inner.snapshot(DEPLOYMENTS);
    for deploy in deployments {
        let namespace = namespace_of(&deploy).to_owned();
        let uid = uid_of(&deploy).to_owned();
        let new_name = format!("{}-{}", name_of(&deploy), template_hash(&deploy));
        let (mut total, mut ready, mut updated) = (0, 0, 0);
        for rs in
            inner.owned_by(REPLICASETS, &uid).filter(|rs| model::controller_of(rs).is_some_and(|(_, _, u)| u == uid))
        {
            let count = get_path(rs, "status.replicas").and_then(Value::as_i64).unwrap_or(0);
            total += count;
            ready += get_path(rs, "status.readyReplicas").and_then(Value::as_i64).unwrap_or(0);
            if name_of(rs) == new_name {
                updated += count;
            }
        }
        let generation = get_path(&deploy, "metadata.generation").and_then(Value::as_i64).unwrap_or(1);
        let available = ready >= replicas(&deploy);
        let since = str_at(&deploy, "metadata.creationTimestamp").to_owned();
        let status = json!({
            "observedGeneration": generation, "replicas": total, "updatedReplicas": updated,
            "readyReplicas": ready, "availableReplicas": ready, "unavailableReplicas": (replicas(&deploy) - ready).max(0),
            "conditions": [{"type": "Available", "status": if available { "True" } else { "False" },
                            "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                            "message": "Deployment has minimum availability.", "lastUpdateTime": since, "lastTransitionTime": since}],
        });
        inner.set_status(DEPLOYMENTS, &namespace, name_of(&deploy), status);
    }
    let daemonsets = inner.snapshot(DAEMONSETS);
    for ds in daemonsets {
        let namespace = namespace_of(&ds).to_owned();
        let hash = template_hash(&ds);
        let pods: Vec<&Value> = owned_pods(inner, &namespace, uid_of(&ds)).collect();
        let count = pods.len();
        let ready = pods.iter().filter(|p| model::is_ready(p)).count();
        let updated = pods.iter().filter(|p| str_at(p, "metadata.labels.controller-revision-hash") == hash).count();
        let desired = eligible_nodes(inner, &daemon_pod_spec(&ds)).len();
        let generation = get_path(&ds, "metadata.generation").and_then(Value::as_i64).unwrap_or(1);
        let status = json!({
            "currentNumberScheduled": count, "desiredNumberScheduled": desired, "numberMisscheduled": 0,
            "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
            "observedGeneration": generation,
        });
        inner.set_status(DAEMONSETS, &namespace, name_of(&ds), status);
    }
}
