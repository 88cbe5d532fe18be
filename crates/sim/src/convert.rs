//! Conversion between a kind's hub form (how the store keeps it) and the other group/versions
//! an apiserver serves it in, field by field where the versions differ - as kube-apiserver
//! converts every request and response through its internal version.

use serde_json::{Map, Value, json};

use crate::resources::ResourceDef;
use crate::status::ApiError;

/// The label kube-apiserver uses to keep a `policy/v1beta1` budget's meaning when it is
/// stored and read as `policy/v1`: a v1beta1 empty selector matches no pod, a v1 empty
/// selector matches every pod of the namespace. Source: kubernetes/kubernetes
/// `pkg/apis/policy/helper.go` (`PDBV1beta1Label`, `NonV1beta1MatchNoneSelector`,
/// `V1beta1MatchAllSelector`) and `pkg/apis/policy/v1beta1/conversion.go`.
pub const PDB_V1BETA1_LABEL: &str = "pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match";

fn expression_selector(operator: &str) -> Value {
    json!({"matchExpressions": [{"key": PDB_V1BETA1_LABEL, "operator": operator}]})
}

/// Whether a selector is non-nil and selects on nothing (`{}`, or empty lists).
fn is_empty_selector(selector: &Value) -> bool {
    selector.as_object().is_some_and(|o| {
        o.get("matchLabels").and_then(Value::as_object).is_none_or(Map::is_empty)
            && o.get("matchExpressions").and_then(Value::as_array).is_none_or(Vec::is_empty)
    })
}

/// Whether a selector is exactly `{matchExpressions: [{key: PDB_V1BETA1_LABEL, operator}]}`.
fn is_marker_selector(selector: &Value, operator: &str) -> bool {
    let Some(o) = selector.as_object() else { return false };
    let labels_empty = o.get("matchLabels").and_then(Value::as_object).is_none_or(Map::is_empty);
    let exprs = o.get("matchExpressions").and_then(Value::as_array);
    labels_empty
        && exprs.is_some_and(|e| {
            e.len() == 1
                && e[0].get("key").and_then(Value::as_str) == Some(PDB_V1BETA1_LABEL)
                && e[0].get("operator").and_then(Value::as_str) == Some(operator)
                && e[0].get("values").and_then(Value::as_array).is_none_or(Vec::is_empty)
        })
}

/// `StripPDBV1beta1Label`: the marker label never combines with user-specified fields.
fn strip_marker(selector: &mut Value) {
    if let Some(labels) = selector.get_mut("matchLabels").and_then(Value::as_object_mut) {
        labels.remove(PDB_V1BETA1_LABEL);
    }
    if let Some(exprs) = selector.get_mut("matchExpressions").and_then(Value::as_array_mut) {
        exprs.retain(|e| e.get("key").and_then(Value::as_str) != Some(PDB_V1BETA1_LABEL));
    }
}

fn selector_mut(obj: &mut Value) -> Option<&mut Value> {
    obj.get_mut("spec").and_then(|s| s.get_mut("selector")).filter(|s| !s.is_null())
}

/// A `policy/v1beta1` budget to the stored (`policy/v1`) form.
fn pdb_v1beta1_to_hub(obj: &mut Value) {
    let Some(selector) = selector_mut(obj) else { return };
    if is_empty_selector(selector) {
        *selector = expression_selector("Exists");
    } else if is_marker_selector(selector, "DoesNotExist") {
        *selector = json!({});
    } else {
        strip_marker(selector);
    }
}

/// A `policy/v1` budget as written: the marker selectors are kept, the label stripped otherwise.
fn pdb_v1_to_hub(obj: &mut Value) {
    let Some(selector) = selector_mut(obj) else { return };
    if !is_marker_selector(selector, "Exists") && !is_empty_selector(selector) {
        strip_marker(selector);
    }
}

/// The stored (`policy/v1`) budget as `policy/v1beta1`.
fn pdb_hub_to_v1beta1(obj: &mut Value) {
    let Some(selector) = selector_mut(obj) else { return };
    if is_marker_selector(selector, "Exists") {
        *selector = json!({});
    } else if is_empty_selector(selector) {
        *selector = expression_selector("DoesNotExist");
    }
}

