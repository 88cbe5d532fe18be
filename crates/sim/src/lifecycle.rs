//! Operations shared by the API and the controllers: graceful pod deletion, cascading
//! deletion through ownerReferences, and eviction with PodDisruptionBudget checks.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::api::selectors::LabelSelector;
use crate::model;
use crate::resources::{self, PDBS, PODS};
use crate::status::ApiError;
use crate::store::{StoreInner, name_of, namespace_of, uid_of};
use crate::util::{get_path, object_entry, str_at};

/// How a delete propagates to dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Orphan,
}

/// Delete a pod: bound pods on an existing node get a deletionTimestamp and are removed by
/// their kubelet after the grace period; others go at once. Returns the object as answered.
pub fn delete_pod(inner: &mut StoreInner, namespace: &str, name: &str, grace: Option<i64>) -> Option<Arc<Value>> {
    let pod = inner.get(PODS, namespace, name)?.clone();
    let node = model::node_name(&pod).to_owned();
    let bound = !node.is_empty() && inner.get(resources::NODES, "", &node).is_some();
    let grace = grace
        .or_else(|| get_path(&pod, "spec.terminationGracePeriodSeconds").and_then(Value::as_i64))
        .unwrap_or(30)
        .max(0);
    if !bound || grace == 0 || model::pod_finished(&pod) {
        return inner.delete(PODS, namespace, name);
    }
    if model::is_terminating(&pod) {
        return Some(Arc::new(pod));
    }
    let deadline = inner.clock().now().checked_add(jiff::SignedDuration::from_secs(grace)).ok()?;
    let deadline = crate::clock::format_time(deadline);
    inner.modify(PODS, namespace, name, |obj| {
        let metadata = object_entry(obj, "metadata");
        metadata.insert("deletionTimestamp".to_owned(), Value::from(deadline));
        metadata.insert("deletionGracePeriodSeconds".to_owned(), Value::from(grace));
    })
}

/// Delete any object, with dependents (Background) or leaving them (Orphan).
pub fn delete_object(
    inner: &mut StoreInner,
    resource: &str,
    namespace: &str,
    name: &str,
    grace: Option<i64>,
    propagation: Propagation,
) -> Option<Arc<Value>> {
    let obj = inner.get(resource, namespace, name)?.clone();
    let uid = uid_of(&obj).to_owned();
    if resource == resources::NAMESPACES {
        for def in resources::RESOURCES.iter().filter(|d| d.namespaced) {
            let names: Vec<String> = inner.list(&def.key(), Some(name)).map(|o| name_of(o).to_owned()).collect();
            for child in names {
                inner.delete(&def.key(), name, &child);
            }
        }
        return inner.delete(resource, namespace, name);
    }
    let deleted = if resource == PODS {
        delete_pod(inner, namespace, name, grace)
    } else {
        inner.delete(resource, namespace, name)
    };
    // Dependents live in the same namespace (or are cluster-scoped owners' pods: mirror pods).
    for def in resources::RESOURCES.iter().filter(|d| d.namespaced) {
        let key = def.key();
        let dependents: Vec<(String, String)> = inner
            .list(&key, None)
            .filter(|o| owned_by(o, &uid))
            .map(|o| (namespace_of(o).to_owned(), name_of(o).to_owned()))
            .collect();
        for (dep_ns, dep_name) in dependents {
            match propagation {
                Propagation::Orphan => {
                    inner.modify(&key, &dep_ns, &dep_name, |o| {
                        if let Some(refs) = o.pointer_mut("/metadata/ownerReferences").and_then(Value::as_array_mut) {
                            refs.retain(|r| str_at(r, "uid") != uid);
                        }
                    });
                }
                Propagation::Background => {
                    if resource != resources::NODES {
                        delete_object(inner, &key, &dep_ns, &dep_name, None, Propagation::Background);
                    }
                }
            }
        }
    }
    deleted
}

fn owned_by(obj: &Value, uid: &str) -> bool {
    get_path(obj, "metadata.ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| str_at(r, "uid") == uid))
}

/// The eviction subresource: 201 when allowed, 429 when a budget forbids it, 404 when the
/// pod is gone, 500 when several budgets select the pod.
pub fn evict(inner: &mut StoreInner, namespace: &str, name: &str, grace: Option<i64>) -> Result<Value, ApiError> {
    let Some(pod) = inner.get(PODS, namespace, name).cloned() else {
        return Err(ApiError::not_found("pods", "", name));
    };
    let success = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    if model::is_terminating(&pod) {
        return Ok(success);
    }
    let phase = model::pod_phase(&pod).to_owned();
    let ignore_budgets = matches!(phase.as_str(), "Succeeded" | "Failed" | "Pending");
    let budgets: Vec<Value> = inner
        .list(PDBS, Some(namespace))
        .filter(|pdb| {
            // Stored budgets are policy/v1: "Unlike the v1beta version, here we let an empty
            // selector match everything" (kubernetes/kubernetes
            // pkg/registry/core/pod/storage/eviction.go, getPodDisruptionBudgets).
            let selector = LabelSelector::from_object(get_path(pdb, "spec.selector"));
            selector.matches(&pod)
        })
        .cloned()
        .collect();
    if !ignore_budgets {
        if budgets.len() > 1 {
            return Err(ApiError::new(
                500,
                "InternalError",
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
        if let Some(pdb) = budgets.first() {
            let allowed = get_path(pdb, "status.disruptionsAllowed").and_then(Value::as_i64).unwrap_or(0);
            let current = get_path(pdb, "status.currentHealthy").and_then(Value::as_i64).unwrap_or(0);
            let desired = get_path(pdb, "status.desiredHealthy").and_then(Value::as_i64).unwrap_or(0);
            let pdb_name = name_of(pdb).to_owned();
            let healthy = model::pod_healthy(&pod);
            if healthy || current < desired {
                if allowed <= 0 {
                    return Err(ApiError::new(
                        429,
                        "TooManyRequests",
                        "Cannot evict pod as it would violate the pod's disruption budget.",
                    )
                    .with_details(json!({"causes": [{
                        "reason": "DisruptionBudget",
                        "message": format!("The disruption budget {pdb_name} needs {desired} healthy pods and has {current} currently"),
                    }]})));
                }
                let now = inner.clock().now_rfc3339();
                inner.modify(PDBS, namespace, &pdb_name, |obj| {
                    let status = object_entry(obj, "status");
                    status.insert("disruptionsAllowed".to_owned(), Value::from(allowed - 1));
                    let disrupted = status.entry("disruptedPods").or_insert_with(|| json!({}));
                    if let Some(map) = disrupted.as_object_mut() {
                        map.insert(name.to_owned(), Value::from(now));
                    }
                });
            }
        }
    }
    delete_pod(inner, namespace, name, grace);
    Ok(success)
}
