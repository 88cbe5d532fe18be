//! Discovery documents: `/api`, `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`,
//! `/version` - each for the apiserver's minor: a group/version is listed only while core's
//! release data says that minor serves it, and `preferredVersion` is the served version
//! first in Kubernetes' version priority. Aggregated discovery (`apidiscovery.k8s.io`) is not
//! served; clients fall back to these documents (kubectl: `client-go/discovery`
//! `aggregated_discovery.go` falls back on a non-aggregated answer).

use kubeladder_core::Minor;
use kubeladder_core::release::ReleaseData;
use serde_json::{Value, json};

use crate::resources::{self, ResourceDef};

fn resource_entry(def: &ResourceDef) -> Value {
    let mut entry = json!({
        "name": def.plural,
        "singularName": def.singular,
        "namespaced": def.namespaced,
        "kind": def.kind,
        "verbs": def.verbs(),
    });
    if !def.short_names.is_empty() {
        entry["shortNames"] = json!(def.short_names);
    }
    if matches!(def.kind, "Pod" | "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Service" | "Job") {
        entry["categories"] = json!(["all"]);
    }
    entry
}

/// `APIResourceList` for one group/version served at `minor`, with subresources.
pub fn resource_list(data: &ReleaseData, minor: Minor, group: &str, version: &str) -> Option<Value> {
    let defs: Vec<&ResourceDef> =
        resources::served(data, minor).filter(|r| r.group == group && r.version == version).collect();
    if defs.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for def in defs {
        list.push(resource_entry(def));
        if def.has_status {
            list.push(json!({
                "name": format!("{}/status", def.plural),
                "singularName": "",
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if def.kind == "Pod"
            && let Some((eviction_group, eviction_version)) =
                resources::eviction_version(data, minor).and_then(|gv| gv.split_once('/'))
        {
            // The version kubectl drain posts (kubectl `drain.CheckEvictionSupport` reads
            // these fields): policy/v1 from 1.22, policy/v1beta1 before
            // (kubernetes/kubernetes#100724).
            list.push(json!({
                "name": "pods/eviction",
                "singularName": "",
                "namespaced": true,
                "group": eviction_group,
                "version": eviction_version,
                "kind": "Eviction",
                "verbs": ["create"],
            }));
            list.push(json!({
                "name": "pods/binding", "singularName": "", "namespaced": true, "kind": "Binding", "verbs": ["create"],
            }));
        }
    }
    let group_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}))
}

/// `/api`
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_entry(group: &str, versions: &[&str]) -> Value {
    let gvs: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
    let preferred = gvs.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": gvs, "preferredVersion": preferred})
}

/// `/apis`
pub fn group_list(data: &ReleaseData, minor: Minor) -> Value {
    let groups: Vec<Value> = resources::groups(data, minor).iter().map(|(g, v)| group_entry(g, v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`
pub fn group(data: &ReleaseData, minor: Minor, name: &str) -> Option<Value> {
    resources::groups(data, minor).iter().find(|(g, _)| *g == name).map(|(g, v)| {
        let mut entry = group_entry(g, v);
        entry["kind"] = json!("APIGroup");
        entry["apiVersion"] = json!("v1");
        entry
    })
}

/// `/version` for a given apiserver version such as `v1.18.20`.
pub fn version(git_version: &str) -> Value {
    let trimmed = git_version.trim_start_matches('v');
    let mut parts = trimmed.split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2021-06-16T12:51:17Z",
        "goVersion": "go1.13.15",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}
