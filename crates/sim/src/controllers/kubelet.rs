//! A kubelet per node: starts bound pods (Pending -> Running -> Ready after the configured
//! delays), gives them IPs, and finishes terminating pods after their grace period.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::Controllers;
use crate::model;
use crate::model::running_conditions;
use crate::resources::{NODES, PODS};
use crate::store::{StoreInner, name_of, namespace_of, uid_of};
use crate::util::{content_hash, get_path, object_entry, str_at};

enum Step {
    Remove,
    Start,
    Run,
    Ready,
}

#[allow(clippy::too_many_lines)]
pub(super) fn run(ctl: &mut Controllers, inner: &mut StoreInner, instant: bool) {
    let now_secs = inner.clock().elapsed_secs();
    let timings = ctl.timings;
    let mut steps: Vec<(String, String, String, Step)> = Vec::new();
    let nodes: HashSet<&str> = inner.list(NODES, None).map(name_of).collect();
    for pod in inner.list(PODS, None) {
        let node = model::node_name(pod);
        if node.is_empty() {
            continue;
        }
        let terminating = model::is_terminating(pod) || !nodes.contains(node);
        let running = model::pod_phase(pod) == "Running";
        let settled = model::is_mirror_pod(pod) || model::pod_finished(pod) || (running && model::is_ready(pod));
        if !terminating && settled {
            continue;
        }
        let uid = uid_of(pod).to_owned();
        let key = (namespace_of(pod).to_owned(), name_of(pod).to_owned(), uid.clone());
        if terminating {
            let grace = get_path(pod, "metadata.deletionGracePeriodSeconds").and_then(Value::as_f64).unwrap_or(30.0);
            let due = *ctl.terminating.entry(uid).or_insert(now_secs + timings.pod_termination_secs.min(grace));
            if instant || now_secs >= due {
                steps.push((key.0, key.1, key.2, Step::Remove));
            } else {
                ctl.due(due);
            }
            continue;
        }
        let Some(&started) = ctl.started.get(&uid) else {
            if instant && !inner.faults.pod_never_ready(&key.0, &key.1) {
                ctl.started.insert(uid, now_secs);
                steps.push((key.0, key.1, key.2, Step::Ready));
            } else {
                steps.push((key.0, key.1, key.2, Step::Start));
            }
            continue;
        };
        let run_at = started + timings.pod_start_secs;
        let ready_at = run_at + timings.pod_ready_secs;
        if !running {
            if instant || now_secs >= run_at {
                steps.push((key.0, key.1, key.2, Step::Run));
            } else {
                ctl.due(run_at);
            }
        } else if inner.faults.pod_never_ready(&key.0, &key.1) {
            // A fault keeps it Running but not Ready.
        } else if instant || now_secs >= ready_at {
            steps.push((key.0, key.1, key.2, Step::Ready));
        } else {
            ctl.due(ready_at);
        }
    }
    let now = inner.clock().now_rfc3339();
    for (namespace, name, uid, step) in steps {
        match step {
            Step::Remove => {
                ctl.terminating.remove(&uid);
                ctl.started.remove(&uid);
                inner.delete(PODS, &namespace, &name);
            }
            Step::Start => {
                ctl.started.insert(uid, now_secs);
                ctl.due(now_secs + timings.pod_start_secs);
                let node_ip = inner
                    .get(PODS, &namespace, &name)
                    .and_then(|p| inner.get(NODES, "", model::node_name(p)))
                    .map(|n| model::internal_ip(n).to_owned())
                    .unwrap_or_default();
                let now = now.clone();
                inner.modify(PODS, &namespace, &name, |pod| {
                    let waiting: Vec<Value> = container_names(pod)
                        .iter()
                        .map(|(n, image)| {
                            json!({"name": n, "image": image, "imageID": "", "ready": false, "started": false,
                                   "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}})
                        })
                        .collect();
                    let status = object_entry(pod, "status");
                    status.insert("phase".to_owned(), json!("Pending"));
                    status.insert("hostIP".to_owned(), json!(node_ip));
                    status.insert("startTime".to_owned(), json!(now));
                    status.insert("conditions".to_owned(), running_conditions(&now, false));
                    status.insert("containerStatuses".to_owned(), Value::Array(waiting));
                    status.entry("qosClass").or_insert_with(|| json!("Burstable"));
                });
            }
            Step::Run | Step::Ready => {
                let ready = matches!(step, Step::Ready);
                let Some(pod) = inner.get(PODS, &namespace, &name) else { continue };
                let node = model::node_name(pod).to_owned();
                let host_network = get_path(pod, "spec.hostNetwork").and_then(Value::as_bool) == Some(true);
                let existing_ip = str_at(pod, "status.podIP").to_owned();
                let host_ip = inner.get(NODES, "", &node).map(|n| model::internal_ip(n).to_owned()).unwrap_or_default();
                let ip = if host_network {
                    host_ip.clone()
                } else if existing_ip.is_empty() {
                    let index = inner
                        .get(NODES, "", &node)
                        .map(|n| str_at(n, "spec.podCIDR").split('.').nth(2).unwrap_or("0").to_owned())
                        .unwrap_or_default();
                    let counter = ctl.next_ip.entry(node.clone()).or_insert(1);
                    *counter = counter.wrapping_add(1).max(2) % 254;
                    format!("10.244.{index}.{}", (*counter).max(2))
                } else {
                    existing_ip
                };
                if !ready {
                    ctl.due(now_secs + timings.pod_ready_secs);
                }
                if str_at(pod_labels_of(inner, &namespace, &name), "k8s-app") == "kube-proxy" {
                    report_kube_proxy(inner, &namespace, &name, &node);
                }
                let now = now.clone();
                inner.modify(PODS, &namespace, &name, |pod| {
                    let running: Vec<Value> = container_names(pod)
                        .iter()
                        .map(|(n, image)| {
                            json!({"name": n, "image": image, "imageID": format!("docker-pullable://{image}"),
                                   "ready": ready, "started": true, "restartCount": 0,
                                   "containerID": format!("docker://{}", content_hash(&format!("{n}{now}"))),
                                   "state": {"running": {"startedAt": now}}})
                        })
                        .collect();
                    let status = object_entry(pod, "status");
                    status.insert("phase".to_owned(), json!("Running"));
                    status.entry("startTime").or_insert_with(|| json!(now));
                    status.insert("hostIP".to_owned(), json!(host_ip));
                    status.insert("podIP".to_owned(), json!(ip));
                    status.insert("podIPs".to_owned(), json!([{"ip": ip}]));
                    status.insert("conditions".to_owned(), running_conditions(&now, ready));
                    status.insert("containerStatuses".to_owned(), Value::Array(running));
                });
            }
        }
    }
}

fn container_names(pod: &Value) -> Vec<(String, String)> {
    get_path(pod, "spec.containers")
        .and_then(Value::as_array)
        .map(|c| c.iter().map(|x| (str_at(x, "name").to_owned(), str_at(x, "image").to_owned())).collect())
        .unwrap_or_default()
}

fn pod_labels_of<'a>(inner: &'a StoreInner, namespace: &str, name: &str) -> &'a Value {
    inner.get(PODS, namespace, name).and_then(|p| get_path(p, "metadata.labels")).unwrap_or(&Value::Null)
}

/// The node reports the version of the kube-proxy running on it (`status.nodeInfo.kubeProxyVersion`).
fn report_kube_proxy(inner: &mut StoreInner, namespace: &str, name: &str, node: &str) {
    let Some(version) = inner
        .get(PODS, namespace, name)
        .and_then(|p| container_names(p).first().map(|(_, image)| image.clone()))
        .and_then(|image| kubeladder_core::image::tag(&image).map(str::to_owned))
    else {
        return;
    };
    if inner.get(NODES, "", node).is_some_and(|n| str_at(n, "status.nodeInfo.kubeProxyVersion") != version) {
        inner.modify(NODES, "", node, |n| {
            let info = object_entry(n, "status").entry("nodeInfo").or_insert_with(|| json!({}));
            info["kubeProxyVersion"] = json!(version);
        });
    }
}
