//! kubeadm's static pod upgrade on one control-plane host, step by step as kubeadm does it:
//! new manifests written to `kubeadm-upgraded-manifests*`, then per component (etcd first
//! when its version changes, then kube-apiserver, kube-controller-manager,
//! kube-scheduler) the old manifest moved to `kubeadm-backup-manifests-<time>`, the new one
//! moved in, and a wait until the mirror pod carries the new hash and is Ready. On a
//! timeout every upgraded manifest (and etcd's data) is restored from the backups, unless
//! a fault says kubeadm was killed first. Also the cluster-level steps after it: the
//! `kubeadm-config` and kubelet-config ConfigMaps, node marks, and the addons.

use std::sync::Arc;

use kubeladder_core::kubeadm::StaticPod;
use kubeladder_core::{KubeVersion, Minor, image};
use serde_json::{Value, json};

use super::{CommandOutput, ETCD_DATA_DIR, KUBEADM_TMP_DIR, KUBELET_CONFIG, MANIFESTS_DIR, manifests};
use crate::model;
use crate::resources::{CONFIGMAPS, DAEMONSETS, DEPLOYMENTS, NODES};
use crate::scenario::{control_plane_marks, kubeadm_api_version, kubelet_config_name};
use crate::store::{Store, StoreInner, name_of};
use crate::util::{content_hash, str_at};

/// How the static pod upgrade runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpgradeOptions {
    pub etcd_upgrade: bool,
    pub renew_certificates: bool,
}

fn certificates(component: &str) -> &'static [&'static str] {
    match component {
        "etcd" => &["etcd-server", "etcd-peer", "etcd-healthcheck-client"],
        "kube-apiserver" => &["apiserver", "apiserver-kubelet-client", "front-proxy-client", "apiserver-etcd-client"],
        "kube-controller-manager" => &["controller-manager.conf"],
        _ => &["scheduler.conf"],
    }
}

/// `3.4.13-0` -> (3, 4, 13, 0), for ordering etcd image tags.
fn etcd_order(tag: &str) -> Vec<u64> {
    tag.trim_start_matches('v').split(['.', '-']).map(|p| p.parse().unwrap_or(0)).collect()
}

/// The mirror pod's name, config hash and readiness for a component on `node`.
fn mirror_state(inner: &StoreInner, node: &str, component: &str) -> Option<(String, String, bool)> {
    let mirror = inner.hosts.get(node)?.mirrors.get(&format!("{component}.yaml"))?.clone();
    let pod = inner.get(crate::resources::PODS, &mirror.namespace, &mirror.name)?;
    let hash = model::annotation(pod, "kubernetes.io/config.hash").unwrap_or_default().to_owned();
    Some((mirror.name, hash, model::is_ready(pod)))
}

enum Wait {
    Done,
    HashUnchanged,
    NotReady,
}

/// Wait (bounded by kubeadm's timeout in simulated time) until the component's mirror pod
/// carries `hash` and is Ready.
async fn wait_for(store: &Store, node: &str, component: &str, hash: &str) -> Wait {
    let (clock, timeout) = {
        let inner = store.lock();
        (inner.clock(), inner.hosts.timings.static_pod_timeout_secs)
    };
    let start = clock.elapsed_secs();
    let poll = 0.5_f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rounds = (timeout / poll).ceil().max(1.0) as u64 + 1;
    let mut hash_seen = false;
    for _ in 0..rounds {
        if let Some((_, current, ready)) = mirror_state(&store.lock(), node, component) {
            hash_seen |= current == hash;
            if current == hash && ready {
                return Wait::Done;
            }
        }
        if clock.elapsed_secs() - start >= timeout {
            break;
        }
        store.sleep(poll).await;
    }
    if hash_seen { Wait::NotReady } else { Wait::HashUnchanged }
}

