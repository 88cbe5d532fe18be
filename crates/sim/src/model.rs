//! Typed accessors over the JSON objects, for the places where behaviour depends on them.

use serde_json::{Value, json};

use crate::util::{get_path, str_at};

/// Status of the condition `kind` (`"True"`, `"False"`, `"Unknown"`), if present.
pub fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a str> {
    get_path(obj, "status.conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
}

pub fn is_ready(obj: &Value) -> bool {
    condition(obj, "Ready") == Some("True")
}

pub fn is_terminating(obj: &Value) -> bool {
    get_path(obj, "metadata.deletionTimestamp").is_some_and(|v| !v.is_null())
}

/// A pod counts as healthy for budgets: Ready and not being deleted.
pub fn pod_healthy(pod: &Value) -> bool {
    is_ready(pod) && !is_terminating(pod)
}

pub fn pod_phase(pod: &Value) -> &str {
    str_at(pod, "status.phase")
}

pub fn pod_finished(pod: &Value) -> bool {
    matches!(pod_phase(pod), "Succeeded" | "Failed")
}

pub fn node_name(pod: &Value) -> &str {
    str_at(pod, "spec.nodeName")
}

pub fn labels(obj: &Value) -> Option<&serde_json::Map<String, Value>> {
    get_path(obj, "metadata.labels").and_then(Value::as_object)
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    get_path(obj, "metadata.annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
}

pub fn is_mirror_pod(pod: &Value) -> bool {
    annotation(pod, "kubernetes.io/config.mirror").is_some()
}

/// The controlling owner reference: (kind, name, uid).
pub fn controller_of(obj: &Value) -> Option<(&str, &str, &str)> {
    get_path(obj, "metadata.ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| (str_at(r, "kind"), str_at(r, "name"), str_at(r, "uid")))
}

/// An ownerReference pointing at `owner`.
pub fn owner_reference(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": str_at(owner, "apiVersion"),
        "kind": str_at(owner, "kind"),
        "name": str_at(owner, "metadata.name"),
        "uid": str_at(owner, "metadata.uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Node taints as (key, value, effect).
pub fn taints(node: &Value) -> Vec<(&str, &str, &str)> {
    get_path(node, "spec.taints")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(|t| (str_at(t, "key"), str_at(t, "value"), str_at(t, "effect"))).collect())
        .unwrap_or_default()
}

/// Whether the pod's tolerations cover every `NoSchedule` / `NoExecute` taint of the node.
pub fn tolerates(pod_spec: &Value, node: &Value) -> bool {
    let tolerations: Vec<&Value> =
        pod_spec.get("tolerations").and_then(Value::as_array).map(|t| t.iter().collect()).unwrap_or_default();
    taints(node).iter().filter(|(_, _, effect)| *effect == "NoSchedule" || *effect == "NoExecute").all(
        |(key, value, effect)| {
            tolerations.iter().any(|t| {
                let t_key = str_at(t, "key");
                let t_effect = str_at(t, "effect");
                let operator = str_at(t, "operator");
                let key_ok = (t_key.is_empty() && operator == "Exists") || t_key == *key;
                let value_ok = operator == "Exists" || str_at(t, "value") == *value;
                let effect_ok = t_effect.is_empty() || t_effect == *effect;
                key_ok && value_ok && effect_ok
            })
        },
    )
}

/// Whether `spec.nodeSelector` matches the node's labels.
pub fn node_selector_matches(pod_spec: &Value, node: &Value) -> bool {
    let Some(selector) = pod_spec.get("nodeSelector").and_then(Value::as_object) else { return true };
    let node_labels = labels(node);
    selector.iter().all(|(k, v)| node_labels.and_then(|l| l.get(k)) == Some(v))
}

/// Node roles from `node-role.kubernetes.io/<role>` labels.
pub fn node_roles(node: &Value) -> Vec<String> {
    let mut roles: Vec<String> = labels(node)
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    roles
}

/// The node's `InternalIP` address.
pub fn internal_ip(node: &Value) -> &str {
    get_path(node, "status.addresses")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| str_at(x, "type") == "InternalIP"))
        .map_or("", |x| str_at(x, "address"))
}

/// Sum of container requests of `resource` (`cpu`, `memory`) in a pod spec, in base units.
pub fn pod_request(pod: &Value, resource: &str) -> f64 {
    get_path(pod, "spec.containers").and_then(Value::as_array).map_or(0.0, |containers| {
        containers
            .iter()
            .filter_map(|c| get_path(c, "resources.requests").and_then(|r| r.get(resource)))
            .map(crate::util::parse_quantity)
            .sum()
    })
}

/// Whether the pod uses an emptyDir volume.
pub fn has_empty_dir(pod: &Value) -> bool {
    get_path(pod, "spec.volumes")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().any(|vol| vol.get("emptyDir").is_some()))
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