/// `extensions/v1beta1` / `networking.k8s.io/v1beta1` backend -> `networking.k8s.io/v1`.
/// Source: kubernetes/kubernetes `pkg/apis/networking/v1beta1/conversion.go`
/// (`Convert_v1beta1_IngressBackend_To_networking_IngressBackend`).
fn backend_to_v1(backend: &Value) -> Value {
    let mut out = Map::new();
    if let Some(name) = backend.get("serviceName").and_then(Value::as_str) {
        let port = match backend.get("servicePort") {
            Some(Value::Number(n)) => json!({"number": n}),
            Some(Value::String(s)) => match s.parse::<i64>() {
                Ok(n) => json!({"number": n}),
                Err(_) => json!({"name": s}),
            },
            _ => json!({}),
        };
        out.insert("service".to_owned(), json!({"name": name, "port": port}));
    }
    if let Some(resource) = backend.get("resource") {
        out.insert("resource".to_owned(), resource.clone());
    }
    Value::Object(out)
}

fn backend_to_v1beta1(backend: &Value) -> Value {
    let mut out = Map::new();
    if let Some(service) = backend.get("service") {
        out.insert("serviceName".to_owned(), service.get("name").cloned().unwrap_or(Value::from("")));
        let port = service.get("port");
        let port = port
            .and_then(|p| p.get("number").cloned())
            .or_else(|| port.and_then(|p| p.get("name").cloned()))
            .unwrap_or(Value::from(0));
        out.insert("servicePort".to_owned(), port);
    }
    if let Some(resource) = backend.get("resource") {
        out.insert("resource".to_owned(), resource.clone());
    }
    Value::Object(out)
}

fn ingress_paths(obj: &mut Value) -> impl Iterator<Item = &mut Value> {
    obj.get_mut("spec")
        .and_then(|s| s.get_mut("rules"))
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(|rule| rule.get_mut("http").and_then(|h| h.get_mut("paths")).and_then(Value::as_array_mut))
        .flatten()
}

fn ingress_to_hub(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(backend) = spec.remove("backend")
    {
        spec.insert("defaultBackend".to_owned(), backend_to_v1(&backend));
    }
    for path in ingress_paths(obj) {
        if let Some(backend) = path.get("backend") {
            let converted = backend_to_v1(backend);
            path["backend"] = converted;
        }
        // v1beta1 defaulting (`SetDefaults_HTTPIngressPath`): pathType ImplementationSpecific.
        if let Some(map) = path.as_object_mut() {
            map.entry("pathType").or_insert_with(|| Value::from("ImplementationSpecific"));
        }
    }
}

fn ingress_from_hub(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(backend) = spec.remove("defaultBackend")
    {
        spec.insert("backend".to_owned(), backend_to_v1beta1(&backend));
    }
    for path in ingress_paths(obj) {
        if let Some(backend) = path.get("backend") {
            let converted = backend_to_v1beta1(backend);
            path["backend"] = converted;
        }
    }
}

/// Core `v1` Event field <-> `events.k8s.io` Event field. Source: kubernetes/kubernetes
/// `pkg/apis/events/v1/conversion.go` (`Convert_v1_Event_To_core_Event` and back).
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename_fields(obj: &mut Value, to_events_group: bool) {
    let Some(map) = obj.as_object_mut() else { return };
    for (core, events) in EVENT_FIELDS {
        let (from, to) = if to_events_group { (core, events) } else { (events, core) };
        if let Some(value) = map.remove(*from) {
            map.insert((*to).to_owned(), value);
        }
    }
}

fn set_type_meta(obj: &mut Value, def: &ResourceDef) {
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".to_owned(), Value::from(def.api_version()));
        map.insert("kind".to_owned(), Value::from(def.kind));
    }
}

/// A stored (hub) object as `def`'s group/version serves it.
pub fn from_hub(def: &ResourceDef, stored: &Value) -> Value {
    let mut obj = stored.clone();
    if def.stored_as.is_empty() {
        return obj;
    }
    match (def.kind, def.group, def.version) {
        ("PodDisruptionBudget", "policy", "v1beta1") => pdb_hub_to_v1beta1(&mut obj),
        ("Ingress", _, "v1beta1") => ingress_from_hub(&mut obj),
        ("Event", "events.k8s.io", _) => rename_fields(&mut obj, true),
        // CronJob batch/v1beta1 and Lease coordination.k8s.io/v1beta1 have the fields of
        // their v1 (k8s.io/api batch/v1beta1/types.go, coordination/v1beta1/types.go).
        _ => {}
    }
    set_type_meta(&mut obj, def);
    obj
}

