#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real kubectl against the simulated cluster: discovery, tables, writes, watch.

mod common;

use std::time::Duration;

use common::{Env, kubectls, newest_and_oldest, rows};
use kubeladder_sim::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_version_reports_the_apiserver_version() {
    let env = Env::start(Scenario::small()).await;
    for (_, kubectl) in kubectls() {
        let out = env.kubectl(&kubectl, &["version", "-o", "json"]).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let parsed: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(parsed["serverVersion"]["gitVersion"], "v1.18.20", "{}", kubectl.display());
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_nodes_shows_roles_status_and_versions() {
    let env = Env::start(Scenario::small()).await;
    for (_, kubectl) in newest_and_oldest() {
        let table = env.ok(&kubectl, &["get", "nodes"]).await;
        let rows = rows(&table);
        assert_eq!(rows[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"], "{table}");
        assert_eq!(rows.len(), 4, "{table}");
        assert_eq!(rows[1][0], "cp-1");
        assert_eq!(rows[1][1], "Ready");
        assert_eq!(rows[1][2], "master");
        assert_eq!(rows[1][4], "v1.18.20");
        assert_eq!(rows[2][2], "<none>");
        let wide = env.ok(&kubectl, &["get", "nodes", "-o", "wide"]).await;
        assert!(wide.lines().next().unwrap().contains("INTERNAL-IP   EXTERNAL-IP   OS-IMAGE"), "{wide}");
        assert!(wide.contains("127.0.1.1") && wide.contains("docker://19.3.15"), "{wide}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_pods_all_namespaces_wide() {
    let env = Env::start(Scenario::ha()).await;
    for (_, kubectl) in newest_and_oldest() {
        let table = env.ok(&kubectl, &["get", "pods", "-A", "-o", "wide"]).await;
        let header = table.lines().next().unwrap();
        for column in [
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
        ] {
            assert!(header.contains(column), "{column} missing: {header}");
        }
        assert!(table.contains("kube-apiserver-cp-1"), "{table}");
        assert!(table.contains("etcd-cp-3"), "{table}");
        let running = rows(&table).iter().skip(1).filter(|r| r[3] == "Running" && r[2] == "1/1").count();
        assert!(running >= 30, "expected a running cluster: {table}");
        let by_label = env
            .ok(&kubectl, &["get", "pods", "-n", "kube-system", "-l", "component=kube-apiserver,tier=control-plane"])
            .await;
        assert_eq!(rows(&by_label).len(), 4, "{by_label}");
        let on_node =
            env.ok(&kubectl, &["get", "pods", "-A", "--field-selector", "spec.nodeName=worker-1", "-o", "name"]).await;
        assert!(on_node.contains("pod/kube-proxy-"), "{on_node}");
        let chunked = env.ok(&kubectl, &["get", "pods", "-A", "--chunk-size=3", "-o", "name"]).await;
        assert_eq!(chunked.lines().count(), rows(&table).len() - 1, "{chunked}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_pdb_shows_budget_columns() {
    let env = Env::start(Scenario::ha()).await;
    for (_, kubectl) in newest_and_oldest() {
        let table = env.ok(&kubectl, &["get", "pdb", "-A"]).await;
        let rows = rows(&table);
        assert_eq!(
            rows[0],
            ["NAMESPACE", "NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"],
            "{table}"
        );
        let web = rows.iter().find(|r| r[1] == "web").unwrap();
        assert_eq!(&web[2..5], ["4", "N/A", "2"], "{table}");
        let api = rows.iter().find(|r| r[1] == "api").unwrap();
        assert_eq!(&api[2..5], ["N/A", "1", "1"], "{table}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_cordon_and_uncordon() {
    let env = Env::start(Scenario::small()).await;
    for (_, kubectl) in newest_and_oldest() {
        let out = env.ok(&kubectl, &["cordon", "worker-1"]).await;
        assert!(out.contains("node/worker-1 cordoned"), "{out}");
        let node = env.sim.store().get("nodes", "", "worker-1").unwrap();
        assert_eq!(node["spec"]["unschedulable"], true);
        let table = env.ok(&kubectl, &["get", "node", "worker-1"]).await;
        assert!(table.contains("Ready,SchedulingDisabled"), "{table}");
        let out = env.ok(&kubectl, &["uncordon", "worker-1"]).await;
        assert!(out.contains("node/worker-1 uncordoned"), "{out}");
        let node = env.sim.store().get("nodes", "", "worker-1").unwrap();
        assert_ne!(node["spec"]["unschedulable"], true);
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_patch_node_status_subresource() {
    let env = Env::start(Scenario::small()).await;
    for (minor, kubectl) in newest_and_oldest() {
        if minor < 24 {
            continue;
        }
        let patch = r#"{"status":{"nodeInfo":{"kubeletVersion":"v1.19.16"}}}"#;
        let out =
            env.ok(&kubectl, &["patch", "node", "worker-2", "--subresource=status", "--type=merge", "-p", patch]).await;
        assert!(out.contains("node/worker-2 patched"), "{out}");
        let table = env.ok(&kubectl, &["get", "node", "worker-2"]).await;
        assert!(table.contains("v1.19.16"), "{table}");
        // The main resource ignores status changes.
        let ignored = r#"{"status":{"nodeInfo":{"kubeletVersion":"v9.9.9"}}}"#;
        env.ok(&kubectl, &["patch", "node", "worker-2", "--type=merge", "-p", ignored]).await;
        let node = env.sim.store().get("nodes", "", "worker-2").unwrap();
        assert_eq!(node["status"]["nodeInfo"]["kubeletVersion"], "v1.19.16");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_secret_generic() {
    let env = Env::start(Scenario::small()).await;
    for (minor, kubectl) in newest_and_oldest() {
        let name = format!("creds-{minor}");
        let out = env
            .ok(&kubectl, &["create", "secret", "generic", &name, "--from-literal=user=admin", "-n", "kube-system"])
            .await;
        assert!(out.contains(&format!("secret/{name} created")), "{out}");
        let secret = env.sim.store().get("secrets", "kube-system", &name).unwrap();
        assert_eq!(secret["data"]["user"], "YWRtaW4=");
        let again = env
            .kubectl(&kubectl, &["create", "secret", "generic", &name, "--from-literal=a=b", "-n", "kube-system"])
            .await;
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{again:?}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_nodes_watch_receives_an_update() {
    let env = Env::start(Scenario::small()).await;
    for (_, kubectl) in newest_and_oldest() {
        let mut child = tokio::process::Command::new(&kubectl)
            .args(["get", "nodes", "--watch", "--request-timeout=20s"])
            .env_clear()
            .env("HOME", env.home.path())
            .env("KUBECONFIG", env.kubeconfig())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        let seen = tokio::time::timeout(Duration::from_secs(30), async {
            let mut seen = Vec::new();
            let mut cordoned = false;
            while let Ok(Some(line)) = lines.next_line().await {
                seen.push(line.clone());
                if !cordoned && seen.len() >= 4 {
                    cordoned = true;
                    env.ok(&kubectl, &["cordon", "worker-2"]).await;
                }
                if line.contains("worker-2") && line.contains("SchedulingDisabled") {
                    break;
                }
            }
            seen
        })
        .await
        .expect("the watch shows the cordon in time");
        assert!(seen.last().unwrap().contains("SchedulingDisabled"), "{seen:?}");
        child.kill().await.ok();
        env.ok(&kubectl, &["uncordon", "worker-2"]).await;
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reads_workloads_discovery_and_descriptions() {
    let env = Env::start(Scenario::ha()).await;
    for (_, kubectl) in newest_and_oldest() {
        let workloads = env.ok(&kubectl, &["get", "deploy,ds,sts", "-A"]).await;
        assert!(
            workloads.contains("coredns") && workloads.contains("kube-proxy") && workloads.contains("db"),
            "{workloads}"
        );
        let raw = env.ok(&kubectl, &["get", "--raw", "/api/v1"]).await;
        assert!(raw.contains("\"pods/eviction\"") && raw.contains("\"nodes/status\""), "{raw}");
        let resources = env.ok(&kubectl, &["api-resources"]).await;
        assert!(resources.contains("poddisruptionbudgets") && resources.contains("leases"), "{resources}");
        let described = env.ok(&kubectl, &["describe", "node", "worker-1"]).await;
        assert!(described.contains("Kubelet Version:") && described.contains("v1.18.20"), "{described}");
        let cm = env
            .ok(
                &kubectl,
                &["get", "cm", "kubeadm-config", "-n", "kube-system", "-o", "jsonpath={.data.ClusterConfiguration}"],
            )
            .await;
        assert!(cm.contains("kubernetesVersion: v1.18.20"), "{cm}");
        let unauthorized = tokio::process::Command::new(&kubectl)
            .args(["get", "nodes", "--token=wrong"])
            .env_clear()
            .env("HOME", env.home.path())
            .env("KUBECONFIG", env.kubeconfig())
            .output()
            .await
            .unwrap();
        assert!(!unauthorized.status.success());
        assert!(String::from_utf8_lossy(&unauthorized.stderr).contains("Unauthorized"), "{unauthorized:?}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_follows_the_first_apiserver_mirror_pod() {
    let env = Env::start(Scenario::small()).await;
    let Some((_, kubectl)) = newest_and_oldest().into_iter().next() else { return };
    env.sim.store().lock().modify("pods", "kube-system", "kube-apiserver-cp-1", |pod| {
        pod["spec"]["containers"][0]["image"] = serde_json::json!("k8s.gcr.io/kube-apiserver:v1.19.16");
    });
    let out = env.ok(&kubectl, &["version", "-o", "json"]).await;
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["serverVersion"]["gitVersion"], "v1.19.16");
    assert_eq!(parsed["serverVersion"]["minor"], "19");
    env.shutdown().await;
}