/// Upgrade the static pods on `node` to `target`. Output goes to `out`; the error is
/// kubeadm's message (the caller adds its prefix).
#[allow(clippy::too_many_lines)]
pub(crate) async fn upgrade_static_pods(
    store: &Store,
    node: &str,
    target: KubeVersion,
    options: UpgradeOptions,
    out: &mut CommandOutput,
) -> Result<(), String> {
    let etcd_target = manifests::etcd_version(&target);
    let (backup_manifests, backup_etcd, upgraded, timeout) = {
        let mut inner = store.lock();
        let stamp = inner.clock().now().strftime("%Y-%m-%d-%H-%M-%S").to_string();
        let suffix: String = (0..9).map(|_| char::from(b'0' + (inner.rng.next_u64() % 10) as u8)).collect();
        let now = inner.clock().elapsed_secs();
        let timeout = inner.hosts.timings.static_pod_timeout_secs;
        let Some(host) = inner.hosts.get_mut(node) else { return Err(format!("no host {node}")) };
        let backup_manifests = format!("{KUBEADM_TMP_DIR}/kubeadm-backup-manifests-{stamp}");
        let backup_etcd = format!("{KUBEADM_TMP_DIR}/kubeadm-backup-etcd-{stamp}");
        let upgraded = format!("{KUBEADM_TMP_DIR}/kubeadm-upgraded-manifests{suffix}");
        let ip = host.address.clone();
        let made = host.files.mkdir_p(&upgraded).and_then(|()| host.files.mkdir_p(&backup_manifests));
        if let Err(err) = made {
            return Err(format!("failed to create a directory under {KUBEADM_TMP_DIR}: {}", err.text()));
        }
        for component in StaticPod::ALL.map(StaticPod::name) {
            let text = manifests::render(component, &ip, &target, &etcd_target);
            let _ = host.files.write(&format!("{upgraded}/{component}.yaml"), Arc::from(text), 0o600, now);
        }
        out.line(format!("[upgrade/staticpods] Writing new Static Pod manifests to \"{upgraded}\""));
        (backup_manifests, backup_etcd, upgraded, timeout)
    };
    let mut recovered: Vec<&str> = Vec::new();
    let mut etcd_upgraded = false;
    for component in StaticPod::ALL.map(StaticPod::name) {
        if component == "etcd" && !options.etcd_upgrade {
            continue;
        }
        let file = format!("{MANIFESTS_DIR}/{component}.yaml");
        let new_hash = {
            let mut inner = store.lock();
            let now = inner.clock().elapsed_secs();
            let old = mirror_state(&inner, node, component);
            let Some(host) = inner.hosts.get_mut(node) else { return Err(format!("no host {node}")) };
            let Some(current) = host.files.text(&file).map(str::to_owned) else {
                return Err(format!(
                    "failed to read the current manifest of {component}: open {file}: no such file or directory"
                ));
            };
            let Some(new) = host.files.text(&format!("{upgraded}/{component}.yaml")).map(str::to_owned) else {
                return Err(format!("the new manifest of {component} is missing from {upgraded}"));
            };
            if component == "etcd" {
                // kubeadm copies the etcd data before it compares versions, so every
                // `upgrade apply|node` of a stacked control plane leaves a backup, even when
                // etcd stays (kubernetes/kubernetes cmd/kubeadm/app/phases/upgrade/staticpods.go,
                // `performEtcdStaticPodUpgrade`: `CopyDir` before the version check).
                let backed_up = host
                    .files
                    .mkdir_p(&backup_etcd)
                    .and_then(|()| host.files.copy(ETCD_DATA_DIR, &format!("{backup_etcd}/etcd"), true, now));
                if let Err(err) = backed_up {
                    return Err(format!("failed to back up etcd data: {}", err.text()));
                }
                let (current_tag, new_tag) = (image::manifest_image(&current), image::manifest_image(&new));
                let (current_tag, new_tag) = (current_tag.and_then(|i| i.tag), new_tag.and_then(|i| i.tag));
                if let (Some(current_tag), Some(new_tag)) = (current_tag, new_tag) {
                    if etcd_order(new_tag) < etcd_order(current_tag) {
                        out.line(format!(
                                "[upgrade/etcd] Non fatal issue encountered during upgrade: the desired etcd version \"{new_tag}\" is older than the currently installed \"{current_tag}\". Skipping etcd upgrade"
                            ),
                        );
                        continue;
                    }
                    if new_tag == current_tag {
                        continue;
                    }
                }
            }
            if current == new {
                out.line(format!(
                    "[upgrade/staticpods] Current and new manifests of {component} are equal, skipping upgrade"
                ));
                continue;
            }
            if let Some((name, hash, _)) = &old {
                out.line(format!("Static pod: {name} hash: {hash}"));
            }
            out.line(format!("[upgrade/staticpods] Preparing for \"{component}\" upgrade"));
            if options.renew_certificates {
                for cert in certificates(component) {
                    out.line(format!("[upgrade/staticpods] Renewing {cert} certificate"));
                }
            }
            if component == "etcd" {
                etcd_upgraded = true;
            }
            let backup = format!("{backup_manifests}/{component}.yaml");
            let moved = host
                .files
                .rename(&file, &backup)
                .and_then(|()| host.files.rename(&format!("{upgraded}/{component}.yaml"), &file));
            if let Err(err) = moved {
                return Err(format!("failed to move the new manifest of {component} into place: {}", err.text()));
            }
            out.line(format!(
                "[upgrade/staticpods] Moved new manifest to \"{file}\" and backed up old manifest to \"{backup}\""
            ));
            out.line("[upgrade/staticpods] Waiting for the kubelet to restart the component");
            out.line(format!(
                    "[upgrade/staticpods] This might take a minute or longer depending on the component/version gap (timeout {})",
                    humanize(timeout)
                ),
            );
            content_hash(&new)
        };
        recovered.push(component);
        let outcome = wait_for(store, node, component, &new_hash).await;
        let reason = match outcome {
            Wait::Done => {
                let name = format!("{component}-{node}");
                out.line(format!("Static pod: {name} hash: {new_hash}"));
                out.line(format!("[apiclient] Found 1 Pods for label selector component={component}"));
                out.line(format!("[upgrade/staticpods] Component \"{component}\" upgraded successfully!"));
                if component == "etcd" {
                    out.line("[upgrade/etcd] Waiting for etcd to become available");
                }
                continue;
            }
            Wait::HashUnchanged => format!(
                "static Pod hash for component {component} on Node {node} did not change after {}: timed out waiting for the condition",
                humanize(timeout)
            ),
            Wait::NotReady => "timed out waiting for the condition".to_owned(),
        };
        let mut inner = store.lock();
        if inner.faults.skip_rollback(node, component) {
            return Err(format!(
                "couldn't upgrade control plane: {reason}; kubeadm was stopped before it could recover: the new manifests stay in {MANIFESTS_DIR}, the earlier ones in {backup_manifests}"
            ));
        }
        let now = inner.clock().elapsed_secs();
        if let Some(host) = inner.hosts.get_mut(node) {
            for done in &recovered {
                let backup = format!("{backup_manifests}/{done}.yaml");
                if host.files.is_file(&backup) {
                    let _ = host.files.rename(&backup, &format!("{MANIFESTS_DIR}/{done}.yaml"));
                }
            }
            if etcd_upgraded {
                let _ = host.files.remove(ETCD_DATA_DIR, true);
                let _ = host.files.copy(&format!("{backup_etcd}/etcd"), ETCD_DATA_DIR, true, now);
            }
            let _ = host.files.remove(&upgraded, true);
        }
        return Err(format!(
            "couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: {reason}"
        ));
    }
    if let Some(host) = store.lock().hosts.get_mut(node) {
        let _ = host.files.remove(&upgraded, true);
    }
    Ok(())
}