/// A request body written through `def`'s group/version, in the stored (hub) form. Refuses a
/// body whose `apiVersion` or `kind` is not the URL's, as kube-apiserver does.
pub fn to_hub(def: &ResourceDef, mut obj: Value) -> Result<Value, ApiError> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if !api_version.is_empty() && api_version != def.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            def.api_version()
        )));
    }
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if !kind.is_empty() && kind != def.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            def.kind
        )));
    }
    match (def.kind, def.group, def.version) {
        ("PodDisruptionBudget", "policy", "v1beta1") => pdb_v1beta1_to_hub(&mut obj),
        ("PodDisruptionBudget", "policy", "v1") => pdb_v1_to_hub(&mut obj),
        ("Ingress", _, "v1beta1") => ingress_to_hub(&mut obj),
        ("Event", "events.k8s.io", _) => rename_fields(&mut obj, false),
        _ => {}
    }
    if !def.stored_as.is_empty() {
        let hub = crate::resources::by_key(def.stored_as).unwrap_or(def);
        set_type_meta(&mut obj, hub);
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{ALTERNATES, RESOURCES};

    fn def(group: &str, version: &str, kind: &str) -> &'static ResourceDef {
        RESOURCES
            .iter()
            .chain(ALTERNATES)
            .find(|d| d.group == group && d.version == version && d.kind == kind)
            .expect("implemented")
    }

    fn pdb(api_version: &str, selector: &Value) -> Value {
        json!({"apiVersion": api_version, "kind": "PodDisruptionBudget", "metadata": {"name": "b"},
               "spec": {"minAvailable": 1, "selector": selector}})
    }

    #[test]
    fn v1beta1_empty_selector_keeps_matching_nothing_through_v1() {
        let beta = def("policy", "v1beta1", "PodDisruptionBudget");
        let v1 = def("policy", "v1", "PodDisruptionBudget");
        let stored = to_hub(beta, pdb("policy/v1beta1", &json!({}))).unwrap();
        assert_eq!(stored["apiVersion"], "policy/v1");
        assert_eq!(stored["spec"]["selector"], expression_selector("Exists"));
        assert_eq!(from_hub(v1, &stored)["spec"]["selector"], expression_selector("Exists"));
        assert_eq!(from_hub(beta, &stored)["spec"]["selector"], json!({}));
        // A v1 empty selector (every pod) reads back through v1beta1 as the match-all marker.
        let stored = to_hub(v1, pdb("policy/v1", &json!({}))).unwrap();
        assert_eq!(stored["spec"]["selector"], json!({}));
        let as_beta = from_hub(beta, &stored);
        assert_eq!(as_beta["spec"]["selector"], expression_selector("DoesNotExist"));
        assert_eq!(as_beta["apiVersion"], "policy/v1beta1");
        assert_eq!(to_hub(beta, as_beta).unwrap()["spec"]["selector"], json!({}));
        // User selectors pass unchanged, minus the marker label.
        let sel = json!({"matchLabels": {"app": "web", PDB_V1BETA1_LABEL: "x"}});
        let stored = to_hub(beta, pdb("policy/v1beta1", &sel)).unwrap();
        assert_eq!(stored["spec"]["selector"], json!({"matchLabels": {"app": "web"}}));
    }

    #[test]
    fn ingress_backends_round_trip() {
        let beta = def("extensions", "v1beta1", "Ingress");
        let body = json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "i"},
            "spec": {"backend": {"serviceName": "web", "servicePort": 80},
                     "rules": [{"host": "a", "http": {"paths": [{"path": "/", "backend": {"serviceName": "api", "servicePort": "http"}}]}}]}});
        let stored = to_hub(beta, body.clone()).unwrap();
        assert_eq!(stored["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(stored["spec"]["defaultBackend"], json!({"service": {"name": "web", "port": {"number": 80}}}));
        let path = &stored["spec"]["rules"][0]["http"]["paths"][0];
        assert_eq!(path["backend"], json!({"service": {"name": "api", "port": {"name": "http"}}}));
        assert_eq!(path["pathType"], "ImplementationSpecific");
        let back = from_hub(beta, &stored);
        assert_eq!(back["spec"]["backend"], body["spec"]["backend"]);
        assert_eq!(
            back["spec"]["rules"][0]["http"]["paths"][0]["backend"],
            json!({"serviceName": "api", "servicePort": "http"})
        );
    }

    #[test]
    fn events_group_renames_fields() {
        let v1 = def("events.k8s.io", "v1", "Event");
        let stored =
            json!({"apiVersion": "v1", "kind": "Event", "message": "m", "involvedObject": {"kind": "Pod"}, "count": 2});
        let served = from_hub(v1, &stored);
        assert_eq!((served["note"].clone(), served["regarding"]["kind"].clone()), (json!("m"), json!("Pod")));
        assert_eq!(served["deprecatedCount"], 2);
        assert_eq!(to_hub(v1, served).unwrap(), stored);
    }

    #[test]
    fn a_body_of_another_version_is_refused() {
        let beta = def("policy", "v1beta1", "PodDisruptionBudget");
        let err = to_hub(beta, pdb("policy/v1", &json!({}))).unwrap_err();
        assert_eq!(err.code, 400);
    }
}
