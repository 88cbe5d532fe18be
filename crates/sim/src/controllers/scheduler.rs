//! The scheduler: binds pending pods to Ready, schedulable nodes whose taints they tolerate
//! and whose allocatable cpu / memory / pods still fit their requests (least loaded first).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::model;
use crate::resources::{NODES, PODS};
use crate::store::{StoreInner, name_of, namespace_of};
use crate::util::{get_path, object_entry, parse_quantity};

struct NodeRoom {
    name: String,
    node: Value,
    /// Whether the node has `NoSchedule`/`NoExecute` taints or labels worth checking.
    tainted: bool,
    cpu: f64,
    memory: f64,
    pods: f64,
}

pub(super) fn schedule(inner: &mut StoreInner) {
    // (namespace, name, cpu, memory, the spec fields placement reads)
    let pending: Vec<(String, String, f64, f64, Value)> = inner
        .list(PODS, None)
        .filter(|p| model::node_name(p).is_empty() && !model::is_terminating(p) && !model::pod_finished(p))
        .map(|p| {
            let mut placement = json!({});
            for field in ["tolerations", "nodeSelector"] {
                if let Some(value) = get_path(p, "spec").and_then(|s| s.get(field)) {
                    placement[field] = value.clone();
                }
            }
            (
                namespace_of(p).to_owned(),
                name_of(p).to_owned(),
                model::pod_request(p, "cpu"),
                model::pod_request(p, "memory"),
                placement,
            )
        })
        .collect();
    if pending.is_empty() {
        return;
    }
    let mut used: HashMap<&str, (f64, f64, f64)> = HashMap::new();
    for pod in inner.list(PODS, None).filter(|p| !model::pod_finished(p)) {
        let entry = used.entry(model::node_name(pod)).or_default();
        entry.0 += model::pod_request(pod, "cpu");
        entry.1 += model::pod_request(pod, "memory");
        entry.2 += 1.0;
    }
    let mut rooms: Vec<NodeRoom> = inner
        .list(NODES, None)
        .filter(|n| model::is_ready(n) && get_path(n, "spec.unschedulable").and_then(Value::as_bool) != Some(true))
        .map(|n| {
            let alloc = |r: &str| get_path(n, "status.allocatable").and_then(|a| a.get(r)).map_or(0.0, parse_quantity);
            let (cpu, memory, pods) = used.get(name_of(n)).copied().unwrap_or_default();
            NodeRoom {
                name: name_of(n).to_owned(),
                node: n.clone(),
                tainted: model::taints(n).iter().any(|(_, _, e)| *e == "NoSchedule" || *e == "NoExecute"),
                cpu: alloc("cpu") - cpu,
                memory: alloc("memory") - memory,
                pods: alloc("pods") - pods,
            }
        })
        .collect();
    let now = inner.clock().now_rfc3339();
    for (namespace, name, cpu, memory, spec) in pending {
        let has_selector = spec.get("nodeSelector").is_some();
        let best = rooms
            .iter_mut()
            .filter(|r| r.cpu >= cpu && r.memory >= memory && r.pods >= 1.0)
            .filter(|r| !r.tainted || model::tolerates(&spec, &r.node))
            .filter(|r| !has_selector || model::node_selector_matches(&spec, &r.node))
            .max_by(|a, b| a.pods.total_cmp(&b.pods).then_with(|| b.name.cmp(&a.name)));
        if let Some(room) = best {
            {
                room.cpu -= cpu;
                room.memory -= memory;
                room.pods -= 1.0;
                let node = room.name.clone();
                let now = now.clone();
                inner.modify(PODS, &namespace, &name, |p| {
                    object_entry(p, "spec").insert("nodeName".to_owned(), Value::from(node));
                    object_entry(p, "status").insert(
                        "conditions".to_owned(),
                        json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}]),
                    );
                });
            }
        } else {
            {
                let message = format!("0/{} nodes are available.", inner.count(NODES));
                let now = now.clone();
                inner.modify(PODS, &namespace, &name, |p| {
                    let status = object_entry(p, "status");
                    let already = status.get("conditions").and_then(Value::as_array).is_some_and(|c| {
                        c.iter().any(|x| x.get("reason").and_then(Value::as_str) == Some("Unschedulable"))
                    });
                    if !already {
                        status.insert("phase".to_owned(), json!("Pending"));
                        status.insert(
                            "conditions".to_owned(),
                            json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                    "message": message, "lastProbeTime": null, "lastTransitionTime": now}]),
                        );
                    }
                });
            }
        }
    }
}
