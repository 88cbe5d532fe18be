//! PodDisruptionBudgets as the drain needs them, read through whichever `policy` version the
//! cluster serves (`policy/v1` from 1.21, `policy/v1beta1` before), with label-selector
//! matching done here so the same code serves both.

use std::collections::BTreeMap;

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde::Serialize;
use serde_json::Value;

use crate::error::KubeError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub namespace: String,
    pub name: String,
    #[serde(skip)]
    pub selector: Value,
    /// `policy/v1beta1` budgets with an empty selector match nothing; `policy/v1` ones match
    /// every pod of their namespace.
    #[serde(skip)]
    pub empty_matches_all: bool,
    pub disruptions_allowed: i64,
    pub current_healthy: i64,
    pub desired_healthy: i64,
    pub expected_pods: i64,
}

impl Budget {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn selects(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        if namespace != self.namespace {
            return false;
        }
        let empty = self.selector.as_object().is_none_or(|o| {
            o.get("matchLabels").and_then(Value::as_object).is_none_or(serde_json::Map::is_empty)
                && o.get("matchExpressions").and_then(Value::as_array).is_none_or(Vec::is_empty)
        });
        if empty {
            return self.empty_matches_all;
        }
        selector_matches(&self.selector, labels)
    }
}

/// Budgets indexed for matching many pods: a pod can match only budgets of its namespace,
/// and only those whose every `matchLabels` pair it carries - so a budget with `matchLabels`
/// is filed under one of its pairs, and a pod checks just the budgets filed under its own
/// labels (plus those without `matchLabels`), not every budget of the cluster.
#[derive(Debug, Default)]
pub struct BudgetIndex {
    /// namespace -> label key -> label value -> budgets (positions in the indexed slice).
    by_label: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<usize>>>>,
    /// namespace -> budgets without `matchLabels`, checked for every pod of the namespace.
    unlabelled: BTreeMap<String, Vec<usize>>,
}

impl BudgetIndex {
    pub fn new(budgets: &[Budget]) -> Self {
        let mut index = Self::default();
        for (i, b) in budgets.iter().enumerate() {
            let pair = b.selector.get("matchLabels").and_then(Value::as_object).and_then(|m| m.iter().next());
            match pair.and_then(|(k, v)| Some((k, v.as_str()?))) {
                Some((key, value)) => index
                    .by_label
                    .entry(b.namespace.clone())
                    .or_default()
                    .entry(key.clone())
                    .or_default()
                    .entry(value.to_owned())
                    .or_default()
                    .push(i),
                None => index.unlabelled.entry(b.namespace.clone()).or_default().push(i),
            }
        }
        index
    }

    /// The budgets (of the slice this index was built from) that select a pod, in slice order.
    pub fn matching<'a>(
        &self,
        budgets: &'a [Budget],
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Vec<&'a Budget> {
        let mut candidates: Vec<usize> = self.unlabelled.get(namespace).cloned().unwrap_or_default();
        if let Some(keys) = self.by_label.get(namespace) {
            for (key, value) in labels {
                if let Some(found) = keys.get(key).and_then(|values| values.get(value)) {
                    candidates.extend(found);
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().map(|i| &budgets[i]).filter(|b| b.selects(namespace, labels)).collect()
    }
}

/// `metav1.LabelSelector` semantics: every `matchLabels` pair and every expression
/// (`In`, `NotIn`, `Exists`, `DoesNotExist`) must hold. An unknown operator matches nothing.
pub fn selector_matches(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let labels_ok = match_labels.is_none_or(|m| m.iter().all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str()));
    let exprs = selector.get("matchExpressions").and_then(Value::as_array);
    let exprs_ok = exprs.is_none_or(|list| {
        list.iter().all(|e| {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let has = labels.get(key);
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => has.is_some_and(|v| values.contains(&v.as_str())),
                Some("NotIn") => has.is_none_or(|v| !values.contains(&v.as_str())),
                Some("Exists") => has.is_some(),
                Some("DoesNotExist") => has.is_none(),
                _ => false,
            }
        })
    });
    labels_ok && exprs_ok
}

/// The versions of the `policy` group the cluster serves (`v1`, `v1beta1`).
pub async fn policy_versions(client: &Client) -> Result<Vec<String>, KubeError> {
    let groups = client.list_api_groups().await.map_err(|e| KubeError::api("discover API groups", e))?;
    let policy = groups.groups.iter().find(|g| g.name == "policy");
    Ok(policy.map(|g| g.versions.iter().map(|v| v.version.clone()).collect()).unwrap_or_default())
}

/// The `policy` version the cluster serves PodDisruptionBudgets in.
pub async fn policy_version(client: &Client) -> Result<String, KubeError> {
    let versions = policy_versions(client).await?;
    let served: Vec<&str> = versions.iter().map(String::as_str).collect();
    if served.contains(&"v1") {
        Ok("v1".to_owned())
    } else if served.contains(&"v1beta1") {
        Ok("v1beta1".to_owned())
    } else {
        Err(KubeError::Missing("policy API group (PodDisruptionBudgets)".to_owned()))
    }
}

