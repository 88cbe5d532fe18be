//! What will bite on the way: checks of one cluster against one upgrade path, each a
//! BLOCKER (the upgrade is refused until fixed) or a WARNING (it proceeds; know this),
//! each saying what to do. Pure: the caller gathers the facts.

use std::collections::BTreeSet;

use jiff::civil::Date;
use serde::Serialize;

use crate::cluster::{ClusterState, Role};
use crate::package::Repository;
use crate::path::UpgradePath;
use crate::release::ReleaseData;
use crate::version::Minor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Blocker,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `docker-runtime`.
    pub check: &'static str,
    pub severity: Severity,
    /// The hop this matters for (`into` minor), if it is tied to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_into: Option<Minor>,
    /// Node, object or budget concerned.
    pub subject: String,
    pub message: String,
    pub fix: String,
}

/// Per-node facts beyond versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeFacts {
    pub name: String,
    /// `containerd://1.6.8`, `docker://20.10.7`, `cri-o://1.28.1`.
    pub container_runtime: String,
    /// The node's CRI endpoint as kubeadm recorded it (annotation
    /// `kubeadm.alpha.kubernetes.io/cri-socket`), when known.
    pub cri_socket: Option<String>,
    /// `Some(true)` when the host is known to run cgroup v1.
    pub cgroup_v1: Option<bool>,
    /// The package repository the host installs from, when known (hosts data).
    pub repository: Option<Repository>,
    /// etcd image tag on control-plane nodes (`3.5.16-0`); `None` for external etcd.
    pub etcd: Option<String>,
    /// Whether the hosts file gives the node a mirror of the legacy repository layout
    /// for its package format; `None` when not known (no hosts file).
    pub legacy_mirror: Option<bool>,
}

/// A PodDisruptionBudget as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BudgetFacts {
    /// `namespace/name`.
    pub name: String,
    pub disruptions_allowed: i64,
    /// Nodes its pods run on.
    pub nodes: BTreeSet<String>,
    pub pods: usize,
}

/// An object using an API a hop removes (from the removed-API scan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedApiUse {
    pub removed_in: Minor,
    pub object: String,
    pub api_version: String,
    pub source: String,
    pub replacement: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CheckInput<'a> {
    pub data: &'a ReleaseData,
    pub today: Date,
    pub state: &'a ClusterState,
    pub path: &'a UpgradePath,
    pub nodes: &'a [NodeFacts],
    pub budgets: &'a [BudgetFacts],
    pub removed_apis: &'a [RemovedApiUse],
    /// The API version of the ClusterConfiguration stored in `kube-system/kubeadm-config`.
    pub kubeadm_config_api: Option<&'a str>,
    /// Workers whose evictable pods would not fit on the other nodes (from the window).
    pub capacity_misfits: &'a [(String, String)],
}

/// Whether the path has a hop into `minor` or later.
fn crosses(path: &UpgradePath, minor: Minor) -> bool {
    path.from.minor() < minor && path.to.minor() >= minor
}

/// Whether the path hops into 1.35, whose kubelet refuses cgroup v1 hosts by default: only
/// then does a host's cgroup version decide a blocker (and is worth asking the host for).
pub fn needs_cgroup_v2(path: &UpgradePath) -> bool {
    crosses(path, m("1.35"))
}

/// The first hop of `path` into a minor only the legacy repositories carried (gone since
/// 2024-03-04): its packages can come from a legacy-layout mirror only.
pub fn legacy_only_minor(data: &ReleaseData, path: &UpgradePath) -> Option<Minor> {
    path.hops
        .iter()
        .map(|hop| hop.to.minor())
        .find(|minor| data.get(*minor).is_some_and(|r| !r.repositories.contains(&Repository::PkgsK8sIo)))
}

/// Minimum version parts, compared numerically: `1.5.9` < `1.6`.
fn version_below(version: &str, minimum: &[u64]) -> Option<bool> {
    let parts: Vec<u64> = version
        .split(['.', '-', '+', '~'])
        .take(minimum.len())
        .map(|p| p.trim_start_matches('v').parse().ok())
        .collect::<Option<_>>()?;
    Some(parts.as_slice() < minimum)
}

