//! The `kubeladder` binary against a simulated cluster served in-process: `plan`, `inventory`
//! and `check` as an operator runs them, and blockers that appear and disappear when fixed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

mod support;

use std::path::PathBuf;
use std::time::Duration;

use kubeladder_core::KubeVersion;
use kubeladder_sim::{RunningSim, Scenario, SimCluster, SimConfig, Timings};
use serde_json::Value;

struct Env {
    sim: RunningSim,
    dir: tempfile::TempDir,
}

impl Env {
    /// Write the simulator's hosts file (transport `sim`) and the CA it trusts beside it, as
    /// `sim serve --hosts-out` does; returns the hosts file's path.
    fn write_hosts_file(&self) -> PathBuf {
        let ca = self.dir.path().join("hosts.yaml.ca.pem");
        std::fs::write(&ca, self.sim.ca_pem()).unwrap();
        let hosts = self.dir.path().join("hosts.yaml");
        std::fs::write(&hosts, self.sim.hosts_yaml(&ca)).unwrap();
        hosts
    }

    async fn start(scenario: Scenario) -> Self {
        let config = SimConfig {
            speed: 20.0,
            timings: Timings { pod_start_secs: 2.0, pod_ready_secs: 2.0, pod_termination_secs: 2.0 },
            ..SimConfig::new(scenario)
        };
        let sim = SimCluster::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&dir.path().join("kubeconfig")).unwrap();
        // Let controllers schedule and ready every pod before reading.
        tokio::time::sleep(Duration::from_millis(800)).await;
        Self { sim, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Run the real binary (off the async runtime: it has its own).
    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_with_env(args, &[]).await
    }

