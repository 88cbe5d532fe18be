//! Server-side `Table` output (what `kubectl get` asks for with `as=Table`).

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::clock::parse_time;
use crate::model;
use crate::resources::ResourceDef;
use crate::util::{get_path, human_duration, str_at};

struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    priority: u8,
    description: &'static str,
}

const fn col(name: &'static str, priority: u8) -> Column {
    Column { name, kind: "string", format: "", priority, description: "" }
}

fn name_col() -> Column {
    Column {
        name: "Name",
        kind: "string",
        format: "name",
        priority: 0,
        description: "Name must be unique within a namespace. Cannot be updated.",
    }
}

fn columns(def: &ResourceDef) -> Vec<Column> {
    match def.kind {
        "Node" => vec![
            name_col(),
            col("Status", 0),
            col("Roles", 0),
            col("Age", 0),
            col("Version", 0),
            col("Internal-IP", 1),
            col("External-IP", 1),
            col("OS-Image", 1),
            col("Kernel-Version", 1),
            col("Container-Runtime", 1),
        ],
        "Pod" => vec![
            name_col(),
            col("Ready", 0),
            col("Status", 0),
            Column { name: "Restarts", kind: "string", format: "", priority: 0, description: "" },
            col("Age", 0),
            col("IP", 1),
            col("Node", 1),
            col("Nominated Node", 1),
            col("Readiness Gates", 1),
        ],
        "PodDisruptionBudget" => vec![
            name_col(),
            col("Min Available", 0),
            col("Max Unavailable", 0),
            Column { name: "Allowed Disruptions", kind: "integer", format: "", priority: 0, description: "" },
            col("Age", 0),
        ],
        "Deployment" => vec![
            name_col(),
            col("Ready", 0),
            Column { name: "Up-to-date", kind: "integer", format: "", priority: 0, description: "" },
            Column { name: "Available", kind: "integer", format: "", priority: 0, description: "" },
            col("Age", 0),
            col("Containers", 1),
            col("Images", 1),
            col("Selector", 1),
        ],
        "DaemonSet" => vec![
            name_col(),
            Column { name: "Desired", kind: "integer", format: "", priority: 0, description: "" },
            Column { name: "Current", kind: "integer", format: "", priority: 0, description: "" },
            Column { name: "Ready", kind: "integer", format: "", priority: 0, description: "" },
            Column { name: "Up-to-date", kind: "integer", format: "", priority: 0, description: "" },
            Column { name: "Available", kind: "integer", format: "", priority: 0, description: "" },
            col("Node Selector", 0),
            col("Age", 0),
        ],
        "StatefulSet" | "ReplicaSet" => vec![name_col(), col("Ready", 0), col("Age", 0)],
        "Namespace" => vec![name_col(), col("Status", 0), col("Age", 0)],
        "ConfigMap" => vec![
            name_col(),
            Column { name: "Data", kind: "integer", format: "", priority: 0, description: "" },
            col("Age", 0),
        ],
        "Secret" => vec![
            name_col(),
            col("Type", 0),
            Column { name: "Data", kind: "integer", format: "", priority: 0, description: "" },
            col("Age", 0),
        ],
        _ => vec![name_col(), col("Age", 0)],
    }
}

fn age(obj: &Value, now: Timestamp) -> String {
    match parse_time(str_at(obj, "metadata.creationTimestamp")) {
        Some(created) => human_duration(now.as_second() - created.as_second()),
        None => "<unknown>".to_owned(),
    }
}

fn or_none(text: &str) -> Value {
    Value::from(if text.is_empty() { "<none>" } else { text })
}

fn int_at(obj: &Value, path: &str) -> i64 {
    get_path(obj, path).and_then(Value::as_i64).unwrap_or(0)
}

