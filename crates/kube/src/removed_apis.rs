//! Objects still written with APIs the coming minors stop serving.
//!
//! Listing objects through the preferred version is misleading (the server converts them),
//! so the evidence is what clients *wrote*:
//! - the `kubectl.kubernetes.io/last-applied-configuration` annotation's `apiVersion`;
//! - `metadata.managedFields[].apiVersion` (which manager wrote which version);
//! - Helm v3 release Secrets (`sh.helm.release.v1.<release>.v<revision>`, type
//!   `helm.sh/release.v1`): the Secret's data is base64 of Helm's own base64 of gzip of the
//!   release JSON, whose `manifest` holds every rendered document.
//!
//! The analysis is pure over JSON objects; `scan` does the reading.

use std::collections::BTreeSet;
use std::io::Read;

use base64::Engine as _;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kubeladder_core::Minor;
use kubeladder_core::release::{ReleaseData, RemovedApi};
use serde::Serialize;
use serde_json::Value;

use crate::error::KubeError;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum Source {
    LastApplied,
    ManagedFields { manager: String },
    HelmRelease { release: String, revision: u32 },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LastApplied => f.write_str("last-applied-configuration"),
            Self::ManagedFields { manager } => write!(f, "managedFields ({manager})"),
            Self::HelmRelease { release, revision } => write!(f, "Helm release {release} revision {revision}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub removed_in: Minor,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub source: Source,
    pub replacement: Option<String>,
}

/// APIs removed after `from` up to and including `to`.
pub fn removals(data: &ReleaseData, from: Minor, to: Minor) -> Vec<(Minor, RemovedApi)> {
    data.removed_between(from, to).map(|(m, api)| (m, api.clone())).collect()
}

fn matching<'a>(removals: &'a [(Minor, RemovedApi)], api_version: &str, kind: &str) -> Option<&'a (Minor, RemovedApi)> {
    removals.iter().find(|(_, r)| r.group_version == api_version && r.kind == kind)
}

/// Findings in one live object (its annotation and managed fields).
pub fn scan_object(object: &Value, removals: &[(Minor, RemovedApi)]) -> Vec<Finding> {
    let meta = &object["metadata"];
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = meta["name"].as_str().unwrap_or_default().to_owned();
    let namespace = meta["namespace"].as_str().map(str::to_owned);
    let mut out = Vec::new();
    let mut push = |api_version: &str, source: Source| {
        if let Some((minor, removed)) = matching(removals, api_version, kind) {
            out.push(Finding {
                removed_in: *minor,
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                namespace: namespace.clone(),
                name: name.clone(),
                source,
                replacement: removed.replacement.clone(),
            });
        }
    };
    if let Some(applied) = meta["annotations"][LAST_APPLIED].as_str()
        && let Ok(applied) = serde_json::from_str::<Value>(applied)
        && let Some(v) = applied["apiVersion"].as_str()
    {
        push(v, Source::LastApplied);
    }
    let mut seen = BTreeSet::new();
    for entry in meta["managedFields"].as_array().into_iter().flatten() {
        let (Some(v), manager) = (entry["apiVersion"].as_str(), entry["manager"].as_str().unwrap_or("unknown")) else {
            continue;
        };
        if seen.insert((v.to_owned(), manager.to_owned())) {
            push(v, Source::ManagedFields { manager: manager.to_owned() });
        }
    }
    out
}

/// Decode a Helm v3 release Secret's `data.release` (as served: base64) to the release JSON.
pub fn decode_helm_release(data_release: &str) -> Result<Value, String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let helm_encoded = engine.decode(data_release.trim()).map_err(|e| format!("Secret data is not base64: {e}"))?;
    let gzipped = engine.decode(helm_encoded.trim_ascii()).map_err(|e| format!("release is not base64: {e}"))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .read_to_end(&mut json)
        .map_err(|e| format!("release is not gzip: {e}"))?;
    serde_json::from_slice(&json).map_err(|e| format!("release is not JSON: {e}"))
}