/// Every budget in the cluster (one list call).
pub async fn list(client: &Client, policy_version: &str) -> Result<Vec<Budget>, KubeError> {
    let gvk = GroupVersionKind::gvk("policy", policy_version, "PodDisruptionBudget");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "poddisruptionbudgets");
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let items = api.list(&ListParams::default()).await.map_err(|e| KubeError::api("list PodDisruptionBudgets", e))?;
    Ok(items.items.iter().map(|o| from_object(o, policy_version == "v1")).collect())
}

fn from_object(o: &DynamicObject, empty_matches_all: bool) -> Budget {
    let int = |v: &Value, path: &[&str]| path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_i64).unwrap_or(0);
    Budget {
        namespace: o.metadata.namespace.clone().unwrap_or_default(),
        name: o.metadata.name.clone().unwrap_or_default(),
        selector: o.data.get("spec").and_then(|s| s.get("selector")).cloned().unwrap_or(Value::Null),
        empty_matches_all,
        disruptions_allowed: int(&o.data, &["status", "disruptionsAllowed"]),
        current_healthy: int(&o.data, &["status", "currentHealthy"]),
        desired_healthy: int(&o.data, &["status", "desiredHealthy"]),
        expected_pods: int(&o.data, &["status", "expectedPods"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn label_selector_semantics() {
        let pod = labels(&[("app", "web"), ("tier", "front")]);
        assert!(selector_matches(&json!({"matchLabels": {"app": "web"}}), &pod));
        assert!(!selector_matches(&json!({"matchLabels": {"app": "db"}}), &pod));
        let exprs = |op: &str, values: &[&str]| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
        assert!(selector_matches(&exprs("In", &["front", "back"]), &pod));
        assert!(!selector_matches(&exprs("NotIn", &["front"]), &pod));
        assert!(selector_matches(&exprs("Exists", &[]), &pod));
        assert!(!selector_matches(&exprs("DoesNotExist", &[]), &pod));
        assert!(!selector_matches(&exprs("Gt", &["1"]), &pod));
    }

    #[test]
    fn the_index_finds_exactly_the_budgets_a_full_scan_finds() {
        let budget = |ns: &str, name: &str, selector: Value, empty_matches_all: bool| Budget {
            namespace: ns.to_owned(),
            name: name.to_owned(),
            selector,
            empty_matches_all,
            disruptions_allowed: 1,
            current_healthy: 1,
            desired_healthy: 1,
            expected_pods: 1,
        };
        let budgets = vec![
            budget("shop", "web", json!({"matchLabels": {"app": "web"}}), true),
            budget("shop", "web-front", json!({"matchLabels": {"app": "web", "tier": "front"}}), true),
            budget("shop", "tiers", json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}), true),
            budget("shop", "everything-v1", json!({}), true),
            budget("shop", "nothing-v1beta1", json!({}), false),
            budget(
                "shop",
                "mixed",
                json!({"matchLabels": {"tier": "front"}, "matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}),
                true,
            ),
            budget("other", "web", json!({"matchLabels": {"app": "web"}}), true),
        ];
        let index = BudgetIndex::new(&budgets);
        let pods = [
            ("shop", labels(&[("app", "web"), ("tier", "front")])),
            ("shop", labels(&[("app", "web")])),
            ("shop", labels(&[("app", "api"), ("tier", "front")])),
            ("shop", labels(&[])),
            ("other", labels(&[("app", "web")])),
            ("none", labels(&[("app", "web")])),
        ];
        for (ns, pod) in &pods {
            let scanned: Vec<&Budget> = budgets.iter().filter(|b| b.selects(ns, pod)).collect();
            assert_eq!(index.matching(&budgets, ns, pod), scanned, "{ns} {pod:?}");
        }
        let names = |ns, pod| index.matching(&budgets, ns, pod).iter().map(|b| b.key()).collect::<Vec<_>>();
        assert_eq!(
            names("shop", &pods[0].1),
            ["shop/web", "shop/web-front", "shop/tiers", "shop/everything-v1", "shop/mixed"]
        );
    }

    #[test]
    fn empty_selectors_differ_between_policy_versions() {
        let mut b = Budget {
            namespace: "web".to_owned(),
            name: "all".to_owned(),
            selector: json!({}),
            empty_matches_all: true,
            disruptions_allowed: 0,
            current_healthy: 0,
            desired_healthy: 0,
            expected_pods: 0,
        };
        assert!(b.selects("web", &labels(&[("x", "y")])));
        assert!(!b.selects("other", &labels(&[("x", "y")])));
        b.empty_matches_all = false;
        assert!(!b.selects("web", &labels(&[("x", "y")])));
    }
}