/// Go's duration printing for whole minutes and seconds (`5m0s`).
fn humanize(secs: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let total = secs.round().max(0.0) as u64;
    if total >= 60 { format!("{}m{}s", total / 60, total % 60) } else { format!("{total}s") }
}

/// `kubeadm-config`'s `kubernetesVersion` (what the cluster was last upgraded to).
pub(crate) fn config_version(inner: &StoreInner) -> Option<KubeVersion> {
    config_field(inner, "kubernetesVersion").and_then(|v| KubeVersion::parse(v).ok())
}

/// The version `/version` reports and the served API follows: the image tag of the first
/// kube-apiserver mirror pod (by name), else `kubeadm-config`'s `kubernetesVersion`.
pub(crate) fn apiserver_version(inner: &StoreInner) -> String {
    // An index lookup: every request asks (the served API surface follows this version).
    let mut apiservers: Vec<&Value> = inner
        .pods_labelled("component", StaticPod::KubeApiserver.name())
        .filter(|p| crate::store::namespace_of(p) == "kube-system")
        .collect();
    apiservers.sort_by_key(|p| name_of(p).to_owned());
    let running = apiservers.first().and_then(|p| image::tag(container_image(p))).map(str::to_owned);
    running
        .or_else(|| config_field(inner, "kubernetesVersion").map(str::to_owned))
        .unwrap_or_else(|| "v0.0.0".to_owned())
}

