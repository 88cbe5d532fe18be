//! kubeladder-kube against the simulated cluster's real HTTPS API, with real kubectl as the
//! reference: inventory, drain (same pods, same refusals as `kubectl drain`), budgets that
//! block, foreign cordons, the run lock, and the removed-API scan.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};
use kubeladder_core::drain::DrainOptions;
use kubeladder_core::release::ReleaseData;
use kubeladder_core::{KubeVersion, Minor};
use kubeladder_kube::KubeError;
use kubeladder_kube::client::{self, Clients};
use kubeladder_kube::drain::{self, Cordon, DrainConfig};
use kubeladder_kube::inventory::Inventory;
use kubeladder_kube::lock::RunLock;
use kubeladder_kube::removed_apis;
use kubeladder_sim::{RunningSim, Scenario, SimCluster, SimConfig, Timings};
use serde_json::{Value, json};

const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

fn kubectl_binary() -> PathBuf {
    (27..=40)
        .rev()
        .map(|m| Path::new(KUBECTL_DIR).join(format!("kubectl.1.{m}")))
        .find(|p| p.exists())
        .expect("a versioned kubectl (kubectl.1.27 .. kubectl.1.33) from the machine's kubectl package")
}

struct Env {
    sim: RunningSim,
    home: tempfile::TempDir,
    clients: Clients,
}

impl Env {
    async fn start(scenario: Scenario) -> Self {
        let config = SimConfig {
            speed: 20.0,
            timings: Timings { pod_start_secs: 2.0, pod_ready_secs: 2.0, pod_termination_secs: 2.0 },
            ..SimConfig::new(scenario)
        };
        let sim = SimCluster::start(config).await.expect("sim starts");
        let home = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&home.path().join("kubeconfig")).unwrap();
        let clients = client::connect(Some(&home.path().join("kubeconfig")), None).await.expect("connects");
        Self { sim, home, clients }
    }

    async fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new(kubectl_binary())
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("KUBECONFIG", self.home.path().join("kubeconfig"))
            .env("PATH", "/usr/bin:/bin")
            .kill_on_drop(true)
            .output();
        let out =
            tokio::time::timeout(Duration::from_secs(90), out).await.expect("kubectl finishes").expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn pods_on(&self, node: &str) -> Vec<Pod> {
        Api::<Pod>::all(self.clients.api.clone())
            .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
            .await
            .unwrap()
            .items
    }

    async fn node_of(&self, namespace: &str, pod: &str) -> String {
        let p = Api::<Pod>::namespaced(self.clients.api.clone(), namespace).get(pod).await.unwrap();
        p.spec.unwrap().node_name.unwrap()
    }

    async fn cordoned(&self, node: &str) -> bool {
        let n = Api::<Node>::all(self.clients.api.clone()).get(node).await.unwrap();
        n.spec.and_then(|s| s.unschedulable).unwrap_or(false)
    }
}

fn key(p: &Pod) -> String {
    drain::pod_key(p)
}

fn movable(p: &Pod) -> bool {
    let ds = p.metadata.owner_references.as_ref().is_some_and(|o| o.iter().any(|r| r.kind == "DaemonSet"));
    let mirror = p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    !ds && !mirror
}

