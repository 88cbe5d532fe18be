#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A kube-rs client lists, watches, patches and evicts against the simulated cluster.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use kubeladder_sim::{Scenario, SimCluster, SimConfig, Timings};

async fn client(sim: &kubeladder_sim::RunningSim) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    // kube-rs retries 429 by itself unless told not to; the test wants to see each answer.
    config.default_retry = false;
    Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_lists_watches_patches_and_evicts() {
    let config = SimConfig {
        speed: 20.0,
        // Replacements take long to start, so the budget does not refill during the test.
        timings: Timings { pod_start_secs: 10_000.0, pod_ready_secs: 2.0, pod_termination_secs: 2.0 },
        ..SimConfig::new(Scenario::ha())
    };
    let sim = SimCluster::start(config).await.unwrap();
    let client = client(&sim).await;
    assert_eq!(client.apiserver_version().await.unwrap().git_version, "v1.18.20");

    let nodes: Api<Node> = Api::all(client.clone());
    let masters = nodes.list(&ListParams::default().labels("node-role.kubernetes.io/master")).await.unwrap();
    assert_eq!(masters.items.len(), 3);
    let page = nodes.list(&ListParams::default().limit(4)).await.unwrap();
    assert_eq!(page.items.len(), 4);
    let rest = nodes
        .list(&ListParams::default().limit(100).continue_token(page.metadata.continue_.as_deref().unwrap()))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 5);
    // Paging through every pod, across namespaces, serves each exactly once, in order, with
    // the remaining count the API server estimates.
    let pods: Api<Pod> = Api::all(client.clone());
    let all: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|p| format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any()))
        .collect();
    let mut paged = Vec::new();
    let mut params = ListParams::default().limit(7);
    for _ in 0..all.len() {
        let page = pods.list(&params).await.unwrap();
        paged.extend(page.items.iter().map(|p| format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => {
                assert_eq!(page.metadata.remaining_item_count, Some(i64::try_from(all.len() - paged.len()).unwrap()));
                params = params.continue_token(&token);
            }
            None => break,
        }
    }
    assert_eq!(paged, all);
    let kubelet = nodes.get("worker-3").await.unwrap().status.unwrap().node_info.unwrap().kubelet_version;
    assert_eq!(kubelet, "v1.18.20");

    // Watch from the list's resourceVersion and see a cordon.
    let rv = nodes.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream = nodes.watch(&WatchParams::default().timeout(20), &rv).await.unwrap().boxed();
    let cordon = Patch::Strategic(serde_json::json!({"spec": {"unschedulable": true}}));
    nodes.patch("worker-3", &PatchParams::default(), &cordon).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await.unwrap().unwrap().unwrap();
    match event {
        WatchEvent::Modified(node) => {
            assert_eq!(node.metadata.name.as_deref(), Some("worker-3"));
            assert_eq!(node.spec.unwrap().unschedulable, Some(true));
        }
        other => panic!("unexpected {other:?}"),
    }
    // A resourceVersion too old for the history is a 410 in the stream.
    let mut old = nodes.watch(&WatchParams::default().timeout(5), "1").await.unwrap().boxed();
    match tokio::time::timeout(Duration::from_secs(10), old.try_next()).await.unwrap().unwrap().unwrap() {
        WatchEvent::Error(err) => assert_eq!(err.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }

    // Evict a pod without a budget; a budgeted pod is refused with 429 once its budget is spent.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let web: Vec<Pod> = pods.list(&ListParams::default().labels("app=web")).await.unwrap().items;
    let mut evicted = 0;
    let mut refused = 0;
    for pod in &web {
        let params = EvictParams::default();
        let answer = pods.evict(pod.metadata.name.as_deref().unwrap(), &params);
        match tokio::time::timeout(Duration::from_secs(10), answer).await.expect("the eviction answers") {
            Ok(_) => evicted += 1,
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 429, "{status:?}");
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!((evicted, refused), (2, 4), "minAvailable 4 of 6 allows two evictions");
    let err = pods.evict("missing", &EvictParams::default()).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 404), "{err:?}");

    // Leases: optimistic concurrency.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let lease: Lease = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "kubeladder"}, "spec": {"holderIdentity": "a"}}),
    )
    .unwrap();
    let created = leases.create(&PostParams::default(), &lease).await.unwrap();
    let mut first = created.clone();
    first.spec.as_mut().unwrap().holder_identity = Some("b".to_owned());
    leases.replace("kubeladder", &PostParams::default(), &first).await.unwrap();
    let mut stale = created;
    stale.spec.as_mut().unwrap().holder_identity = Some("c".to_owned());
    let err = leases.replace("kubeladder", &PostParams::default(), &stale).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"), "{err:?}");

    let counts = sim.request_counts();
    assert!(
        counts.get(&("eviction".to_owned(), "pods (policy/v1beta1)".to_owned())).copied().unwrap_or(0) >= 7,
        "{counts:?}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_watch_gets_bookmarks_and_initial_events() {
    let config = SimConfig { bookmark_interval: Duration::from_millis(100), ..SimConfig::new(Scenario::small()) };
    let sim = SimCluster::start(config).await.unwrap();
    let client = client(&sim).await;
    let nodes: Api<Node> = Api::all(client);
    let rv = nodes.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream =
        nodes.watch(&WatchParams { bookmarks: true, ..WatchParams::default() }.timeout(10), &rv).await.unwrap().boxed();
    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await.unwrap().unwrap().unwrap();
    assert!(matches!(event, WatchEvent::Bookmark(ref b) if b.metadata.resource_version == rv), "{event:?}");
    // Streaming list: every node as ADDED, then the bookmark that marks the end.
    let mut streaming = nodes.watch(&WatchParams::streaming_lists().timeout(10), "").await.unwrap().boxed();
    let mut added = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), streaming.try_next()).await.unwrap().unwrap().unwrap() {
            WatchEvent::Added(_) => added += 1,
            WatchEvent::Bookmark(b) => {
                assert_eq!(b.metadata.annotations.get("k8s.io/initial-events-end").map(String::as_str), Some("true"));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(added, 3);
    sim.shutdown().await;
}