/// The image of a pod's first container (`""` when it has none).
fn container_image(pod: &Value) -> &str {
    crate::util::get_path(pod, "spec.containers")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .map(|c| str_at(c, "image"))
        .unwrap_or_default()
}

/// The API version `kubeadm-config`'s ClusterConfiguration is stored in.
pub(crate) fn config_api(inner: &StoreInner) -> Option<&str> {
    config_field(inner, "apiVersion")
}

/// A top-level `key: value` line of `kubeadm-config`'s ClusterConfiguration (the lines
/// `upload_config` rewrites), unquoted.
fn config_field<'a>(inner: &'a StoreInner, key: &str) -> Option<&'a str> {
    let cm = inner.get(CONFIGMAPS, "kube-system", "kubeadm-config")?;
    str_at(cm, "data.ClusterConfiguration")
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().trim_matches('"'))
}

/// kubeadm decodes the stored ClusterConfiguration first: a version this kubeadm no longer
/// knows is fatal, with kubeadm's own words.
pub(crate) fn decodable_config(inner: &StoreInner, kubeadm: &KubeVersion) -> Result<(), String> {
    let Some(api) = config_api(inner) else { return Ok(()) };
    let gone = kubeladder_core::release::ReleaseData::embedded().ok().and_then(|d| d.kubeadm_config_removed_in(api));
    match gone {
        Some(gone) if gone <= kubeadm.minor() => Err(format!(
            "unable to fetch the kubeadm-config ConfigMap: failed to decode cluster configuration data: no kind \"ClusterConfiguration\" is registered for version \"{api}\" in scheme \"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31\""
        )),
        _ => Ok(()),
    }
}

/// The version a running kube-apiserver mirror pod reports, from its image tag.
fn apiserver_versions(inner: &StoreInner) -> Vec<(String, Option<KubeVersion>)> {
    inner
        .pods_labelled("component", StaticPod::KubeApiserver.name())
        .filter(|p| model::is_mirror_pod(p))
        .map(|p| {
            let version = image::ImageRef::parse(container_image(p)).and_then(|i| i.version());
            (model::node_name(p).to_owned(), version)
        })
        .collect()
}