/// Run every check; blockers first, then by hop.
pub fn run(input: &CheckInput<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    versions(input, &mut out);
    hosts(input, &mut out);
    node_states(input, &mut out);
    removed_apis(input, &mut out);
    kubeadm_config(input, &mut out);
    budgets_and_capacity(input, &mut out);
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.hop_into.cmp(&b.hop_into)).then(a.check.cmp(b.check)));
    out
}

fn m(s: &str) -> Minor {
    Minor::parse(s).unwrap_or(Minor::new(1, 0))
}

/// Skew today and support windows.
fn versions(input: &CheckInput<'_>, out: &mut Vec<Finding>) {
    let path = input.path;
    for v in input.state.violations() {
        out.push(Finding {
            check: "skew-today",
            severity: Severity::Blocker,
            hop_into: None,
            subject: v.node.clone().unwrap_or_default(),
            message: v.message,
            fix: "bring the component inside the version skew policy before upgrading".to_owned(),
        });
    }

    let current = input.state.cluster_version.minor();
    if let Some(r) = input.data.get(current)
        && input.today > r.end_of_life
    {
        out.push(Finding {
            check: "end-of-life",
            severity: Severity::Warning,
            hop_into: None,
            subject: format!("Kubernetes {current}"),
            message: format!("{current} reached end of life on {}; it gets no security fixes", r.end_of_life),
            fix: "upgrade; this is what the plan does".to_owned(),
        });
    }
    if let Some(r) = input.data.get(path.to.minor())
        && input.today > r.end_of_life
    {
        out.push(Finding {
            check: "target-end-of-life",
            severity: Severity::Warning,
            hop_into: Some(path.to.minor()),
            subject: format!("Kubernetes {}", path.to.minor()),
            message: format!("the target {} reached end of life on {}", path.to.minor(), r.end_of_life),
            fix: format!("consider --to {} or later", input.data.newest().minor),
        });
    }
}

/// Docker through cri-dockerd, which survives 1.24's removal of dockershim: cri-dockerd
/// reports the runtime as `docker://` too (Mirantis/cri-dockerd, `dockerRuntimeName`), so
/// only the CRI endpoint kubeadm recorded (`unix:///var/run/cri-dockerd.sock`, its
/// documented socket: <https://kubernetes.io/docs/setup/production-environment/container-runtimes/#docker>)
/// tells it apart from dockershim (`/var/run/dockershim.sock`).
fn through_cri_dockerd(node: &NodeFacts) -> bool {
    node.cri_socket.as_deref().is_some_and(|s| s.contains("cri-dockerd"))
}

