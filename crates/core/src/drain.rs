//! Which pods a drain evicts, skips or refuses: `kubectl drain`'s filters, in kubectl's
//! order and with its messages (staging/src/k8s.io/kubectl/pkg/drain/filters.go), so an
//! operator sees the same decisions from kubeladder as from kubectl.
//!
//! Filters run in order: DaemonSet, mirror pod, local storage, unreplicated. The first
//! filter that does not let a pod through decides; warnings of later filters overwrite
//! earlier ones. Any refusal stops the drain before anything is evicted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    pub fn parse(s: &str) -> Self {
        match s {
            "Pending" => Self::Pending,
            "Running" => Self::Running,
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            _ => Self::Unknown,
        }
    }

    fn finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// What the filters need to know about a pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodFacts {
    pub namespace: String,
    pub name: String,
    /// Kind of the controller owner reference, if any (`ReplicaSet`, `DaemonSet`, ...).
    pub controller_kind: Option<String>,
    /// For DaemonSet-owned pods: whether the DaemonSet still exists.
    pub controller_exists: bool,
    /// Annotation `kubernetes.io/config.mirror` present.
    pub mirror: bool,
    /// Has an `emptyDir` volume.
    pub local_storage: bool,
    pub phase: PodPhase,
}

impl PodFacts {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DrainOptions {
    pub ignore_daemonsets: bool,
    pub delete_emptydir_data: bool,
    pub force: bool,
}

/// kubectl's messages, used as grouping keys exactly as kubectl prints them.
pub const DAEMONSET_ERROR: &str = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)";
pub const DAEMONSET_WARNING: &str = "ignoring DaemonSet-managed Pods";
pub const LOCAL_STORAGE_ERROR: &str = "Pods with local storage (use --delete-emptydir-data to override)";
pub const LOCAL_STORAGE_WARNING: &str = "deleting Pods with local storage";
pub const UNREPLICATED_ERROR: &str = "cannot delete Pods that declare no controller (use --force to override)";
pub const UNREPLICATED_WARNING: &str = "deleting Pods that declare no controller";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// Evict (or delete), possibly with a warning.
    Evict { warning: Option<&'static str> },
    /// Leave the pod alone (DaemonSet with --ignore-daemonsets, mirror pods).
    Skip { warning: Option<&'static str> },
    /// The drain cannot proceed without another flag.
    Refuse { error: &'static str },
}

/// Classify one pod like kubectl's filter chain.
pub fn classify(pod: &PodFacts, options: DrainOptions) -> Decision {
    let mut warning = None;
    // daemonSetFilter
    if pod.controller_kind.as_deref() == Some("DaemonSet") && !pod.phase.finished() {
        if !pod.controller_exists {
            if !options.force {
                return Decision::Refuse { error: "pods with a missing DaemonSet owner (use --force to delete)" };
            }
            warning = Some("deleting Pods whose DaemonSet is gone");
        } else if options.ignore_daemonsets {
            return Decision::Skip { warning: Some(DAEMONSET_WARNING) };
        } else {
            return Decision::Refuse { error: DAEMONSET_ERROR };
        }
    }
    // mirrorPodFilter
    if pod.mirror {
        return Decision::Skip { warning: None };
    }
    // localStorageFilter
    if pod.local_storage && !pod.phase.finished() {
        if !options.delete_emptydir_data {
            return Decision::Refuse { error: LOCAL_STORAGE_ERROR };
        }
        warning = Some(LOCAL_STORAGE_WARNING);
    }
    // unreplicatedFilter
    if !pod.phase.finished() && pod.controller_kind.is_none() {
        if !options.force {
            return Decision::Refuse { error: UNREPLICATED_ERROR };
        }
        warning = Some(UNREPLICATED_WARNING);
    }
    Decision::Evict { warning }
}

/// The outcome for a whole node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DrainSelection {
    pub evict: Vec<String>,
    pub skip: Vec<String>,
    /// kubectl-style: `message: ns/a, ns/b`.
    pub warnings: Vec<String>,
}

/// Refusal text grouped like kubectl: `cannot delete <msg>: ns/a, ns/b; ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DrainRefused(pub String);

/// Decide for every pod on a node; refuse before evicting anything if one pod cannot be handled.
pub fn select(pods: &[PodFacts], options: DrainOptions) -> Result<DrainSelection, DrainRefused> {
    let mut errors: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut warnings: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut out = DrainSelection::default();
    for pod in pods {
        match classify(pod, options) {
            Decision::Evict { warning } => {
                out.evict.push(pod.key());
                if let Some(w) = warning {
                    warnings.entry(w).or_default().push(pod.key());
                }
            }
            Decision::Skip { warning } => {
                out.skip.push(pod.key());
                if let Some(w) = warning {
                    warnings.entry(w).or_default().push(pod.key());
                }
            }
            Decision::Refuse { error } => errors.entry(error).or_default().push(pod.key()),
        }
    }
    if !errors.is_empty() {
        let text = errors
            .iter()
            .map(|(msg, pods)| {
                let msg =
                    if msg.starts_with("cannot delete") { (*msg).to_owned() } else { format!("cannot delete {msg}") };
                format!("{msg}: {}", pods.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(DrainRefused(text));
    }
    out.warnings = warnings.iter().map(|(msg, pods)| format!("{msg}: {}", pods.join(", "))).collect();
    Ok(out)
}

/// The flag that lets a drain past a refusal (kubectl's own advice in each message), and
/// what the operator gives up by passing it.
pub fn refusal_fix(error: &str) -> &'static str {
    if error == LOCAL_STORAGE_ERROR {
        "pass --delete-emptydir-data to evict it (its emptyDir data is lost), or move its data off emptyDir"
    } else if error == DAEMONSET_ERROR {
        "DaemonSet pods stay in place during an upgrade; this should not happen (report it)"
    } else {
        "pass --force to delete it (nothing recreates it: it is gone for good), or delete it or give it a controller first"
    }
}

/// BLOCKERs for the pods that would stop the drain of a node the plan drains, under the
/// chosen options: kubectl's message, the pods, and the flag that allows them. `refusals`
/// maps a node to its refused pods (`ns/name`, kubectl's message).
pub fn drain_blockers<'a>(
    refusals: &BTreeMap<String, Vec<(String, &'static str)>>,
    drained: impl IntoIterator<Item = &'a str>,
) -> Vec<crate::checks::Finding> {
    let mut out = Vec::new();
    for node in drained {
        let Some(pods) = refusals.get(node) else { continue };
        let mut by_error: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
        for (pod, error) in pods {
            by_error.entry(error).or_default().push(pod);
        }
        for (error, pods) in by_error {
            let msg =
                if error.starts_with("cannot delete") { error.to_owned() } else { format!("cannot delete {error}") };
            out.push(crate::checks::Finding {
                check: "drain-refused",
                severity: crate::checks::Severity::Blocker,
                hop_into: None,
                subject: node.to_owned(),
                message: format!("the drain of {node} would stop before evicting anything: {msg}: {}", pods.join(", ")),
                fix: refusal_fix(error).to_owned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, owner: Option<&str>) -> PodFacts {
        PodFacts {
            namespace: "default".to_owned(),
            name: name.to_owned(),
            controller_kind: owner.map(str::to_owned),
            controller_exists: true,
            mirror: false,
            local_storage: false,
            phase: PodPhase::Running,
        }
    }

    const KUBECTL_DEFAULT_UPGRADE: DrainOptions =
        DrainOptions { ignore_daemonsets: true, delete_emptydir_data: true, force: true };

    #[test]
    fn replicated_pods_are_evicted_without_flags() {
        assert_eq!(
            classify(&pod("web", Some("ReplicaSet")), DrainOptions::default()),
            Decision::Evict { warning: None }
        );
    }

    #[test]
    fn daemonset_pods_need_ignore_daemonsets_and_are_then_skipped() {
        let ds = pod("proxy", Some("DaemonSet"));
        assert_eq!(classify(&ds, DrainOptions::default()), Decision::Refuse { error: DAEMONSET_ERROR });
        assert_eq!(classify(&ds, KUBECTL_DEFAULT_UPGRADE), Decision::Skip { warning: Some(DAEMONSET_WARNING) });
        let done = PodFacts { phase: PodPhase::Succeeded, ..ds };
        assert_eq!(classify(&done, DrainOptions::default()), Decision::Evict { warning: None });
    }

    #[test]
    fn mirror_pods_are_skipped_silently() {
        let mirror = PodFacts { mirror: true, ..pod("kube-apiserver-cp-1", Some("Node")) };
        assert_eq!(classify(&mirror, DrainOptions::default()), Decision::Skip { warning: None });
    }

    #[test]
    fn local_storage_and_bare_pods_need_their_flags() {
        let scratch = PodFacts { local_storage: true, ..pod("cache", Some("ReplicaSet")) };
        assert_eq!(classify(&scratch, DrainOptions::default()), Decision::Refuse { error: LOCAL_STORAGE_ERROR });
        assert_eq!(
            classify(&scratch, KUBECTL_DEFAULT_UPGRADE),
            Decision::Evict { warning: Some(LOCAL_STORAGE_WARNING) }
        );
        let bare = pod("debug", None);
        assert_eq!(classify(&bare, DrainOptions::default()), Decision::Refuse { error: UNREPLICATED_ERROR });
        assert_eq!(classify(&bare, KUBECTL_DEFAULT_UPGRADE), Decision::Evict { warning: Some(UNREPLICATED_WARNING) });
        // A bare pod with local storage: the later filter's warning wins, as in kubectl.
        let both = PodFacts { local_storage: true, ..pod("both", None) };
        assert_eq!(classify(&both, KUBECTL_DEFAULT_UPGRADE), Decision::Evict { warning: Some(UNREPLICATED_WARNING) });
    }

    #[test]
    fn completed_pods_are_removed_without_flags() {
        let job = PodFacts { phase: PodPhase::Succeeded, local_storage: true, ..pod("job-x", None) };
        assert_eq!(classify(&job, DrainOptions::default()), Decision::Evict { warning: None });
    }

    #[test]
    fn a_single_refusal_stops_the_whole_node_with_kubectls_grouped_message() {
        let pods = [
            pod("web", Some("ReplicaSet")),
            pod("debug", None),
            pod("debug2", None),
            PodFacts { local_storage: true, ..pod("cache", Some("ReplicaSet")) },
        ];
        let err = select(&pods, DrainOptions::default()).unwrap_err();
        // kubectl groups in a Go map (random order); we sort by message.
        assert_eq!(
            err.0,
            "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache; \
             cannot delete Pods that declare no controller (use --force to override): default/debug, default/debug2"
        );
        let ok = select(&pods, KUBECTL_DEFAULT_UPGRADE).unwrap();
        assert_eq!(ok.evict, ["default/web", "default/debug", "default/debug2", "default/cache"]);
        assert_eq!(
            ok.warnings,
            [
                "deleting Pods that declare no controller: default/debug, default/debug2",
                "deleting Pods with local storage: default/cache"
            ]
        );
    }

    #[test]
    fn drain_blockers_name_the_pods_and_the_flag_for_drained_nodes_only() {
        let mut bare = pod("debug", None);
        bare.local_storage = false;
        let mut cache = pod("cache", Some("ReplicaSet"));
        cache.local_storage = true;
        let mut refusals: BTreeMap<String, Vec<(String, &'static str)>> = BTreeMap::new();
        for (node, p) in [("w1", &bare), ("w1", &cache), ("w2", &bare)] {
            if let Decision::Refuse { error } =
                classify(p, DrainOptions { ignore_daemonsets: true, ..DrainOptions::default() })
            {
                refusals.entry(node.to_owned()).or_default().push((p.key(), error));
            }
        }
        let found = drain_blockers(&refusals, ["w1"]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|f| f.subject == "w1" && f.severity == crate::checks::Severity::Blocker));
        let local = found.iter().find(|f| f.message.contains("local storage")).unwrap();
        assert!(local.message.contains("default/cache") && local.fix.contains("--delete-emptydir-data"));
        let bare = found.iter().find(|f| f.message.contains("no controller")).unwrap();
        assert!(bare.message.contains("default/debug") && bare.fix.contains("--force"));
        assert!(drain_blockers(&refusals, ["w3"]).is_empty());
    }
}