    async fn run_with_env(&self, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
        let mut full: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        full.extend(["--kubeconfig".to_owned(), self.kubeconfig().display().to_string()]);
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
            .args(&full)
            .env_remove("KUBECONFIG")
            .env_remove("KUBELADDER_TIMINGS")
            // Loopback only: plan asks no one for the latest release unless a test says so.
            .env("KUBELADDER_RELEASE_URL", "off")
            .envs(vars.iter().copied())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(60), out).await.expect("kubeladder finishes").unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    async fn kubectl(&self, args: &[&str]) -> String {
        let kubectl = support::newest_kubectl();
        let out = tokio::process::Command::new(kubectl)
            .args(args)
            .env_clear()
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", self.kubeconfig())
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The cluster's UID differs from run to run; everything else in a plan is determined.
fn without_uid(mut v: Value) -> Value {
    v["cluster"]["uid"] = Value::String("[uid]".to_owned());
    v
}

async fn plan_json(env: &Env, to: &str) -> (i32, Value) {
    let (code, json, stderr) = env.run(&["plan", "--to", to, "--date", "2026-11-25", "-o", "json"]).await;
    assert!(code == 0 || code == 3, "{stderr}");
    (code, serde_json::from_str(&json).unwrap())
}

fn checks(plan: &Value) -> Vec<(String, String, String)> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_for_the_ha_scenario_1_18_to_1_23() {
    let env = Env::start(Scenario::ha()).await;
    // The drain flags `apply` would be given (without them the scenario's emptyDir and bare
    // pods are BLOCKERs: `plan_lists_the_pods_that_stop_a_drain_with_the_flag_that_allows_them`).
    let drain = ["--delete-emptydir-data", "--force"];
    let (code, table, stderr) =
        env.run(&[&["plan", "--to", "1.23", "--date", "2026-11-25"][..], &drain[..]].concat()).await;
    assert!(code == 0 || code == 3, "{stderr}");
    insta::assert_snapshot!("plan_ha_1_18_to_1_23_table", table);
    let (code_json, json, _) =
        env.run(&[&["plan", "--to", "1.23", "--date", "2026-11-25", "-o", "json"][..], &drain[..]].concat()).await;
    assert_eq!(code, code_json);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["apiVersion"], "kubeladder.io/v1alpha2");
    assert_eq!(v["kind"], "UpgradePlan");
    assert_eq!(v["hops"].as_array().unwrap().len(), 5);
    assert_eq!(v["kubelets"].as_array().unwrap().len(), 9);
    assert_eq!(v["blockers"].as_u64().unwrap() > 0, code == 3);
    insta::assert_json_snapshot!("plan_ha_1_18_to_1_23_json", without_uid(v));
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_reports_phase_timings_on_stderr_only_when_asked() {
    let env = Env::start(Scenario::ha()).await;
    let args = ["plan", "--to", "1.20", "--date", "2026-11-25", "-o", "json"];
    let (code, plain_out, plain_err) = env.run(&args).await;
    let (timed_code, timed_out, timed_err) = env.run_with_env(&args, &[("KUBELADDER_TIMINGS", "1")]).await;
    assert_eq!(code, timed_code, "{timed_err}");
    assert!(!plain_err.contains("timing\t"), "{plain_err}");
    let plain: Value = serde_json::from_str(&plain_out).unwrap();
    let timed: Value = serde_json::from_str(&timed_out).unwrap();
    assert_eq!(without_uid(plain), without_uid(timed), "timings must not change the report");
    let phases: Vec<&str> = timed_err
        .lines()
        .filter_map(|l| l.strip_prefix("timing\t"))
        .map(|rest| {
            let (name, secs) = rest.split_once('\t').expect("NAME<TAB>SECONDS");
            assert!(secs.parse::<f64>().is_ok_and(|s| s >= 0.0), "{rest}");
            name
        })
        .collect();
    for phase in ["read inventory", "read workload", "plan", "forecast", "checks"] {
        assert!(phases.contains(&phase), "no timing for {phase:?} in {timed_err}");
    }
    env.sim.shutdown().await;
}

/// A loopback HTTP server answering `GET /release/<file>` from `files` (404 otherwise),
/// for as many requests as come; returns its base URL.
async fn release_server(files: &'static [(&'static str, &'static str)]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/release", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0u8; 4096];
            let n = socket.read(&mut request).await.unwrap_or(0);
            let line = String::from_utf8_lossy(&request[..n]).lines().next().unwrap_or_default().to_owned();
            let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let body = files.iter().find(|(f, _)| path == format!("/release/{f}")).map(|(_, b)| *b);
            let response = match body {
                Some(b) => format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}", b.len()),
                None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
            };
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_stable_comes_from_upstream_when_it_answers_and_from_the_shipped_data_when_not() {
    let env = Env::start(Scenario::small()).await;
    let args = ["plan", "--to", "latest", "--date", "2026-11-25", "-o", "json"];
    let (code, offline, _) = env.run(&args).await;
    let offline: Value = serde_json::from_str(&offline).unwrap();
    assert_eq!(offline["latestStableSource"], "kubeladder release data (offline)");

    // Upstream knows a minor newer than the shipped data: shown, and a warning to upgrade
    // kubeladder - the plan itself still ends at the newest minor it knows.
    let base = release_server(&[("stable.txt", "v1.99.3\n"), ("stable-1.18.txt", "v1.18.20\n")]).await;
    let (online_code, online, stderr) = env.run_with_env(&args, &[("KUBELADDER_RELEASE_URL", &base)]).await;
    assert_eq!(online_code, code, "{stderr}");
    let online: Value = serde_json::from_str(&online).unwrap();
    assert_eq!(online["latestStable"], "v1.99.3");
    assert_eq!(online["latestStableSource"], format!("online: {base}/stable.txt"));
    assert_eq!(online["latestInSeries"], "v1.18.20");
    assert_eq!(online["target"], offline["target"], "the plan follows the shipped data");
    let behind = ("release-data-behind".to_owned(), "WARNING".to_owned(), "kubeladder release data".to_owned());
    assert!(checks(&online).contains(&behind), "{:?}", checks(&online));
    assert!(!checks(&offline).contains(&behind));

    // Nobody answers, or the answer is not a version: the shipped data, and why.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/release", listener.local_addr().unwrap())
    };
    let garbage = release_server(&[("stable.txt", "<html>moved</html>")]).await;
    for (url, why) in [(closed.as_str(), "stable.txt: "), (garbage.as_str(), "stable.txt: ")] {
        let (failed_code, failed, stderr) = env.run_with_env(&args, &[("KUBELADDER_RELEASE_URL", url)]).await;
        assert_eq!(failed_code, code, "{stderr}");
        let failed: Value = serde_json::from_str(&failed).unwrap();
        let source = failed["latestStableSource"].as_str().unwrap();
        assert!(source.starts_with("kubeladder release data (offline: ") && source.contains(why), "{source}");
        assert_eq!(failed["latestStable"], offline["latestStable"]);
    }
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_for_1_28_to_1_33_with_lagging_workers() {
    let env = Env::start(Scenario::ha().with_version(KubeVersion::new(1, 28, 15))).await;
    let (code, json, stderr) = env
        .run(&[
            "plan",
            "--to",
            "1.33",
            "--workers",
            "lag",
            "--date",
            "2026-11-25",
            "-o",
            "json",
            "--delete-emptydir-data",
            "--force",
        ])
        .await;
    assert!(code == 0 || code == 3, "{stderr}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let drains = v["drainsPerNode"].as_object().unwrap();
    assert!(drains.iter().filter(|(n, _)| n.starts_with("worker")).all(|(_, d)| d == 2), "{drains:?}");
    insta::assert_json_snapshot!("plan_ha_1_28_to_1_33_lag_json", without_uid(v));
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_node_blocks_the_hop_into_1_24_until_it_moves_to_containerd() {
    let env = Env::start(Scenario::small().with_version(KubeVersion::new(1, 23, 17))).await;
    for node in ["cp-1", "worker-1", "worker-2"] {
        let patch = r#"{"status":{"nodeInfo":{"containerRuntimeVersion":"containerd://1.6.8"}}}"#;
        env.kubectl(&["patch", "node", node, "--subresource=status", "--type=merge", "-p", patch]).await;
    }
    let (_, before) = plan_json(&env, "1.24").await;
    assert!(!checks(&before).iter().any(|c| c.0 == "docker-runtime"), "{:?}", checks(&before));
    let patch = r#"{"status":{"nodeInfo":{"containerRuntimeVersion":"docker://20.10.7"}}}"#;
    env.kubectl(&["patch", "node", "worker-2", "--subresource=status", "--type=merge", "-p", patch]).await;
    let (code, blocked) = plan_json(&env, "1.24").await;
    assert_eq!(code, 3);
    assert!(checks(&blocked).contains(&("docker-runtime".to_owned(), "BLOCKER".to_owned(), "worker-2".to_owned())));
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeadm_config_stored_in_a_removed_api_blocks_until_migrated() {
    let env = Env::start(Scenario::small().with_version(KubeVersion::new(1, 27, 16))).await;
    let get = ["get", "cm", "kubeadm-config", "-n", "kube-system", "-o", "jsonpath={.data.ClusterConfiguration}"];
    let stored = env.kubectl(&get).await;
    assert!(stored.contains("apiVersion: kubeadm.k8s.io/v1beta3"), "{stored}");
    let (_, before) = plan_json(&env, "1.28").await;
    assert!(!checks(&before).iter().any(|c| c.0 == "kubeadm-config-api"), "{:?}", checks(&before));
    // A hand-edited ConfigMap in the version kubeadm 1.27 dropped.
    let set = |text: &str| serde_json::json!({"data": {"ClusterConfiguration": text}}).to_string();
    let old = set(&stored.replace("kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta2"));
    env.kubectl(&["patch", "cm", "kubeadm-config", "-n", "kube-system", "--type=merge", "-p", &old]).await;
    let (code, blocked) = plan_json(&env, "1.28").await;
    assert_eq!(code, 3);
    let expected =
        ("kubeadm-config-api".to_owned(), "BLOCKER".to_owned(), "ConfigMap kube-system/kubeadm-config".to_owned());
    assert!(checks(&blocked).contains(&expected), "{:?}", checks(&blocked));
    // The simulated kubeadm 1.27 on the node agrees: it cannot decode what is stored.
    let argv: Vec<String> = ["kubeadm", "upgrade", "plan"].map(str::to_owned).to_vec();
    let out = env.sim.exec("cp-1", &argv).await.unwrap();
    assert_eq!(out.exit_code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("is registered for version \"kubeadm.k8s.io/v1beta2\""), "{}", out.stderr);
    env.kubectl(&["patch", "cm", "kubeadm-config", "-n", "kube-system", "--type=merge", "-p", &set(&stored)]).await;
    let (_, after) = plan_json(&env, "1.28").await;
    assert!(!checks(&after).iter().any(|c| c.0 == "kubeadm-config-api"), "{:?}", checks(&after));
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_allowing_nothing_blocks_until_it_is_removed() {
    let env = Env::start(Scenario::small()).await;
    let manifest = env.dir.path().join("pdb.yaml");
    std::fs::write(
        &manifest,
        // The small scenario runs 1.18, which serves budgets only as policy/v1beta1.
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: frozen\n  namespace: default\nspec:\n  maxUnavailable: 0\n  selector:\n    matchLabels:\n      app: hello\n",
    )
    .unwrap();
    // The simulator serves no OpenAPI document yet, which client-side validation needs.
    env.kubectl(&["create", "--validate=false", "-f", manifest.to_str().unwrap()]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, json, _) = env.run(&["plan", "--to", "1.19", "--date", "2026-11-25", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(code, 3);
    assert!(checks(&v).contains(&("budget-blocks".to_owned(), "BLOCKER".to_owned(), "default/frozen".to_owned())));
    env.kubectl(&["delete", "pdb", "frozen", "-n", "default"]).await;
    let (_, json, _) = env.run(&["plan", "--to", "1.19", "--date", "2026-11-25", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(!checks(&v).iter().any(|c| c.2 == "default/frozen"));
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_and_check_on_a_healthy_cluster() {
    let env = Env::start(Scenario::ha()).await;
    let (code, table, stderr) = env.run(&["inventory"]).await;
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("inventory_ha_table", table);
    let (code, json, stderr) = env.run(&["check", "--to", "1.21", "-o", "json"]).await;
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(v["gates"].as_array().unwrap().iter().all(|g| g["passed"] == true), "{v}");
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_with_an_extensions_ingress_blocks_the_hop_into_1_22_until_removed() {
    use base64::Engine as _;
    use std::io::Write as _;
    let env = Env::start(Scenario::small().with_version(KubeVersion::new(1, 21, 14))).await;
    let (_, clean) = plan_json(&env, "1.22").await;
    assert!(!checks(&clean).iter().any(|c| c.0 == "removed-api"));
    // Helm stores base64(gzip(release JSON)); the API serves Secret data base64 again.
    let manifest = "---\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: shop\nspec: {}\n";
    let release = serde_json::json!({"name": "shop", "version": 1, "namespace": "default", "manifest": manifest});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(release.to_string().as_bytes()).unwrap();
    let helm = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.shop.v1", "namespace": "default",
                     "labels": {"owner": "helm", "status": "deployed", "name": "shop", "version": "1"}},
        "data": {"release": base64::engine::general_purpose::STANDARD.encode(helm.as_bytes())}
    });
    let file = env.dir.path().join("secret.json");
    std::fs::write(&file, secret.to_string()).unwrap();
    env.kubectl(&["create", "--validate=false", "-f", file.to_str().unwrap()]).await;
    let (code, blocked) = plan_json(&env, "1.22").await;
    assert_eq!(code, 3);
    let found = blocked["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "removed-api")
        .expect("a removed-api finding");
    assert_eq!(found["severity"], "BLOCKER");
    assert!(found["message"].as_str().unwrap().contains("Ingress default/shop uses extensions/v1beta1"), "{found}");
    assert!(found["fix"].as_str().unwrap().contains("networking.k8s.io/v1"), "{found}");
    env.kubectl(&["delete", "secret", "sh.helm.release.v1.shop.v1", "-n", "default"]).await;
    let (_, fixed) = plan_json(&env, "1.22").await;
    assert!(!checks(&fixed).iter().any(|c| c.0 == "removed-api"));
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_serve_runs_as_its_own_process_until_sigterm() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("sim.kubeconfig");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["sim", "serve", "--scenario", "small", "--kubeconfig-out", kubeconfig.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
    assert!(first.starts_with("serving https://127.0.0.1:"), "{first}");
    let kubectl = support::newest_kubectl();
    let out = tokio::process::Command::new(kubectl)
        .args(["get", "nodes", "--no-headers"])
        .env_clear()
        .env("HOME", dir.path())
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    let pid = i32::try_from(child.id().unwrap()).unwrap();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["sim", "serve", "--listen", "0.0.0.0:0", "--kubeconfig-out", kubeconfig.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cronjob_written_as_batch_v1beta1_blocks_the_hop_into_1_25_until_rewritten() {
    let mut scenario = Scenario::small().with_version(KubeVersion::new(1, 24, 17));
    scenario.container_runtime = "containerd://1.6.20".to_owned();
    let env = Env::start(scenario).await;
    let (_, clean) = plan_json(&env, "1.25").await;
    assert!(!checks(&clean).iter().any(|c| c.0 == "removed-api"), "{clean}");
    // Written by a client that still used batch/v1beta1: the API stores it as batch/v1,
    // but managedFields remember the version the manager used.
    let cronjob = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "default",
                     "managedFields": [{"manager": "old-operator", "operation": "Update",
                                        "apiVersion": "batch/v1beta1", "fieldsType": "FieldsV1",
                                        "fieldsV1": {"f:spec": {"f:schedule": {}}}}]},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "job", "image": "busybox"}]}}}}}
    });
    let file = env.dir.path().join("cronjob.json");
    std::fs::write(&file, cronjob.to_string()).unwrap();
    env.kubectl(&["create", "--validate=false", "-f", file.to_str().unwrap()]).await;
    let (code, blocked) = plan_json(&env, "1.25").await;
    assert_eq!(code, 3, "{blocked}");
    let found = blocked["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "removed-api")
        .expect("a removed-api finding");
    assert_eq!(found["severity"], "BLOCKER");
    assert!(found["message"].as_str().unwrap().contains("CronJob default/nightly"), "{found}");
    assert!(found["message"].as_str().unwrap().contains("batch/v1beta1"), "{found}");
    env.kubectl(&["delete", "cronjob", "nightly", "-n", "default"]).await;
    let (_, fixed) = plan_json(&env, "1.25").await;
    assert!(!checks(&fixed).iter().any(|c| c.0 == "removed-api"), "{fixed}");
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_with_hosts_reports_the_legacy_repository_and_unreachable_nodes() {
    let mut scenario = Scenario::small().with_version(KubeVersion::new(1, 28, 15));
    scenario.container_runtime = "containerd://1.7.20".to_owned();
    let env = Env::start(scenario).await;
    let hosts = env.write_hosts_file();
    let legacy = |plan: &Value| checks(plan).iter().filter(|c| c.0 == "legacy-repository").count();
    // Without hosts data the repository is unknown; with it, every node is on the legacy one.
    let (_, without) = plan_json(&env, "1.29").await;
    assert_eq!(legacy(&without), 0, "{without}");
    let hosts_arg = hosts.display().to_string();
    let (code, json, stderr) =
        env.run(&["plan", "--to", "1.29", "--date", "2026-11-25", "-o", "json", "--hosts", &hosts_arg]).await;
    let with: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}\n{stderr}"));
    assert_eq!(legacy(&with), 3, "{with}");
    assert_ne!(code, 3, "the legacy repository is a warning (kubeladder switches it), not a blocker: {with}");
    // A node that cannot be reached is a blocker.
    let broken = std::fs::read_to_string(&hosts).unwrap().replace(
        "  - node: worker-2\n",
        "  - node: worker-2\n    transport: ssh\n    port: 1\n    known_hosts: /dev/null\n",
    );
    let broken = broken.replacen("    address: 127.0.1.3\n", "    address: 127.0.0.1\n", 1);
    std::fs::write(&hosts, broken).unwrap();
    let (code, json, _) =
        env.run(&["plan", "--to", "1.29", "--date", "2026-11-25", "-o", "json", "--hosts", &hosts_arg]).await;
    assert_eq!(code, 3);
    let blocked: Value = serde_json::from_str(&json).unwrap();
    assert!(checks(&blocked).iter().any(|c| c.0 == "node-unreachable"), "{blocked}");
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroup_v1_hosts_block_the_hop_into_1_35_when_the_hosts_are_asked() {
    for cgroup_v1 in [true, false] {
        let mut scenario = Scenario::small().with_version(KubeVersion::new(1, 34, 11));
        scenario.cgroup_v1 = cgroup_v1;
        let env = Env::start(scenario).await;
        let hosts = env.write_hosts_file();
        let cgroup = |plan: &Value| -> Vec<String> {
            checks(plan).into_iter().filter(|c| c.0 == "cgroup-v1" && c.1 == "BLOCKER").map(|c| c.2).collect()
        };
        // The API does not tell the cgroup version: without hosts data nothing is claimed.
        let (_, without) = plan_json(&env, "1.35").await;
        assert!(cgroup(&without).is_empty(), "{:?}", checks(&without));
        let hosts_arg = hosts.display().to_string();
        let (code, json, stderr) =
            env.run(&["plan", "--to", "1.35", "--date", "2026-11-25", "-o", "json", "--hosts", &hosts_arg]).await;
        let with: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}\n{stderr}"));
        if cgroup_v1 {
            assert_eq!(code, 3, "{with}");
            assert_eq!(cgroup(&with), ["cp-1", "worker-1", "worker-2"], "{:?}", checks(&with));
        } else {
            assert!(cgroup(&with).is_empty(), "{:?}", checks(&with));
        }
        env.sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_v1beta1_budget_covers_no_pod_and_blocks_no_plan_while_an_empty_v1_one_does() {
    // 1.21 serves both policy versions: an empty selector means "no pod" in v1beta1 and
    // "every pod of the namespace" in v1 (stored with upstream's marker selector).
    let mut scenario = Scenario::small().with_version(KubeVersion::new(1, 21, 14));
    scenario.container_runtime = "containerd://1.6.20".to_owned();
    let env = Env::start(scenario).await;
    let budget = |version: &str, name: &str| {
        format!(
            "apiVersion: policy/{version}\nkind: PodDisruptionBudget\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  maxUnavailable: 0\n  selector: {{}}\n"
        )
    };
    let write = |name: &str, text: String| {
        let path = env.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let beta = write("beta.yaml", budget("v1beta1", "none"));
    env.kubectl(&["create", "--validate=false", "-f", beta.to_str().unwrap()]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, plan) = plan_json(&env, "1.22").await;
    assert!(!checks(&plan).iter().any(|c| c.2 == "default/none"), "{plan}");
    let v1 = write("v1.yaml", budget("v1", "all"));
    env.kubectl(&["create", "--validate=false", "-f", v1.to_str().unwrap()]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, plan) = plan_json(&env, "1.22").await;
    assert_eq!(code, 3, "{plan}");
    assert!(checks(&plan).contains(&("budget-blocks".to_owned(), "BLOCKER".to_owned(), "default/all".to_owned())));
    assert!(!checks(&plan).iter().any(|c| c.2 == "default/none"), "{plan}");
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_lists_the_pods_that_stop_a_drain_with_the_flag_that_allows_them() {
    let env = Env::start(Scenario::ha()).await;
    let drain_refusals = |v: &Value| -> Vec<(String, String, String)> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "drain-refused")
            .map(|f| {
                assert_eq!(f["severity"], "BLOCKER", "{f}");
                (
                    f["subject"].as_str().unwrap().to_owned(),
                    f["message"].as_str().unwrap().to_owned(),
                    f["fix"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let base = ["plan", "--to", "1.19", "--date", "2026-11-25", "-o", "json"];
    let (code, json, stderr) = env.run(&base).await;
    assert_eq!(code, 3, "{stderr}");
    let found = drain_refusals(&serde_json::from_str(&json).unwrap());
    assert!(
        found
            .iter()
            .any(|(_, m, fix)| m.contains("no controller") && m.contains("shop/debug") && fix.contains("--force")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(_, m, fix)| m.contains("local storage")
            && m.contains("shop/cache-")
            && fix.contains("--delete-emptydir-data")),
        "{found:?}"
    );
    let (_, json, _) = env.run(&[&base[..], &["--delete-emptydir-data"]].concat()).await;
    let found = drain_refusals(&serde_json::from_str(&json).unwrap());
    assert!(found.iter().all(|(_, m, _)| m.contains("no controller")) && !found.is_empty(), "{found:?}");
    let (_, json, _) = env.run(&[&base[..], &["--delete-emptydir-data", "--force"]].concat()).await;
    assert!(drain_refusals(&serde_json::from_str(&json).unwrap()).is_empty());
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cri_dockerd_node_is_not_a_docker_blocker() {
    let env = Env::start(Scenario::small().with_version(KubeVersion::new(1, 23, 17))).await;
    // Every node on Docker: dockershim (kubeadm's socket annotation as `kubeadm init` writes
    // it before 1.24) except worker-2, moved to cri-dockerd (the runtime still says docker://).
    for node in ["cp-1", "worker-1", "worker-2"] {
        let patch = r#"{"status":{"nodeInfo":{"containerRuntimeVersion":"docker://20.10.7"}}}"#;
        env.kubectl(&["patch", "node", node, "--subresource=status", "--type=merge", "-p", patch]).await;
        env.kubectl(&[
            "annotate",
            "--overwrite",
            "node",
            node,
            "kubeadm.alpha.kubernetes.io/cri-socket=/var/run/dockershim.sock",
        ])
        .await;
    }
    env.kubectl(&[
        "annotate",
        "--overwrite",
        "node",
        "worker-2",
        "kubeadm.alpha.kubernetes.io/cri-socket=unix:///var/run/cri-dockerd.sock",
    ])
    .await;
    let (code, plan) = plan_json(&env, "1.24").await;
    assert_eq!(code, 3);
    let docker: Vec<String> = checks(&plan).into_iter().filter(|c| c.0 == "docker-runtime").map(|c| c.2).collect();
    assert_eq!(docker, ["cp-1", "worker-1"]);
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_with_hosts_warns_about_a_sandbox_image_kubeadm_does_not_use() {
    use kubeladder_core::package::PackageManager;
    use kubeladder_node::ops::NodeOp;
    let mut scenario = Scenario::small().with_version(KubeVersion::new(1, 28, 15));
    scenario.container_runtime = "containerd://1.7.20".to_owned();
    let env = Env::start(scenario).await;
    let hosts = env.write_hosts_file();
    let hosts_arg = hosts.display().to_string();
    let pause = kubeladder_core::release::ReleaseData::embedded()
        .unwrap()
        .get(kubeladder_core::Minor::new(1, 29))
        .unwrap()
        .pause
        .clone();
    let write_config = |image: String| {
        let config = format!("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"{image}\"\n");
        let op = NodeOp::WriteFile { path: "/etc/containerd/config.toml".to_owned(), contents: config, mode: 0o644 };
        op.render(PackageManager::Apt).remove(0)
    };
    let sandbox = |plan: &Value| -> Vec<Value> {
        plan["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "sandbox-image").cloned().collect()
    };
    let out = env.sim.exec("worker-1", &write_config("registry.k8s.io/pause:3.6".to_owned())).await.unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    let args = ["plan", "--to", "1.29", "--date", "2026-11-25", "-o", "json", "--hosts", &hosts_arg];
    let (_, json, stderr) = env.run(&args).await;
    let plan: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}\n{stderr}"));
    let found = sandbox(&plan);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0]["subject"].as_str(), found[0]["severity"].as_str()), (Some("worker-1"), Some("WARNING")));
    assert!(found[0]["fix"].as_str().unwrap().contains(&format!("registry.k8s.io/pause:{pause}")), "{found:?}");
    // Configured as kubeadm expects: no warning.
    let out = env.sim.exec("worker-1", &write_config(format!("registry.k8s.io/pause:{pause}"))).await.unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    let (_, json, _) = env.run(&args).await;
    assert!(sandbox(&serde_json::from_str(&json).unwrap()).is_empty(), "{json}");
    env.sim.shutdown().await;
}