/// Runtime, cgroups, repository and etcd of each host.
fn hosts(input: &CheckInput<'_>, out: &mut Vec<Finding>) {
    let path = input.path;
    for node in input.nodes {
        let runtime = node.container_runtime.as_str();
        if crosses(path, m("1.24")) && runtime.starts_with("docker://") && !through_cri_dockerd(node) {
            out.push(Finding {
                check: "docker-runtime",
                severity: Severity::Blocker,
                hop_into: Some(m("1.24")),
                subject: node.name.clone(),
                message: format!("node {} runs {runtime}; 1.24 removed dockershim", node.name),
                fix: "move the node to containerd (or cri-dockerd) before the hop into 1.24".to_owned(),
            });
        }
        if crosses(path, m("1.26"))
            && let Some(v) = runtime.strip_prefix("containerd://")
            && version_below(v, &[1, 6]) == Some(true)
        {
            out.push(Finding {
                check: "containerd-version",
                severity: Severity::Blocker,
                hop_into: Some(m("1.26")),
                subject: node.name.clone(),
                message: format!(
                    "node {} runs containerd {v}; 1.26 requires CRI v1 (containerd 1.6 or newer)",
                    node.name
                ),
                fix: "upgrade containerd to 1.6 or newer before the hop into 1.26".to_owned(),
            });
        }
        if needs_cgroup_v2(path) && node.cgroup_v1 == Some(true) {
            out.push(Finding {
                check: "cgroup-v1",
                severity: Severity::Blocker,
                hop_into: Some(m("1.35")),
                subject: node.name.clone(),
                message: format!("node {} uses cgroup v1; the 1.35 kubelet refuses it by default", node.name),
                fix: "move the host to cgroup v2 before the hop into 1.35".to_owned(),
            });
        }
        if crosses(path, m("1.29")) && node.repository == Some(Repository::Legacy) {
            out.push(Finding {
                check: "legacy-repository",
                severity: Severity::Warning,
                hop_into: Some(m("1.29")),
                subject: node.name.clone(),
                message: format!(
                    "node {} installs from the legacy apt/yum.kubernetes.io repository, which is gone",
                    node.name
                ),
                fix: "kubeladder switches it to pkgs.k8s.io for each minor; make sure the node can reach pkgs.k8s.io"
                    .to_owned(),
            });
        }
        // The legacy repositories were removed on 2024-03-04
        // (https://kubernetes.io/blog/2023/08/31/legacy-package-repository-deprecation/):
        // a hop into a minor pkgs.k8s.io does not carry needs a legacy mirror.
        if node.legacy_mirror == Some(false)
            && let Some(minor) =
                path.hops.iter().map(|hop| hop.to.minor()).find(|minor| {
                    input.data.get(*minor).is_some_and(|r| !r.repositories.contains(&Repository::PkgsK8sIo))
                })
        {
            out.push(Finding {
                check: "package-source",
                severity: Severity::Blocker,
                hop_into: Some(minor),
                subject: node.name.clone(),
                message: format!(
                    "no configured package source serves Kubernetes {minor} to {}: its packages were published only in the legacy apt/yum.kubernetes.io repositories, removed on 2024-03-04",
                    node.name
                ),
                fix: "set package_sources.legacy (apt, or yum and yum_key) in the hosts file's defaults or for the node, e.g. https://mirrors.aliyun.com/kubernetes/apt/".to_owned(),
            });
        }
        // kubeadm upgrades stacked etcd on every hop, so what runs before the 1.34 hop is
        // what the 1.33 hop deployed (or today's etcd if the path starts at 1.33).
        if crosses(path, m("1.34"))
            && let Some(etcd) = &node.etcd
        {
            let before = if path.from.minor() < m("1.33") {
                input.data.get(m("1.33")).map_or(etcd.clone(), |r| r.etcd.clone())
            } else {
                etcd.clone()
            };
            if version_below(&before, &[3, 5, 20]) == Some(true) {
                out.push(Finding {
                    check: "etcd-version",
                    severity: Severity::Blocker,
                    hop_into: Some(m("1.34")),
                    subject: node.name.clone(),
                    message: format!(
                        "etcd {before} will run on {} before the hop into 1.34, which needs 3.5.20 or newer",
                        node.name
                    ),
                    fix: "upgrade etcd to 3.5.20 or newer (3.5.26 per etcd's advisory) before the hop into 1.34"
                        .to_owned(),
                });
            }
        }
    }
}

/// Nodes NotReady or cordoned before we start.
fn node_states(input: &CheckInput<'_>, out: &mut Vec<Finding>) {
    for node in &input.state.nodes {
        if !node.ready {
            out.push(Finding {
                check: "node-not-ready",
                severity: if node.role == Role::ControlPlane { Severity::Blocker } else { Severity::Warning },
                hop_into: None,
                subject: node.name.clone(),
                message: format!("node {} is NotReady", node.name),
                fix: if node.role == Role::ControlPlane {
                    "kubeadm refuses to upgrade while a control-plane node is NotReady: repair it first".to_owned()
                } else {
                    "it counts against --max-unavailable; repair or remove it first".to_owned()
                },
            });
        }
        if node.cordoned {
            out.push(Finding {
                check: "already-cordoned",
                severity: Severity::Warning,
                hop_into: None,
                subject: node.name.clone(),
                message: format!("node {} is already cordoned", node.name),
                fix: "kubeladder upgrades it but leaves it cordoned, and it counts against --max-unavailable"
                    .to_owned(),
            });
        }
    }
}

/// Objects still written with APIs a hop removes.
fn removed_apis(input: &CheckInput<'_>, out: &mut Vec<Finding>) {
    for use_ in input.removed_apis {
        if !crosses(input.path, use_.removed_in) {
            continue;
        }
        out.push(Finding {
            check: "removed-api",
            severity: Severity::Blocker,
            hop_into: Some(use_.removed_in),
            subject: use_.object.clone(),
            message: format!(
                "{} uses {} ({}), no longer served from {}",
                use_.object, use_.api_version, use_.source, use_.removed_in
            ),
            fix: match &use_.replacement {
                Some(r) => format!("migrate it to {r} before the hop into {}", use_.removed_in),
                None => format!("remove it before the hop into {}; the API has no successor", use_.removed_in),
            },
        });
    }
}