fn upgrade_config(run_id: &str, timeout: Duration) -> DrainConfig {
    DrainConfig {
        run_id: run_id.to_owned(),
        options: DrainOptions { ignore_daemonsets: true, delete_emptydir_data: true, force: true },
        timeout,
        ..DrainConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_of_the_ha_scenario_matches_kubectl() {
    let env = Env::start(Scenario::ha()).await;
    let inv = Inventory::read(&env.clients.api).await.unwrap();
    let (ok, stdout, stderr) = env.kubectl(&["get", "nodes", "-o", "json"]).await;
    assert!(ok, "{stderr}");
    let nodes: Value = serde_json::from_str(&stdout).unwrap();
    let from_kubectl: BTreeSet<(String, String, bool)> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let labels = n["metadata"]["labels"].as_object().unwrap();
            let cp = labels.contains_key("node-role.kubernetes.io/control-plane")
                || labels.contains_key("node-role.kubernetes.io/master");
            (
                n["metadata"]["name"].as_str().unwrap().to_owned(),
                n["status"]["nodeInfo"]["kubeletVersion"].as_str().unwrap().to_owned(),
                cp,
            )
        })
        .collect();
    let ours: BTreeSet<(String, String, bool)> = inv
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.kubelet.to_string(), n.role == kubeladder_core::cluster::Role::ControlPlane))
        .collect();
    assert_eq!(ours, from_kubectl);
    assert_eq!(inv.nodes.len(), 9);
    assert_eq!(inv.cluster_version, KubeVersion::new(1, 18, 20));
    for cp in inv.nodes.iter().filter_map(|n| n.control_plane.as_ref()) {
        assert_eq!(cp.apiserver, Some(KubeVersion::new(1, 18, 20)));
        assert_eq!(cp.scheduler, Some(KubeVersion::new(1, 18, 20)));
        assert!(cp.etcd.is_some());
    }
    assert!(inv.cluster_state().violations().is_empty());
    assert!(!inv.cluster_uid.is_empty());
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_version_cluster_shows_its_skew_violation() {
    let env = Env::start(Scenario::ha()).await;
    // A kubelet three minors behind 1.18 is outside the policy (two allowed before 1.25).
    let patch = r#"{"status":{"nodeInfo":{"kubeletVersion":"v1.15.12"}}}"#;
    let (ok, _, stderr) =
        env.kubectl(&["patch", "node", "worker-2", "--subresource=status", "--type=merge", "-p", patch]).await;
    assert!(ok, "{stderr}");
    let inv = Inventory::read(&env.clients.api).await.unwrap();
    let w2 = inv.nodes.iter().find(|n| n.name == "worker-2").unwrap();
    assert_eq!(w2.kubelet, KubeVersion::new(1, 15, 12));
    let violations = inv.cluster_state().violations();
    assert!(violations.iter().any(|v| v.node.as_deref() == Some("worker-2")), "{violations:?}");
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_moves_the_same_pods_as_kubectl_drain() {
    let reference = Env::start(Scenario::ha()).await;
    let ours = Env::start(Scenario::ha()).await;
    let node = "worker-1";
    let expected_ref: BTreeSet<String> = reference.pods_on(node).await.iter().filter(|p| movable(p)).map(key).collect();
    let (ok, _, stderr) = reference
        .kubectl(&["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout", "60s"])
        .await;
    assert!(ok, "kubectl drain failed: {stderr}");
    let left_ref: BTreeSet<String> = reference.pods_on(node).await.iter().filter(|p| movable(p)).map(key).collect();
    assert!(left_ref.is_empty(), "kubectl left {left_ref:?}");

    let expected: BTreeSet<String> = ours.pods_on(node).await.iter().filter(|p| movable(p)).map(key).collect();
    let counts_before = ours.sim.request_counts();
    let report = drain::drain(&ours.clients, node, &upgrade_config("run-1", Duration::from_secs(60))).await.unwrap();
    let counts_after = ours.sim.request_counts();
    assert_eq!(report.cordon, Cordon::ByUs);
    assert_eq!(report.evicted.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(ours.pods_on(node).await.iter().all(|p| !movable(p)), "pods left on the node");
    assert!(ours.cordoned(node).await);
    // Same decisions: the same number of movable pods on the same node of the same scenario.
    assert_eq!(expected.len(), expected_ref.len());
    // Bounded requests: a constant plus a small number per pod (watch, not poll).
    let total = |c: &kubeladder_sim::api::RequestCounts| c.values().sum::<u64>();
    let used = total(&counts_after).saturating_sub(total(&counts_before));
    let bound = 20 + 3 * expected.len() as u64;
    assert!(used <= bound, "{used} requests for {} pods (bound {bound})", expected.len());
    reference.sim.shutdown().await;
    ours.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_refuses_the_same_cases_as_kubectl_before_evicting_anything() {
    let env = Env::start(Scenario::ha()).await;
    let node = env.node_of("shop", "debug").await; // the bare pod's node
    let before: BTreeSet<String> = env.pods_on(&node).await.iter().map(key).collect();
    let (ok, _, stderr) =
        env.kubectl(&["drain", &node, "--ignore-daemonsets", "--delete-emptydir-data", "--dry-run=server"]).await;
    assert!(!ok, "kubectl should refuse a bare pod without --force");
    assert!(stderr.contains("cannot delete Pods that declare no controller"), "{stderr}");
    let mut config = upgrade_config("run-1", Duration::from_secs(30));
    config.options.force = false;
    let err = drain::drain(&env.clients, &node, &config).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KubeError::DrainRefused { .. }), "{text}");
    assert!(
        text.contains("cannot delete Pods that declare no controller (use --force to override): shop/debug"),
        "{text}"
    );
    let after: BTreeSet<String> = env.pods_on(&node).await.iter().map(key).collect();
    assert_eq!(before, after, "nothing may be evicted when the drain is refused");
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_that_allows_nothing_stops_the_drain_at_the_timeout_naming_it() {
    let env = Env::start(Scenario::ha()).await;
    // A controller-owned pod that no budget covers yet (one budget per pod, as evictions
    // with several budgets are refused outright).
    let policy = kubeladder_kube::budgets::policy_version(&env.clients.api).await.unwrap();
    let existing = kubeladder_kube::budgets::list(&env.clients.api, &policy).await.unwrap();
    let mut chosen = None;
    for node in ["worker-1", "worker-2", "worker-3", "worker-4", "worker-5", "worker-6"] {
        let pods = env.pods_on(node).await;
        if let Some(p) = pods.into_iter().find(|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            let owned = p
                .metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o.iter().any(|r| r.kind == "ReplicaSet" || r.kind == "StatefulSet"));
            owned
                && movable(p)
                && !labels.is_empty()
                && !existing.iter().any(|b| b.selects(p.metadata.namespace.as_deref().unwrap_or_default(), &labels))
        }) {
            chosen = Some((node.to_owned(), p));
            break;
        }
    }
    let (node, pod) = chosen.expect("a pod without a budget on some worker");
    let selector = pod.metadata.labels.clone().unwrap();
    let ns = pod.metadata.namespace.clone().unwrap();
    let ns = ns.as_str();
    let pdb: Value = json!({
        "apiVersion": format!("policy/{policy}"), "kind": "PodDisruptionBudget",
        "metadata": {"name": "frozen", "namespace": ns},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": selector}}
    });
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
        env.clients.api.clone(),
        ns,
        &kube::api::ApiResource::from_gvk_with_plural(
            // The ha scenario runs 1.18: budgets exist there only as policy/v1beta1.
            &kube::api::GroupVersionKind::gvk("policy", &policy, "PodDisruptionBudget"),
            "poddisruptionbudgets",
        ),
    );
    api.create(&PostParams::default(), &serde_json::from_value(pdb).unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let err = drain::drain(&env.clients, &node, &upgrade_config("run-1", Duration::from_secs(5))).await.unwrap_err();
    let text = err.to_string();
    let KubeError::DrainTimeout { blockers, .. } = &err else { panic!("expected a timeout, got {text}") };
    let frozen = format!("{ns}/frozen");
    assert!(blockers.iter().any(|b| b.budget == frozen && b.disruptions_allowed == 0), "{text}");
    // Only a budget with nothing left to give is blamed.
    assert!(blockers.iter().all(|b| b.disruptions_allowed == 0), "{text}");
    assert!(text.contains(&frozen) && text.contains("stays cordoned"), "{text}");
    assert!(env.cordoned(&node).await, "a timed-out drain leaves the node cordoned");
    // kubectl names the budget too.
    let (ok, _, stderr) = env
        .kubectl(&["drain", &node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout", "5s"])
        .await;
    assert!(!ok);
    assert!(stderr.contains("disruption budget"), "{stderr}");
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_cordon_survives_drain_and_uncordon() {
    let env = Env::start(Scenario::ha()).await;
    let (ok, _, stderr) = env.kubectl(&["cordon", "worker-2"]).await;
    assert!(ok, "{stderr}");
    let report =
        drain::drain(&env.clients, "worker-2", &upgrade_config("manual", Duration::from_secs(60))).await.unwrap();
    assert_eq!(report.cordon, Cordon::Foreign { by: None });
    let err = drain::uncordon(&env.clients.api, "worker-2", "manual", false).await.unwrap_err();
    assert!(matches!(err, KubeError::ForeignCordon { .. }), "{err}");
    assert!(err.to_string().contains("--force"));
    assert!(env.cordoned("worker-2").await, "the foreign cordon was lifted");
    // Our own cordon is ours to lift.
    drain::cordon(&env.clients.api, "worker-3", "manual").await.unwrap();
    drain::uncordon(&env.clients.api, "worker-3", "manual", false).await.unwrap();
    assert!(!env.cordoned("worker-3").await);
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_cannot_hold_the_lock_at_once() {
    let env = Env::start(Scenario::small()).await;
    let other = client::connect(Some(&env.home.path().join("kubeconfig")), None).await.unwrap();
    let (a, b) = tokio::join!(RunLock::acquire(&env.clients.api, "run-a"), RunLock::acquire(&other.api, "run-b"));
    let (winner, loser) = match (a, b) {
        (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
        (Ok(_), Ok(_)) => panic!("two holders of the run lock"),
        (Err(a), Err(b)) => panic!("nobody got the lock: {a} / {b}"),
    };
    let KubeError::LockHeld(holder) = &loser else { panic!("expected LockHeld, got {loser}") };
    assert_eq!(holder.identity, winner.identity());
    assert!(loser.to_string().contains(winner.identity()));
    // The holder renews; after release another run may take it.
    let mut winner = winner;
    winner.renew().await.unwrap();
    winner.release().await.unwrap();
    let again = RunLock::acquire(&other.api, "run-c").await.unwrap();
    again.release().await.unwrap();
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_apis_in_helm_releases_and_managed_fields_are_reported() {
    use base64::Engine as _;
    use std::io::Write as _;
    let env = Env::start(Scenario::small()).await;
    // A Helm v3 release whose manifest has an extensions/v1beta1 Ingress (removed in 1.22).
    let manifest = "---\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: shop\nspec: {}\n";
    let release = json!({"name": "shop", "version": 2, "namespace": "default", "manifest": manifest});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(release.to_string().as_bytes()).unwrap();
    let helm = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.shop.v2", "namespace": "default", "labels": {"owner": "helm", "status": "deployed", "name": "shop"}},
        "data": {"release": base64::engine::general_purpose::STANDARD.encode(helm.as_bytes())}
    });
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(env.clients.api.clone(), "default");
    secrets.create(&PostParams::default(), &serde_json::from_value(secret).unwrap()).await.unwrap();
    // A Lease last written as coordination.k8s.io/v1beta1 (removed in 1.22).
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "old-client", "namespace": "default",
            "managedFields": [{"manager": "legacy-operator", "operation": "Update", "apiVersion": "coordination.k8s.io/v1beta1", "fieldsType": "FieldsV1", "fieldsV1": {}}]},
        "spec": {"holderIdentity": "x"}
    });
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = Api::namespaced(env.clients.api.clone(), "default");
    leases.create(&PostParams::default(), &serde_json::from_value(lease).unwrap()).await.unwrap();

    let data = ReleaseData::embedded().unwrap();
    let findings = removed_apis::scan(&env.clients.api, data, Minor::new(1, 18), Minor::new(1, 22)).await.unwrap();
    let summary: Vec<(String, String, String)> =
        findings.iter().map(|f| (f.kind.clone(), f.name.clone(), f.source.to_string())).collect();
    assert!(
        summary.contains(&("Ingress".to_owned(), "shop".to_owned(), "Helm release shop revision 2".to_owned())),
        "{summary:?}"
    );
    assert!(
        summary.contains(&("Lease".to_owned(), "old-client".to_owned(), "managedFields (legacy-operator)".to_owned())),
        "{summary:?}"
    );
    // Before 1.22 nothing is removed yet.
    assert!(removed_apis::scan(&env.clients.api, data, Minor::new(1, 18), Minor::new(1, 21)).await.unwrap().is_empty());
    env.sim.shutdown().await;
}

const LOCK_CHILD_ENV: &str = "KUBELADDER_LOCK_TEST_KUBECONFIG";

/// Not a test on its own: the other process of the lock test. Takes the lock, says so,
/// and holds it (renewing) until killed or 60 s pass.
#[test]
#[ignore = "run by a_second_process_is_refused_and_a_stale_lease_is_taken_over as a child process"]
fn lock_holder_child() {
    let kubeconfig = std::env::var(LOCK_CHILD_ENV).expect("only run as the lock test's child");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let clients = client::connect(Some(Path::new(&kubeconfig)), None).await.unwrap();
        let mut lock = RunLock::acquire(&clients.api, &format!("child-{}", std::process::id())).await.unwrap();
        println!("held {}", lock.identity());
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            lock.renew().await.unwrap();
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_is_refused_and_a_stale_lease_is_taken_over() {
    use tokio::io::AsyncBufReadExt as _;
    let env = Env::start(Scenario::small()).await;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lock_holder_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(LOCK_CHILD_ENV, env.home.path().join("kubeconfig"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let holder = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("the child printed nothing");
            // libtest prints "test lock_holder_child ... " before the child's own output.
            if let Some((_, id)) = line.split_once("held ") {
                return id.trim().to_owned();
            }
        }
    })
    .await
    .expect("the child took the lock");

    let err = RunLock::acquire(&env.clients.api, "parent").await.unwrap_err();
    assert!(matches!(&err, KubeError::LockHeld(h) if h.identity == holder), "{err}");
    assert!(err.to_string().contains(&holder) && err.to_string().contains("since"), "{err}");

    // kill -9: the lease stays, so the lock still refuses...
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(matches!(RunLock::acquire(&env.clients.api, "parent").await, Err(KubeError::LockHeld(_))));
    // ...until it has not been renewed for its duration: then it is taken over, naming the old holder.
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(env.clients.api.clone(), "kube-system");
    let mut lease = leases.get("kubeladder").await.unwrap();
    let old = k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now().checked_sub(k8s_openapi::jiff::SignedDuration::from_secs(600)).unwrap(),
    );
    let spec = lease.spec.as_mut().unwrap();
    spec.renew_time = Some(old.clone());
    spec.acquire_time = Some(old);
    leases.replace("kubeladder", &PostParams::default(), &lease).await.unwrap();
    let taken = RunLock::acquire(&env.clients.api, "parent").await.unwrap();
    assert_eq!(taken.took_over_from.as_ref().map(|h| h.identity.clone()), Some(holder));
    taken.release().await.unwrap();
    env.sim.shutdown().await;
}

