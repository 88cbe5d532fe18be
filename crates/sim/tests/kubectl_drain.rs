#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real `kubectl drain` against the simulated ha cluster: evictions, budgets, controllers.

mod common;

use std::time::Duration;

use common::{Env, eventually, newest_and_oldest};
use kubeladder_sim::{Scenario, model};
use serde_json::Value;

fn pods_on(env: &Env, node: &str) -> Vec<Value> {
    env.sim.store().list("pods", None).into_iter().filter(|p| model::node_name(p) == node).collect()
}

fn healthy_web_pods(env: &Env) -> usize {
    env.sim
        .store()
        .list("pods", Some("shop"))
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "web" && model::pod_healthy(p))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_drain_evicts_and_pods_come_back_elsewhere() {
    for (minor, kubectl) in newest_and_oldest() {
        let env = Env::start(Scenario::ha()).await;
        let node = "worker-1";
        let before: Vec<String> = pods_on(&env, node)
            .iter()
            .filter(|p| model::controller_of(p).is_none_or(|(kind, _, _)| kind != "DaemonSet"))
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(!before.is_empty(), "worker-1 should run workload pods");
        let out = env
            .kubectl_timeout(
                &kubectl,
                &["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout", "90s"],
                Duration::from_secs(120),
            )
            .await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl 1.{minor} drain failed: {stderr}\n{stdout}");
        assert!(stdout.contains(&format!("node/{node} drained")), "{stdout}");
        assert!(stdout.contains("evicted"), "{stdout}");
        // Only DaemonSet pods remain on the node.
        let left: Vec<Value> = pods_on(&env, node);
        assert!(left.iter().all(|p| model::controller_of(p).is_some_and(|(k, _, _)| k == "DaemonSet")), "{left:?}");
        // Replacements run elsewhere, and the workloads are whole again.
        eventually("web back to 6 healthy pods", Duration::from_secs(20), || healthy_web_pods(&env) == 6).await;
        eventually("db back to 3 healthy pods", Duration::from_secs(20), || {
            env.sim
                .store()
                .list("pods", Some("shop"))
                .iter()
                .filter(|p| p["metadata"]["labels"]["app"] == "db" && model::pod_healthy(p))
                .count()
                == 3
        })
        .await;
        for pod in env.sim.store().list("pods", Some("shop")) {
            assert_ne!(model::node_name(&pod), node, "nothing new lands on a cordoned node");
        }
        // The bare pod is gone for good (that is what --force accepts).
        assert!(before.iter().all(|n| n != "debug") || env.sim.store().get("pods", "shop", "debug").is_none());
        let table = env.ok(&kubectl, &["get", "node", node]).await;
        assert!(table.contains("SchedulingDisabled"), "{table}");
        env.ok(&kubectl, &["uncordon", node]).await;
        env.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_drain_blocked_by_a_budget_times_out() {
    let Some((_, kubectl)) = newest_and_oldest().into_iter().next() else { return };
    let env = Env::start(Scenario::ha()).await;
    let patch = r#"{"spec":{"minAvailable":null,"maxUnavailable":0}}"#;
    env.ok(&kubectl, &["patch", "pdb", "web", "-n", "shop", "--type=merge", "-p", patch]).await;
    eventually("the budget allows nothing", Duration::from_secs(10), || {
        env.sim.store().get("poddisruptionbudgets.policy", "shop", "web").unwrap()["status"]["disruptionsAllowed"] == 0
    })
    .await;
    let node = pods_on(&env, "")
        .is_empty()
        .then(|| {
            env.sim
                .store()
                .list("pods", Some("shop"))
                .into_iter()
                .find(|p| p["metadata"]["labels"]["app"] == "web")
                .map(|p| model::node_name(&p).to_owned())
        })
        .flatten()
        .unwrap();
    let out = env
        .kubectl_timeout(
            &kubectl,
            &["drain", &node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout", "5s"],
            Duration::from_secs(60),
        )
        .await;
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("Cannot evict pod as it would violate the pod's disruption budget"), "{all}");
    assert!(all.contains("global timeout reached: 5s"), "{all}");
    assert_eq!(healthy_web_pods(&env), 6, "the budget kept every web pod");

    // The 429 names the budget in its causes, as the real apiserver does.
    let web_pod = env
        .sim
        .store()
        .list("pods", Some("shop"))
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "web")
        .unwrap();
    let name = web_pod["metadata"]["name"].as_str().unwrap().to_owned();
    let err = kubeladder_sim::lifecycle::evict(&mut env.sim.store().lock(), "shop", &name, None).unwrap_err();
    assert_eq!(err.code, 429);
    let status = err.to_status();
    let cause = status["details"]["causes"][0]["message"].as_str().unwrap();
    assert!(cause.contains("The disruption budget web needs 6 healthy pods and has 6 currently"), "{cause}");
    // Two budgets over one pod: 500; a missing pod: 404.
    // A 1.18 apiserver serves budgets only as policy/v1beta1: `kubectl create pdb` (policy/v1)
    // finds nothing to post to.
    let refused = env
        .kubectl(&kubectl, &["create", "pdb", "web-2", "-n", "shop", "--selector=app=web", "--min-available=1"])
        .await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the server could not find the requested resource"));
    env.create(&kubectl, "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web-2\n  namespace: shop\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: web\n").await;
    let err = kubeladder_sim::lifecycle::evict(&mut env.sim.store().lock(), "shop", &name, None).unwrap_err();
    assert_eq!(err.code, 500);
    let err = kubeladder_sim::lifecycle::evict(&mut env.sim.store().lock(), "shop", "nope", None).unwrap_err();
    assert_eq!(err.code, 404);
    env.shutdown().await;
}