/// Budgets that block drains, and pods that would not fit elsewhere.
/// The ClusterConfiguration kubeadm keeps in `kube-system/kubeadm-config`: every `kubeadm
/// upgrade` rewrites it in that kubeadm's preferred API version, so only the first hop's
/// kubeadm can meet a version it no longer reads (a hand-edited or very old ConfigMap).
fn kubeadm_config(input: &CheckInput<'_>, out: &mut Vec<Finding>) {
    let Some(stored) = input.kubeadm_config_api else { return };
    let Some(first) = input.path.hops.first().map(|h| h.to.minor()) else { return };
    let Some(gone) = input.data.kubeadm_config_removed_in(stored) else { return };
    if gone > first {
        return;
    }
    let last_reader = Minor::new(gone.major, gone.minor.saturating_sub(1));
    out.push(Finding {
        check: "kubeadm-config-api",
        severity: Severity::Blocker,
        hop_into: Some(first),
        subject: "ConfigMap kube-system/kubeadm-config".to_owned(),
        message: format!(
            "its ClusterConfiguration is stored as {stored}, which kubeadm {gone} and later no longer read: \
             kubeadm {first} cannot load the cluster's configuration"
        ),
        fix: format!(
            "with kubeadm {last_reader}: save the ClusterConfiguration to a file, `kubeadm config migrate --old-config old.yaml \
             --new-config new.yaml`, then `kubeadm init phase upload-config kubeadm --config new.yaml`"
        ),
    });
}