fn dynamic_api(env: &Env, gvk: (&str, &str, &str), plural: &str, ns: &str) -> Api<kube::api::DynamicObject> {
    let gvk = kube::api::GroupVersionKind::gvk(gvk.0, gvk.1, gvk.2);
    Api::namespaced_with(env.clients.api.clone(), ns, &kube::api::ApiResource::from_gvk_with_plural(&gvk, plural))
}

async fn create_dynamic(api: &Api<kube::api::DynamicObject>, body: Value) {
    api.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1beta1_budget_with_an_empty_selector_covers_no_pod_before_and_after_policy_v1() {
    for (version, served) in [(KubeVersion::new(1, 18, 20), "v1beta1"), (KubeVersion::new(1, 21, 14), "v1")] {
        let env = Env::start(Scenario::small().with_version(version)).await;
        let policy = drain::eviction_group_version(&env.clients.api).await.unwrap();
        assert_eq!(policy, "policy/v1beta1", "{version}: evictions are policy/v1beta1 until 1.22");
        assert_eq!(kubeladder_kube::budgets::policy_version(&env.clients.api).await.unwrap(), served, "{version}");
        // maxUnavailable 0 over an empty v1beta1 selector: it would block every eviction if
        // it selected anything.
        let beta = dynamic_api(&env, ("policy", "v1beta1", "PodDisruptionBudget"), "poddisruptionbudgets", "default");
        create_dynamic(
            &beta,
            json!({"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "none", "namespace": "default"}, "spec": {"maxUnavailable": 0, "selector": {}}}),
        )
        .await;
        if served == "v1" {
            // The same empty selector written as policy/v1 selects every pod of the namespace.
            let v1 = dynamic_api(&env, ("policy", "v1", "PodDisruptionBudget"), "poddisruptionbudgets", "default");
            create_dynamic(
                &v1,
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": "all", "namespace": "default"}, "spec": {"maxUnavailable": 1, "selector": {}}}),
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let budgets = kubeladder_kube::budgets::list(&env.clients.api, served).await.unwrap();
        let pods: Vec<Pod> = Api::<Pod>::namespaced(env.clients.api.clone(), "default")
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(movable)
            .collect();
        assert!(!pods.is_empty());
        let none = budgets.iter().find(|b| b.name == "none").unwrap();
        assert_eq!(none.expected_pods, 0, "{version}: the simulator's disruption controller agrees");
        for pod in &pods {
            let labels = pod.metadata.labels.clone().unwrap_or_default().into_iter().collect();
            assert!(!none.selects("default", &labels), "{version}: {}", key(pod));
            if let Some(all) = budgets.iter().find(|b| b.name == "all") {
                assert!(all.selects("default", &labels), "{version}: {}", key(pod));
            }
        }
        if served == "v1" {
            let all = budgets.iter().find(|b| b.name == "all").unwrap();
            assert!(all.expected_pods > 0, "{all:?}");
            env.kubectl(&["delete", "pdb", "all", "-n", "default"]).await;
        }
        // The drain is not held by it: every pod of the worker moves.
        let node = env.node_of("default", pods[0].metadata.name.as_deref().unwrap()).await;
        drain::drain(&env.clients, &node, &upgrade_config("run-1", Duration::from_secs(30))).await.unwrap();
        assert!(env.pods_on(&node).await.iter().all(|p| !movable(p)), "{version}: {node} drained");
        env.sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_written_through_apis_the_next_hop_removes_are_found_through_the_served_version() {
    let mut scenario = Scenario::small().with_version(KubeVersion::new(1, 24, 17));
    scenario.container_runtime = "containerd://1.6.20".to_owned();
    let env = Env::start(scenario).await;
    let data = ReleaseData::embedded().unwrap();
    assert!(removed_apis::scan(&env.clients.api, data, Minor::new(1, 24), Minor::new(1, 25)).await.unwrap().is_empty());
    // Written by a client of the 1.24 era through policy/v1beta1 and batch/v1beta1; nobody
    // set managedFields by hand: the apiserver records the version each write came through.
    let pdbs = dynamic_api(&env, ("policy", "v1beta1", "PodDisruptionBudget"), "poddisruptionbudgets", "default");
    create_dynamic(&pdbs, json!({"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "legacy", "namespace": "default"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "nope"}}}}))
    .await;
    let cronjobs = dynamic_api(&env, ("batch", "v1beta1", "CronJob"), "cronjobs", "default");
    create_dynamic(
        &cronjobs,
        json!({"apiVersion": "batch/v1beta1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "default"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "job", "image": "busybox"}]}}}}}}),
    )
    .await;
    let findings = removed_apis::scan(&env.clients.api, data, Minor::new(1, 24), Minor::new(1, 25)).await.unwrap();
    let found: BTreeSet<(String, String, String)> =
        findings.iter().map(|f| (f.kind.clone(), f.name.clone(), f.api_version.clone())).collect();
    assert!(found.contains(&("PodDisruptionBudget".into(), "legacy".into(), "policy/v1beta1".into())), "{found:?}");
    assert!(found.contains(&("CronJob".into(), "nightly".into(), "batch/v1beta1".into())), "{found:?}");
    assert!(findings.iter().all(|f| f.removed_in == Minor::new(1, 25)));
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_supported_era_is_read_and_drained_through_the_versions_it_serves() {
    // (cluster, policy version of budgets, eviction version): budgets are policy/v1 from
    // 1.21, evictions from 1.22; policy/v1beta1 is gone in 1.25.
    let eras = [
        (KubeVersion::new(1, 18, 20), "v1beta1", "policy/v1beta1"),
        (KubeVersion::new(1, 20, 15), "v1beta1", "policy/v1beta1"),
        (KubeVersion::new(1, 21, 14), "v1", "policy/v1beta1"),
        (KubeVersion::new(1, 24, 17), "v1", "policy/v1"),
        (KubeVersion::new(1, 25, 16), "v1", "policy/v1"),
    ];
    let data = ReleaseData::embedded().unwrap();
    for (version, policy, eviction) in eras {
        let env = Env::start(Scenario::small().with_version(version)).await;
        let inv = Inventory::read(&env.clients.api).await.unwrap();
        assert_eq!(inv.cluster_version, version);
        assert_eq!(kubeladder_kube::budgets::policy_version(&env.clients.api).await.unwrap(), policy, "{version}");
        assert_eq!(drain::eviction_group_version(&env.clients.api).await.unwrap(), eviction, "{version}");
        let budgets = kubeladder_kube::budgets::list(&env.clients.api, policy).await.unwrap();
        assert!(!budgets.is_empty() && budgets.iter().all(|b| b.expected_pods > 0), "{version}: {budgets:?}");
        let view = kubeladder_kube::workload::WorkloadView::read(
            &env.clients.api,
            upgrade_config("x", Duration::from_secs(1)).options,
        )
        .await
        .unwrap();
        assert_eq!(view.budgets.len(), budgets.len(), "{version}");
        let next = version.minor().next();
        removed_apis::scan(&env.clients.api, data, version.minor(), next).await.unwrap();
        drain::drain(&env.clients, "worker-1", &upgrade_config("run-1", Duration::from_secs(30))).await.unwrap();
        assert!(env.pods_on("worker-1").await.iter().all(|p| !movable(p)), "{version}: worker-1 drained");
        env.sim.shutdown().await;
    }
}