/// Store the new ClusterConfiguration (version, image repository, API version).
pub(crate) fn upload_config(inner: &mut StoreInner, target: &KubeVersion, out: &mut CommandOutput) {
    out.line("[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace",
    );
    let minor = target.minor();
    inner.modify(CONFIGMAPS, "kube-system", "kubeadm-config", |cm| {
        let text = str_at(cm, "data.ClusterConfiguration").to_owned();
        let updated: String = text
            .lines()
            .map(|l| {
                if l.starts_with("kubernetesVersion:") {
                    format!("kubernetesVersion: {target}\n")
                } else if l.starts_with("imageRepository:") {
                    format!("imageRepository: {}\n", manifests::registry(minor))
                } else if l.starts_with("apiVersion: kubeadm.k8s.io/") {
                    format!("apiVersion: {}\n", kubeadm_api_version(minor))
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        cm["data"]["ClusterConfiguration"] = json!(updated);
        if minor >= Minor::new(1, 22)
            && let Some(data) = cm.get_mut("data").and_then(Value::as_object_mut)
        {
            data.remove("ClusterStatus");
        }
    });
}

/// Make sure the kubelet-config ConfigMap for `version` exists (copying the newest one).
pub(crate) fn kubelet_config_map(inner: &mut StoreInner, version: &KubeVersion, out: &mut CommandOutput) {
    let name = kubelet_config_name(version.minor());
    out.line(format!(
            "[kubelet] Creating a ConfigMap \"{name}\" in namespace kube-system with the configuration for the kubelets in the cluster"
        ),
    );
    if inner.get(CONFIGMAPS, "kube-system", &name).is_some() {
        return;
    }
    let data = inner
        .list(CONFIGMAPS, Some("kube-system"))
        .filter(|cm| name_of(cm).starts_with("kubelet-config"))
        .last()
        .and_then(|cm| cm.get("data").cloned())
        .unwrap_or_else(|| json!({"kubelet": super::build::KUBELET_CONFIGURATION}));
    if let Some(def) = crate::resources::by_key(CONFIGMAPS) {
        let _ = inner.create(def, json!({"metadata": {"name": name, "namespace": "kube-system"}, "data": data}));
    }
}

/// Write `/var/lib/kubelet/config.yaml` on `node` from the kubelet-config ConfigMap of
/// `version`; the error is kubeadm's message when the ConfigMap is missing.
pub(crate) fn write_kubelet_config(
    inner: &mut StoreInner,
    node: &str,
    version: &KubeVersion,
    out: &mut CommandOutput,
) -> Result<(), String> {
    let name = kubelet_config_name(version.minor());
    let Some(text) = inner.get(CONFIGMAPS, "kube-system", &name).map(|cm| str_at(cm, "data.kubelet").to_owned()) else {
        return Err(format!("failed to download the kubelet configuration: configmaps \"{name}\" not found"));
    };
    let now = inner.clock().elapsed_secs();
    if let Some(host) = inner.hosts.get_mut(node) {
        let _ = host.files.write_all(KUBELET_CONFIG, Arc::from(text), 0o644, now);
    }
    out.line(format!("[kubelet-start] Writing kubelet configuration to file \"{KUBELET_CONFIG}\""));
    Ok(())
}

/// kubeadm's node-role labels and taints for `version` on every control-plane node.
pub(crate) fn mark_control_planes(inner: &mut StoreInner, version: &KubeVersion, out: &mut CommandOutput) {
    let (labels, taints) = control_plane_marks(version.minor());
    let role_keys = ["node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"];
    let control_planes: Vec<String> = inner
        .list(NODES, None)
        .filter(|n| model::labels(n).is_some_and(|l| role_keys.iter().any(|k| l.contains_key(*k))))
        .map(|n| name_of(n).to_owned())
        .collect();
    let mut changed = false;
    for node in control_planes {
        let before = inner.get(NODES, "", &node).map(crate::store::rv_of);
        inner.modify(NODES, "", &node, |obj| {
            if let Some(map) = obj.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
                for key in role_keys {
                    map.remove(key);
                }
                for key in &labels {
                    map.insert((*key).to_owned(), json!(""));
                }
            }
            let mut kept: Vec<Value> = obj
                .pointer("/spec/taints")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter(|t| !role_keys.contains(&str_at(t, "key"))).cloned().collect())
                .unwrap_or_default();
            for key in &taints {
                kept.push(json!({"key": key, "effect": "NoSchedule"}));
            }
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                if kept.is_empty() {
                    spec.remove("taints");
                } else {
                    spec.insert("taints".to_owned(), Value::Array(kept));
                }
            }
        });
        changed |= inner.get(NODES, "", &node).map(crate::store::rv_of) != before;
    }
    if changed {
        out.line(format!(
            "[upgrade/postupgrade] Updating the node-role labels and taints of control-plane nodes for {}",
            version.minor()
        ));
    }
}

/// Bump CoreDNS and kube-proxy to `version`'s images; from 1.28 only once every
/// kube-apiserver runs `version` (kubeadm's rule).
pub(crate) fn apply_addons(inner: &mut StoreInner, version: &KubeVersion, out: &mut CommandOutput) {
    if version.minor() >= Minor::new(1, 28) {
        let behind: Vec<String> = apiserver_versions(inner)
            .into_iter()
            .filter(|(_, v)| v.as_ref() != Some(version))
            .map(|(node, _)| node)
            .collect();
        if !behind.is_empty() {
            out.line(format!(
                "[upgrade/addons] skip upgrade addons because control plane instances [{}] have not been upgraded",
                behind.join(" ")
            ));
            return;
        }
    }
    let coredns = manifests::coredns_image(version);
    inner.modify(DEPLOYMENTS, "kube-system", "coredns", |d| set_image(d, "coredns", &coredns));
    out.line("[addons] Applied essential addon: CoreDNS");
    let proxy = manifests::kube_proxy_image(version);
    inner.modify(DAEMONSETS, "kube-system", "kube-proxy", |d| set_image(d, "kube-proxy", &proxy));
    out.line("[addons] Applied essential addon: kube-proxy");
}

fn set_image(obj: &mut Value, container: &str, image: &str) {
    if let Some(containers) = obj.pointer_mut("/spec/template/spec/containers").and_then(Value::as_array_mut) {
        for c in containers.iter_mut().filter(|c| str_at(c, "name") == container) {
            c["image"] = json!(image);
        }
    }
}