fn budgets_and_capacity(input: &CheckInput<'_>, out: &mut Vec<Finding>) {
    for b in input.budgets {
        if b.disruptions_allowed <= 0 && b.pods > 0 {
            out.push(Finding {
                check: "budget-blocks",
                severity: Severity::Blocker,
                hop_into: None,
                subject: b.name.clone(),
                message: format!(
                    "PodDisruptionBudget {} allows 0 disruptions: draining any node with its pods would wait for ever",
                    b.name
                ),
                fix: "scale the workload up, fix its unhealthy pods, or relax the budget before upgrading".to_owned(),
            });
        } else if b.pods > 1 && b.nodes.len() == 1 {
            out.push(Finding {
                check: "budget-single-node",
                severity: Severity::Warning,
                hop_into: None,
                subject: b.name.clone(),
                message: format!(
                    "all {} pods of PodDisruptionBudget {} run on {}: its drain will evict them one at a time",
                    b.pods,
                    b.name,
                    b.nodes.iter().next().map_or("", String::as_str)
                ),
                fix: "spread the workload (topology spread constraints / anti-affinity) to drain faster".to_owned(),
            });
        }
    }

    for (node, pod) in input.capacity_misfits {
        out.push(Finding {
            check: "capacity",
            severity: Severity::Blocker,
            hop_into: None,
            subject: node.clone(),
            message: format!("pod {pod} on {node} would not fit on the remaining nodes (by requests)"),
            fix: "add capacity or lower requests; otherwise the drain of this node cannot complete".to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::uniform_cluster;
    use crate::test_support::path;
    use crate::version::KubeVersion;

    fn data() -> &'static ReleaseData {
        ReleaseData::embedded().unwrap()
    }

    fn checks_for(
        from: &str,
        to: &str,
        nodes: &[NodeFacts],
        budgets: &[BudgetFacts],
        apis: &[RemovedApiUse],
    ) -> Vec<Finding> {
        checks_with_kubeadm_config(from, to, nodes, budgets, apis, None)
    }

    fn checks_with_kubeadm_config(
        from: &str,
        to: &str,
        nodes: &[NodeFacts],
        budgets: &[BudgetFacts],
        apis: &[RemovedApiUse],
        kubeadm_config_api: Option<&str>,
    ) -> Vec<Finding> {
        let state = uniform_cluster(KubeVersion::parse(from).unwrap(), 1, 2);
        let path = path(from, to);
        run(&CheckInput {
            data: data(),
            today: "2026-11-25".parse().unwrap(),
            state: &state,
            path: &path,
            nodes,
            budgets,
            removed_apis: apis,
            kubeadm_config_api,
            capacity_misfits: &[],
        })
    }

    #[test]
    fn a_kubeadm_config_the_first_hops_kubeadm_cannot_read_blocks() {
        let found = |from: &str, to: &str, api: Option<&str>| -> Vec<Finding> {
            checks_with_kubeadm_config(from, to, &[], &[], &[], api)
                .into_iter()
                .filter(|f| f.check == "kubeadm-config-api")
                .collect()
        };
        let v1beta2 = Some("kubeadm.k8s.io/v1beta2");
        let blocked = found("v1.26.15", "1.28", v1beta2);
        assert_eq!(blocked.len(), 1, "{blocked:?}");
        assert_eq!((blocked[0].severity, blocked[0].hop_into), (Severity::Blocker, Some(Minor::new(1, 27))));
        assert!(blocked[0].message.contains("kubeadm.k8s.io/v1beta2"), "{}", blocked[0].message);
        assert!(blocked[0].fix.contains("with kubeadm 1.26") && blocked[0].fix.contains("upload-config"));
        // kubeadm 1.26 still reads v1beta2 and stores v1beta3 before the hop into 1.27.
        assert!(found("v1.25.16", "1.28", v1beta2).is_empty());
        assert!(found("v1.26.15", "1.28", Some("kubeadm.k8s.io/v1beta3")).is_empty());
        assert!(found("v1.26.15", "1.28", None).is_empty());
        assert_eq!(found("v1.36.5", "1.37", Some("kubeadm.k8s.io/v1beta3")).len(), 1);
        assert!(found("v1.36.5", "1.37", Some("kubeadm.k8s.io/v1beta4")).is_empty());
    }

    fn ids(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings.iter().map(|f| (f.check, f.severity)).collect()
    }

    fn node(name: &str, runtime: &str) -> NodeFacts {
        NodeFacts { name: name.to_owned(), container_runtime: runtime.to_owned(), ..NodeFacts::default() }
    }

    #[test]
    fn cri_dockerd_is_not_dockershim() {
        let migrated = NodeFacts {
            cri_socket: Some("unix:///var/run/cri-dockerd.sock".to_owned()),
            ..node("worker-1", "docker://20.10.7")
        };
        let shim = NodeFacts {
            cri_socket: Some("/var/run/dockershim.sock".to_owned()),
            ..node("worker-2", "docker://20.10.7")
        };
        let found = checks_for("v1.23.17", "1.24", &[migrated, shim], &[], &[]);
        let docker: Vec<&str> =
            found.iter().filter(|f| f.check == "docker-runtime").map(|f| f.subject.as_str()).collect();
        assert_eq!(docker, ["worker-2"]);
    }

    #[test]
    fn docker_blocks_only_paths_into_1_24() {
        let nodes = [node("worker-1", "docker://20.10.7")];
        let into = checks_for("v1.22.17", "1.24", &nodes, &[], &[]);
        assert!(
            into.iter()
                .any(|f| f.check == "docker-runtime" && f.severity == Severity::Blocker && f.subject == "worker-1")
        );
        let before = checks_for("v1.22.17", "1.23", &nodes, &[], &[]);
        assert!(!before.iter().any(|f| f.check == "docker-runtime"));
    }

    #[test]
    fn old_containerd_blocks_1_26_new_one_does_not() {
        let old = checks_for("v1.25.16", "1.26", &[node("w", "containerd://1.5.9")], &[], &[]);
        assert!(old.iter().any(|f| f.check == "containerd-version"));
        let new = checks_for("v1.25.16", "1.26", &[node("w", "containerd://1.6.8")], &[], &[]);
        assert!(!new.iter().any(|f| f.check == "containerd-version"));
        let ten = checks_for("v1.25.16", "1.26", &[node("w", "containerd://1.10.0")], &[], &[]);
        assert!(!ten.iter().any(|f| f.check == "containerd-version"), "1.10 is newer than 1.6");
    }

    #[test]
    fn etcd_is_judged_by_what_runs_at_the_1_34_hop() {
        let cp = NodeFacts { etcd: Some("3.5.16-0".to_owned()), ..node("cp-1", "containerd://1.7.0") };
        // Starting at 1.33 with an old etcd: blocked.
        assert!(
            checks_for("v1.33.11", "1.34", std::slice::from_ref(&cp), &[], &[])
                .iter()
                .any(|f| f.check == "etcd-version")
        );
        // Starting earlier: the 1.33 hop deploys kubeadm's newer etcd first.
        assert!(!checks_for("v1.32.13", "1.34", &[cp], &[], &[]).iter().any(|f| f.check == "etcd-version"));
    }

    #[test]
    fn removed_apis_block_their_hop_with_the_replacement() {
        let uses = [RemovedApiUse {
            removed_in: Minor::new(1, 25),
            object: "CronJob ops/nightly".to_owned(),
            api_version: "batch/v1beta1".to_owned(),
            source: "managedFields (kubectl)".to_owned(),
            replacement: Some("batch/v1".to_owned()),
        }];
        let f = checks_for("v1.24.17", "1.25", &[], &[], &uses);
        let found = f.iter().find(|f| f.check == "removed-api").unwrap();
        assert_eq!(found.severity, Severity::Blocker);
        assert!(found.fix.contains("batch/v1"));
        assert!(checks_for("v1.23.17", "1.24", &[], &[], &uses).iter().all(|f| f.check != "removed-api"));
    }

    #[test]
    fn budgets_that_allow_nothing_block() {
        let budgets = [
            BudgetFacts {
                name: "web/pdb".to_owned(),
                disruptions_allowed: 0,
                nodes: ["w1".to_owned()].into(),
                pods: 2,
            },
            BudgetFacts { name: "db/pdb".to_owned(), disruptions_allowed: 1, nodes: ["w2".to_owned()].into(), pods: 3 },
        ];
        let f = checks_for("v1.28.15", "1.29", &[], &budgets, &[]);
        assert_eq!(
            ids(&f).into_iter().filter(|(c, _)| c.starts_with("budget")).collect::<Vec<_>>(),
            [("budget-blocks", Severity::Blocker), ("budget-single-node", Severity::Warning)]
        );
    }

    #[test]
    fn a_legacy_only_hop_without_a_legacy_mirror_is_a_blocker() {
        let bare = NodeFacts { legacy_mirror: Some(false), ..node("w", "containerd://1.7.0") };
        let f = checks_for("v1.18.20", "1.20", std::slice::from_ref(&bare), &[], &[]);
        let found = f.iter().find(|f| f.check == "package-source").expect("blocker");
        assert_eq!(found.severity, Severity::Blocker);
        assert_eq!(found.hop_into, Some(m("1.19")));
        let mirrored = NodeFacts { legacy_mirror: Some(true), ..bare.clone() };
        assert!(!checks_for("v1.18.20", "1.20", &[mirrored], &[], &[]).iter().any(|f| f.check == "package-source"));
        let unknown = NodeFacts { legacy_mirror: None, ..bare.clone() };
        assert!(!checks_for("v1.18.20", "1.20", &[unknown], &[], &[]).iter().any(|f| f.check == "package-source"));
        // pkgs.k8s.io carries 1.24 and later: no mirror needed.
        assert!(!checks_for("v1.28.15", "1.30", &[bare], &[], &[]).iter().any(|f| f.check == "package-source"));
    }

    #[test]
    fn end_of_life_and_legacy_repository_warnings() {
        let legacy = NodeFacts { repository: Some(Repository::Legacy), ..node("w", "containerd://1.7.0") };
        let f = checks_for("v1.28.15", "1.29", &[legacy], &[], &[]);
        assert!(f.iter().any(|f| f.check == "end-of-life" && f.severity == Severity::Warning));
        assert!(f.iter().any(|f| f.check == "target-end-of-life"));
        assert!(f.iter().any(|f| f.check == "legacy-repository"));
        // Blockers sort first.
        let sorted: Vec<Severity> = f.iter().map(|f| f.severity).collect();
        let mut expected = sorted.clone();
        expected.sort();
        assert_eq!(sorted, expected);
    }

    #[test]
    fn numeric_version_comparison() {
        assert_eq!(version_below("1.5.9", &[1, 6]), Some(true));
        assert_eq!(version_below("1.6.0", &[1, 6]), Some(false));
        assert_eq!(version_below("3.5.9-0", &[3, 5, 20]), Some(true));
        assert_eq!(version_below("3.5.24-0", &[3, 5, 20]), Some(false));
        assert_eq!(version_below("garbage", &[1, 6]), None);
    }
}
