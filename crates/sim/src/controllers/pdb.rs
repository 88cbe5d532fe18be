//! The disruption controller: keeps each PodDisruptionBudget's status (expectedPods,
//! currentHealthy, desiredHealthy, disruptionsAllowed) in step with its pods.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::api::selectors::LabelSelector;
use crate::model;
use crate::resources::{PDBS, PODS, REPLICASETS, STATEFULSETS};
use crate::store::{StoreInner, name_of, namespace_of, uid_of};
use crate::util::{get_path, str_at};

/// An int-or-percent scaled against `total`, rounding up.
fn scaled(value: &Value, total: i64) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.strip_suffix('%') {
            Some(pct) => {
                let pct: i64 = pct.trim().parse().unwrap_or(0);
                (pct * total + 99) / 100
            }
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// Budgets are stored as `policy/v1`, whose empty selector selects every pod of the
/// namespace (a `policy/v1beta1` empty selector is stored as one that matches none, see
/// `crate::convert`). Source: kubernetes/kubernetes `pkg/controller/disruption/disruption.go`
/// (`getPodsForPdb` since 1.21).
pub(super) fn update(inner: &mut StoreInner) {
    let budgets = inner.snapshot(PDBS);
    for pdb in budgets {
        let namespace = namespace_of(&pdb).to_owned();
        let selector = LabelSelector::from_object(get_path(&pdb, "spec.selector"));
        let candidates: Box<dyn Iterator<Item = &Value>> = match selector.first_equality() {
            Some((key, value)) => Box::new(inner.pods_labelled(key, value).filter(|p| namespace_of(p) == namespace)),
            None => inner.list(PODS, Some(&namespace)),
        };
        let pods: Vec<&Value> = candidates.filter(|p| selector.matches(p) && !model::pod_finished(p)).collect();
        let current = i64::try_from(pods.iter().filter(|p| model::pod_healthy(p)).count()).unwrap_or(0);
        // Expected pods: the scale of each controller, or the pod itself when it has none.
        let mut scales: HashMap<String, i64> = HashMap::new();
        let mut bare = 0_i64;
        for pod in &pods {
            match model::controller_of(pod) {
                Some((kind, owner, uid)) => {
                    let resource = match kind {
                        "ReplicaSet" => Some(REPLICASETS),
                        "StatefulSet" => Some(STATEFULSETS),
                        _ => None,
                    };
                    let scale = resource
                        .and_then(|r| inner.get(r, &namespace, owner))
                        .filter(|o| uid_of(o) == uid)
                        .and_then(|o| get_path(o, "spec.replicas").and_then(Value::as_i64));
                    match scale {
                        Some(scale) => {
                            scales.insert(uid.to_owned(), scale);
                        }
                        None => *scales.entry(uid.to_owned()).or_insert(0) += 1,
                    }
                }
                None => bare += 1,
            }
        }
        let expected = scales.values().sum::<i64>() + bare;
        let desired = match (get_path(&pdb, "spec.minAvailable"), get_path(&pdb, "spec.maxUnavailable")) {
            (Some(min), _) if !min.is_null() => scaled(min, expected),
            (_, Some(max)) if !max.is_null() => (expected - scaled(max, expected)).max(0),
            _ => 1.min(expected),
        };
        let allowed =
            if inner.faults.pdb_never_allows(&namespace, name_of(&pdb)) { 0 } else { (current - desired).max(0) };
        let generation = get_path(&pdb, "metadata.generation").and_then(Value::as_i64).unwrap_or(1);
        let since = str_at(&pdb, "metadata.creationTimestamp").to_owned();
        let status = json!({
            "observedGeneration": generation,
            "currentHealthy": current,
            "desiredHealthy": desired,
            "disruptionsAllowed": allowed,
            "expectedPods": expected,
            "conditions": [{
                "type": "DisruptionAllowed",
                "status": if allowed > 0 { "True" } else { "False" },
                "reason": if allowed > 0 { "SufficientPods" } else { "InsufficientPods" },
                "message": "",
                "observedGeneration": generation,
                "lastTransitionTime": since,
            }],
        });
        let name = name_of(&pdb).to_owned();
        inner.set_status(PDBS, &namespace, &name, status);
    }
}