/// `(apiVersion, kind, namespace, name)` of each document in a rendered manifest. Helm
/// renders top-level keys unindented, which is all this reads.
pub fn manifest_documents(manifest: &str) -> Vec<(String, String, Option<String>, String)> {
    let mut docs = Vec::new();
    for doc in manifest.split("\n---") {
        let mut api_version = None;
        let mut kind = None;
        let mut name = None;
        let mut namespace = None;
        let mut in_metadata = false;
        for line in doc.lines() {
            let top_level = !line.starts_with(' ') && !line.starts_with('\t');
            if top_level {
                in_metadata = line.trim_end() == "metadata:";
                if let Some(v) = line.strip_prefix("apiVersion:") {
                    api_version = Some(unquote(v));
                } else if let Some(v) = line.strip_prefix("kind:") {
                    kind = Some(unquote(v));
                }
            } else if in_metadata {
                let trimmed = line.trim_start();
                let indent = line.len() - trimmed.len();
                if indent == 2 {
                    if let Some(v) = trimmed.strip_prefix("name:") {
                        name = Some(unquote(v));
                    } else if let Some(v) = trimmed.strip_prefix("namespace:") {
                        namespace = Some(unquote(v));
                    }
                }
            }
        }
        if let (Some(a), Some(k)) = (api_version, kind) {
            docs.push((a, k, namespace, name.unwrap_or_default()));
        }
    }
    docs
}

fn unquote(v: &str) -> String {
    v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned()
}

/// Findings in a Helm release Secret (served JSON). Non-Helm Secrets yield nothing.
pub fn scan_helm_secret(secret: &Value, removals: &[(Minor, RemovedApi)]) -> Result<Vec<Finding>, String> {
    if secret["type"].as_str() != Some("helm.sh/release.v1") {
        return Ok(Vec::new());
    }
    let Some(data) = secret["data"]["release"].as_str() else { return Ok(Vec::new()) };
    let release = decode_helm_release(data)?;
    let name = release["name"].as_str().unwrap_or_default().to_owned();
    let revision = release["version"].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    let release_ns = release["namespace"].as_str().map(str::to_owned);
    let manifest = release["manifest"].as_str().unwrap_or_default();
    Ok(manifest_documents(manifest)
        .into_iter()
        .filter_map(|(api_version, kind, namespace, object)| {
            let (minor, removed) = matching(removals, &api_version, &kind)?;
            Some(Finding {
                removed_in: *minor,
                api_version,
                kind,
                namespace: namespace.or_else(|| release_ns.clone()),
                name: object,
                source: Source::HelmRelease { release: name.clone(), revision },
                replacement: removed.replacement.clone(),
            })
        })
        .collect())
}

