//! The API surface a simulated apiserver serves at each minor, checked against core's
//! release data for every minor the data knows and every group/version + kind the simulator
//! implements: discovery (`/api/v1`, `/apis`, `/apis/GROUP`, `/apis/GROUP/VERSION`,
//! `preferredVersion`, the `pods/eviction` version), lists (200 or 404), and for the kinds
//! served in several versions, one object created through each served version and read back
//! through every other (same object, that version's `apiVersion`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use kubeladder_core::Minor;
use kubeladder_core::release::{ReleaseData, compare_version_priority};
use kubeladder_sim::resources::{self, ResourceDef};
use kubeladder_sim::{Scenario, SimCluster, SimConfig};
use serde_json::{Value, json};

async fn client(sim: &kubeladder_sim::RunningSim) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    config.default_retry = false;
    Client::try_from(config).unwrap()
}

/// (status code, body) of one request.
async fn call(client: &Client, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", "application/json")
        .body(bytes)
        .unwrap();
    match client.request::<Value>(request).await {
        Ok(v) => (if method == "POST" { 201 } else { 200 }, v),
        Err(kube::Error::Api(status)) => (status.code, Value::Null),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

fn base_path(def: &ResourceDef) -> String {
    if def.group.is_empty() { "/api/v1".to_owned() } else { format!("/apis/{}/{}", def.group, def.version) }
}

fn collection(def: &ResourceDef, namespace: &str) -> String {
    if def.namespaced {
        format!("{}/namespaces/{namespace}/{}", base_path(def), def.plural)
    } else {
        format!("{}/{}", base_path(def), def.plural)
    }
}

/// A minimal valid object of a multi-version kind, as `def`'s version spells it.
fn body(def: &ResourceDef, name: &str) -> Value {
    let meta = json!({"name": name, "namespace": "default"});
    let spec = match (def.kind, def.version) {
        ("PodDisruptionBudget", _) => json!({"minAvailable": 1, "selector": {"matchLabels": {"app": name}}}),
        ("CronJob", _) => json!({"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}),
        ("Lease", _) => json!({"holderIdentity": name}),
        ("Ingress", "v1beta1") => json!({"backend": {"serviceName": "web", "servicePort": 80}}),
        ("Ingress", _) => json!({"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}),
        _ => Value::Null,
    };
    let mut obj = json!({"apiVersion": def.api_version(), "kind": def.kind, "metadata": meta});
    if def.kind == "Event" {
        let (message, regarding) =
            if def.group.is_empty() { ("message", "involvedObject") } else { ("note", "regarding") };
        obj[message] = json!("hello");
        obj[regarding] = json!({"kind": "Pod", "name": "p", "namespace": "default"});
        obj["reason"] = json!("Test");
        obj["type"] = json!("Normal");
    } else {
        obj["spec"] = spec;
    }
    obj
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_minor_serves_exactly_what_the_release_data_says() {
    let data = ReleaseData::embedded().unwrap();
    for release in data.releases() {
        let minor = release.minor;
        let served = |def: &ResourceDef| data.serves(minor, &def.api_version(), def.kind);
        let sim =
            SimCluster::start(SimConfig::new(Scenario::small().with_version(release.latest_patch))).await.unwrap();
        let client = client(&sim).await;
        assert_eq!(client.apiserver_version().await.unwrap().git_version, release.latest_patch.to_string());

        // /apis: each group with the versions served, preferred first; no empty group.
        let mut expected: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for def in resources::all().filter(|d| served(d) && !d.group.is_empty()) {
            let versions = expected.entry(def.group).or_default();
            if !versions.contains(&def.version) {
                versions.push(def.version);
            }
        }
        for versions in expected.values_mut() {
            versions.sort_by(|a, b| compare_version_priority(a, b));
        }
        let (code, groups) = call(&client, "GET", "/apis", None).await;
        assert_eq!(code, 200);
        let got: BTreeMap<&str, Vec<&str>> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let versions = g["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap());
                (g["name"].as_str().unwrap(), versions.collect())
            })
            .collect();
        assert_eq!(got, expected, "{minor}: /apis");
        for group in groups["groups"].as_array().unwrap() {
            let name = group["name"].as_str().unwrap();
            assert_eq!(group["preferredVersion"]["version"], expected[name][0], "{minor}: {name}");
            let (code, single) = call(&client, "GET", &format!("/apis/{name}"), None).await;
            assert_eq!((code, &single["preferredVersion"]), (200, &group["preferredVersion"]), "{minor}: /apis/{name}");
        }

        // Per implemented group/version + kind: discovery lists it, and lists answer, iff served.
        for def in resources::all() {
            let (code, list) = call(&client, "GET", &base_path(def), None).await;
            let names: Vec<&str> = list["resources"]
                .as_array()
                .map(|r| r.iter().filter_map(|r| r["name"].as_str()).collect())
                .unwrap_or_default();
            assert_eq!(
                names.contains(&def.plural),
                served(def),
                "{minor}: {} {} discovery",
                def.api_version(),
                def.kind
            );
            if !served(def) && !resources::all().any(|d| d.api_version() == def.api_version() && served(d)) {
                assert_eq!(code, 404, "{minor}: {} is not served at all", def.api_version());
            }
            let (code, _) = call(&client, "GET", &collection(def, "default"), None).await;
            assert_eq!(code, if served(def) { 200 } else { 404 }, "{minor}: list {} {}", def.api_version(), def.kind);
        }
        let (_, core) = call(&client, "GET", "/api/v1", None).await;
        let eviction = core["resources"].as_array().unwrap().iter().find(|r| r["name"] == "pods/eviction").unwrap();
        let eviction_gv = format!("{}/{}", eviction["group"].as_str().unwrap(), eviction["version"].as_str().unwrap());
        let expected_eviction = if minor >= Minor::new(1, 22) { "policy/v1" } else { "policy/v1beta1" };
        assert_eq!(eviction_gv, expected_eviction, "{minor}: pods/eviction");

        // Multi-version kinds: stored once, served in every served version.
        for def in
            resources::all().filter(|d| !d.stored_as.is_empty() || resources::ALTERNATES.iter().any(|a| a.hub() == *d))
        {
            let name = format!("via-{}", def.api_version().replace(['/', '.'], "-"));
            let (code, created) = call(&client, "POST", &collection(def, "default"), Some(&body(def, &name))).await;
            if !served(def) {
                assert_eq!(code, 404, "{minor}: create {} {}", def.api_version(), def.kind);
                continue;
            }
            assert_eq!(code, 201, "{minor}: create {} {}", def.api_version(), def.kind);
            assert_eq!(created["apiVersion"], def.api_version().as_str());
            let uid = created["metadata"]["uid"].clone();
            for other in resources::all().filter(|o| o.kind == def.kind && o.key() == def.key()) {
                let (code, read) =
                    call(&client, "GET", &format!("{}/{name}", collection(other, "default")), None).await;
                if served(other) {
                    assert_eq!(code, 200, "{minor}: {} read through {}", def.api_version(), other.api_version());
                    assert_eq!(read["metadata"]["uid"], uid);
                    assert_eq!(read["apiVersion"], other.api_version().as_str());
                    let writer = read["metadata"]["managedFields"][0]["apiVersion"].clone();
                    assert_eq!(writer, def.api_version().as_str(), "{minor}: managedFields name the write's version");
                } else {
                    assert_eq!(code, 404, "{minor}: {} is not served", other.api_version());
                }
            }
        }
        sim.shutdown().await;
    }
}

/// Watch lines (`{"type", "object"}`) of a collection, ended by `timeoutSeconds=1`.
async fn watch(client: &Client, path: &str) -> Result<Vec<Value>, u16> {
    let request = http::Request::get(format!("{path}?watch=true&timeoutSeconds=1")).body(Vec::new()).unwrap();
    match client.request_text(request).await {
        Ok(text) => Ok(text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()),
        Err(kube::Error::Api(status)) => Err(status.code),
        Err(e) => panic!("watch {path}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_serve_the_watched_version_and_keep_a_v1beta1_empty_selector_meaning_nothing() {
    let at = |version| SimConfig::new(Scenario::small().with_version(version));
    let sim = SimCluster::start(at(kubeladder_core::KubeVersion::new(1, 18, 20))).await.unwrap();
    let api = client(&sim).await;
    assert_eq!(watch(&api, "/apis/policy/v1/poddisruptionbudgets").await, Err(404));
    let beta = watch(&api, "/apis/policy/v1beta1/poddisruptionbudgets").await.unwrap();
    assert!(!beta.is_empty() && beta.iter().all(|e| e["object"]["apiVersion"] == "policy/v1beta1"), "{beta:?}");
    sim.shutdown().await;

    let sim = SimCluster::start(at(kubeladder_core::KubeVersion::new(1, 21, 14))).await.unwrap();
    let api = client(&sim).await;
    let none = json!({"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "none", "namespace": "default"}, "spec": {"maxUnavailable": 0, "selector": {}}});
    let (code, _) =
        call(&api, "POST", "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets", Some(&none)).await;
    assert_eq!(code, 201);
    let find = |events: &[Value]| {
        events.iter().find(|e| e["object"]["metadata"]["name"] == "none").map(|e| e["object"].clone()).unwrap()
    };
    let as_v1 = find(&watch(&api, "/apis/policy/v1/namespaces/default/poddisruptionbudgets").await.unwrap());
    assert_eq!(as_v1["apiVersion"], "policy/v1");
    assert_eq!(
        as_v1["spec"]["selector"],
        json!({"matchExpressions": [{"key": kubeladder_sim::convert::PDB_V1BETA1_LABEL, "operator": "Exists"}]})
    );
    let as_beta = find(&watch(&api, "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets").await.unwrap());
    assert_eq!(
        (as_beta["apiVersion"].clone(), as_beta["spec"]["selector"].clone()),
        (json!("policy/v1beta1"), json!({}))
    );
    // The disruption controller (v1 semantics on the stored form) counts no pod for it.
    let stored = sim.store().get("poddisruptionbudgets.policy", "default", "none").unwrap();
    assert_eq!(stored["status"]["expectedPods"], 0, "{stored}");
    sim.shutdown().await;
}