fn node_status(node: &Value) -> String {
    let mut status = match model::condition(node, "Ready") {
        Some("True") => "Ready".to_owned(),
        Some("False") => "NotReady".to_owned(),
        _ => "Unknown".to_owned(),
    };
    if get_path(node, "spec.unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

fn pod_status(pod: &Value) -> String {
    if model::is_terminating(pod) {
        return "Terminating".to_owned();
    }
    let reason = str_at(pod, "status.reason");
    if !reason.is_empty() {
        return reason.to_owned();
    }
    for status in get_path(pod, "status.containerStatuses").and_then(Value::as_array).into_iter().flatten() {
        let waiting = str_at(status, "state.waiting.reason");
        if !waiting.is_empty() {
            return waiting.to_owned();
        }
    }
    let phase = model::pod_phase(pod);
    if phase.is_empty() { "Pending".to_owned() } else { phase.to_owned() }
}

fn int_or_string(value: Option<&Value>) -> Value {
    match value {
        Some(Value::Number(n)) => Value::from(n.to_string()),
        Some(Value::String(s)) => Value::from(s.clone()),
        _ => Value::from("N/A"),
    }
}

fn cells(def: &ResourceDef, obj: &Value, now: Timestamp) -> Vec<Value> {
    let name = Value::from(str_at(obj, "metadata.name"));
    match def.kind {
        "Node" => {
            let roles = model::node_roles(obj);
            vec![
                name,
                Value::from(node_status(obj)),
                Value::from(if roles.is_empty() { "<none>".to_owned() } else { roles.join(",") }),
                Value::from(age(obj, now)),
                Value::from(str_at(obj, "status.nodeInfo.kubeletVersion")),
                or_none(model::internal_ip(obj)),
                Value::from("<none>"),
                or_none(str_at(obj, "status.nodeInfo.osImage")),
                or_none(str_at(obj, "status.nodeInfo.kernelVersion")),
                or_none(str_at(obj, "status.nodeInfo.containerRuntimeVersion")),
            ]
        }
        "Pod" => {
            let statuses = get_path(obj, "status.containerStatuses").and_then(Value::as_array);
            let total = get_path(obj, "spec.containers").and_then(Value::as_array).map_or(0, Vec::len);
            let ready = statuses.map_or(0, |s| s.iter().filter(|c| c.get("ready") == Some(&Value::Bool(true))).count());
            let restarts: i64 = statuses.map_or(0, |s| s.iter().map(|c| int_at(c, "restartCount")).sum());
            vec![
                name,
                Value::from(format!("{ready}/{total}")),
                Value::from(pod_status(obj)),
                Value::from(restarts.to_string()),
                Value::from(age(obj, now)),
                or_none(str_at(obj, "status.podIP")),
                or_none(model::node_name(obj)),
                or_none(str_at(obj, "status.nominatedNodeName")),
                Value::from("<none>"),
            ]
        }
        "PodDisruptionBudget" => vec![
            name,
            int_or_string(get_path(obj, "spec.minAvailable")),
            int_or_string(get_path(obj, "spec.maxUnavailable")),
            Value::from(int_at(obj, "status.disruptionsAllowed")),
            Value::from(age(obj, now)),
        ],
        "Deployment" => {
            let containers = get_path(obj, "spec.template.spec.containers").and_then(Value::as_array);
            let names: Vec<&str> =
                containers.map(|c| c.iter().map(|x| str_at(x, "name")).collect()).unwrap_or_default();
            let images: Vec<&str> =
                containers.map(|c| c.iter().map(|x| str_at(x, "image")).collect()).unwrap_or_default();
            let selector = get_path(obj, "spec.selector.matchLabels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(",")
                })
                .unwrap_or_default();
            vec![
                name,
                Value::from(format!("{}/{}", int_at(obj, "status.readyReplicas"), int_at(obj, "spec.replicas"))),
                Value::from(int_at(obj, "status.updatedReplicas")),
                Value::from(int_at(obj, "status.availableReplicas")),
                Value::from(age(obj, now)),
                Value::from(names.join(",")),
                Value::from(images.join(",")),
                Value::from(selector),
            ]
        }
        "DaemonSet" => {
            let selector = get_path(obj, "spec.template.spec.nodeSelector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(",")
                })
                .unwrap_or_default();
            vec![
                name,
                Value::from(int_at(obj, "status.desiredNumberScheduled")),
                Value::from(int_at(obj, "status.currentNumberScheduled")),
                Value::from(int_at(obj, "status.numberReady")),
                Value::from(int_at(obj, "status.updatedNumberScheduled")),
                Value::from(int_at(obj, "status.numberAvailable")),
                or_none(&selector),
                Value::from(age(obj, now)),
            ]
        }
        "StatefulSet" | "ReplicaSet" => vec![
            name,
            Value::from(format!("{}/{}", int_at(obj, "status.readyReplicas"), int_at(obj, "spec.replicas"))),
            Value::from(age(obj, now)),
        ],
        "Namespace" => vec![name, Value::from(str_at(obj, "status.phase")), Value::from(age(obj, now))],
        "ConfigMap" => {
            let data = get_path(obj, "data").and_then(Value::as_object).map_or(0, serde_json::Map::len);
            vec![name, Value::from(data), Value::from(age(obj, now))]
        }
        "Secret" => {
            let data = get_path(obj, "data").and_then(Value::as_object).map_or(0, serde_json::Map::len);
            vec![name, Value::from(str_at(obj, "type")), Value::from(data), Value::from(age(obj, now))]
        }
        _ => vec![name, Value::from(age(obj, now))],
    }
}

/// The `PartialObjectMetadata` kubectl reads namespace and name from.
fn partial_metadata(obj: &Value) -> Value {
    let mut metadata = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = metadata.as_object_mut() {
        m.remove("managedFields");
    }
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
}

/// A `Table` of `objects`.
pub fn render(def: &ResourceDef, objects: &[&Value], now: Timestamp, list_meta: &Value) -> Value {
    let column_definitions: Vec<Value> = columns(def)
        .iter()
        .map(|c| {
            json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> =
        objects.iter().map(|obj| json!({"cells": cells(def, obj, now), "object": partial_metadata(obj)})).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta.clone(),
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

/// Whether an `Accept` header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| first.contains("as=Table"))
}