/// Scan the live cluster for the removals between `from` and `to`: every served resource
/// whose kind is affected (one list each), plus Helm release Secrets (one list).
pub async fn scan(client: &Client, data: &ReleaseData, from: Minor, to: Minor) -> Result<Vec<Finding>, KubeError> {
    let removals = removals(data, from, to);
    if removals.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: BTreeSet<&str> = removals.iter().map(|(_, r)| r.kind.as_str()).collect();
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .map_err(|e| KubeError::api("discover served APIs", e))?;
    let mut findings = Vec::new();
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            if !kinds.contains(resource.kind.as_str()) || !caps.supports_operation(kube::discovery::verbs::LIST) {
                continue;
            }
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|e| KubeError::api(&format!("list {}", resource.plural), e))?;
            for item in list.items {
                let mut value = serde_json::to_value(&item).map_err(|e| KubeError::Request(e.to_string()))?;
                value["kind"] = Value::String(resource.kind.clone());
                findings.extend(scan_object(&value, &removals));
            }
        }
    }
    let secrets = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Secret"));
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &secrets);
    let helm = api
        .list(&ListParams::default().labels("owner=helm,status=deployed"))
        .await
        .map_err(|e| KubeError::api("list Helm release Secrets", e))?;
    for item in helm.items {
        let value = serde_json::to_value(&item).map_err(|e| KubeError::Request(e.to_string()))?;
        let secret =
            format!("{}/{}", item.metadata.namespace.unwrap_or_default(), item.metadata.name.unwrap_or_default());
        findings.extend(scan_helm_secret(&value, &removals).map_err(|why| KubeError::HelmRelease { secret, why })?);
    }
    findings.sort();
    findings.dedup();
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn removals_to(to: &str) -> Vec<(Minor, RemovedApi)> {
        removals(ReleaseData::embedded().unwrap(), Minor::parse("1.18").unwrap(), Minor::parse(to).unwrap())
    }

    /// Encode a release the way Helm and the API server do.
    pub fn helm_secret(release: &Value) -> Value {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(release.to_string().as_bytes()).unwrap();
        let engine = base64::engine::general_purpose::STANDARD;
        let helm = engine.encode(gz.finish().unwrap());
        json!({
            "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.web.v3", "namespace": "shop", "labels": {"owner": "helm", "status": "deployed"}},
            "data": {"release": engine.encode(helm)}
        })
    }

    #[test]
    fn finds_helm_manifests_using_removed_apis() {
        let manifest = "---\n# Source: web/templates/ingress.yaml\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: web\n  labels:\n    name: not-this\nspec:\n  rules: []\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n";
        let secret = helm_secret(&json!({"name": "web", "version": 3, "namespace": "shop", "manifest": manifest}));
        let findings = scan_helm_secret(&secret, &removals_to("1.22")).unwrap();
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(
            (f.api_version.as_str(), f.kind.as_str(), f.name.as_str()),
            ("extensions/v1beta1", "Ingress", "web")
        );
        assert_eq!(f.namespace.as_deref(), Some("shop"));
        assert_eq!(f.removed_in.to_string(), "1.22");
        assert_eq!(f.replacement.as_deref(), Some("networking.k8s.io/v1"));
        assert_eq!(f.source, Source::HelmRelease { release: "web".to_owned(), revision: 3 });
        // Not removed yet on a path that stops at 1.21.
        assert!(scan_helm_secret(&secret, &removals_to("1.21")).unwrap().is_empty());
    }

    #[test]
    fn finds_managed_fields_and_last_applied() {
        let cronjob = json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {
                "name": "nightly", "namespace": "ops",
                "annotations": {LAST_APPLIED: "{\"apiVersion\":\"batch/v1beta1\",\"kind\":\"CronJob\"}"},
                "managedFields": [
                    {"manager": "kubectl-client-side-apply", "apiVersion": "batch/v1beta1", "operation": "Update"},
                    {"manager": "kube-controller-manager", "apiVersion": "batch/v1", "operation": "Update"}
                ]
            }
        });
        let findings = scan_object(&cronjob, &removals_to("1.25"));
        let sources: Vec<&Source> = findings.iter().map(|f| &f.source).collect();
        assert_eq!(
            sources,
            [&Source::LastApplied, &Source::ManagedFields { manager: "kubectl-client-side-apply".to_owned() }]
        );
        assert!(findings.iter().all(|f| f.kind == "CronJob" && f.removed_in.to_string() == "1.25"));
    }

    #[test]
    fn malformed_helm_data_is_reported_not_ignored() {
        let secret = json!({"type": "helm.sh/release.v1", "data": {"release": "not base64!"}});
        assert!(scan_helm_secret(&secret, &removals_to("1.22")).unwrap_err().contains("base64"));
        let other = json!({"type": "Opaque", "data": {"release": "x"}});
        assert!(scan_helm_secret(&other, &removals_to("1.22")).unwrap().is_empty());
    }
}
