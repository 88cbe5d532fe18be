//! Faults on demand: failing commands, nodes that never become Ready, pods and static pods
//! that never become Ready, budgets that never allow an eviction, API errors and slowness,
//! dropped watches and exec connections, corrupt etcd data.
//!
//! Faults are set through `POST /sim/v1/faults` (JSON, tagged by `kind`) or
//! [`crate::RunningSim::add_fault`], listed by `GET /sim/v1/faults`, and cleared together by
//! `DELETE /sim/v1/faults` or [`crate::RunningSim::clear_faults`]. Counted faults (`times`,
//! `count`) disappear once used up; `times: null` (or absent) means every time.

use kubeladder_core::kubeadm::StaticPod;
use serde::{Deserialize, Serialize};

use crate::host::output::CommandOutput;

fn default_exit_code() -> i32 {
    1
}

fn default_true() -> bool {
    true
}

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// A command on `node` whose argv starts with `argv_prefix` (after `sudo -n --`, and
    /// also after `env VAR=...` assignments) does not run and answers this instead.
    Command {
        node: String,
        argv_prefix: Vec<String>,
        #[serde(default)]
        times: Option<u32>,
        #[serde(default = "default_exit_code")]
        exit_code: i32,
        #[serde(default)]
        stdout: String,
        #[serde(default)]
        stderr: String,
    },
    /// The node's kubelet never reports Ready after its next restart (or at once with
    /// `at_once: true`) until the fault is cleared.
    NodeNotReady {
        node: String,
        #[serde(default)]
        at_once: bool,
    },
    /// Pods in `namespace` whose name starts with `name_prefix` start but never become Ready.
    PodNeverReady { namespace: String, name_prefix: String },
    /// The budget's `disruptionsAllowed` stays 0, so every eviction it covers gets 429.
    PdbNeverAllows { namespace: String, name: String },
    /// The next `count` Kubernetes API requests fail with `status` (a `Status` object).
    ApiErrors { status: u16, count: u32 },
    /// The next `count` Kubernetes API requests are answered `delay_ms` real milliseconds late.
    SlowApi { delay_ms: u64, count: u32 },
    /// Every open watch ends now (clients must watch again from their resourceVersion).
    DropWatches {},
    /// The exec endpoint closes the connection without answering, for `node`'s next
    /// `times` commands (`null`: always). The command does not run.
    DropExec {
        node: String,
        #[serde(default)]
        times: Option<u32>,
    },
    /// `component`'s static pod on `node` never becomes Ready once its manifest differs
    /// from the one in place when the fault was set; kubeadm then fails after its timeout,
    /// restoring the earlier manifests (`rollback: true`, kubeadm's behaviour) or leaving the
    /// new manifest and the backups in place (`rollback: false`, as if kubeadm was killed).
    StaticPodNeverReady {
        node: String,
        component: String,
        #[serde(default = "default_true")]
        rollback: bool,
    },
    /// `node`'s etcd data (`/var/lib/etcd`) is corrupt now: its etcd static pod is not Ready
    /// until the data directory is restored (from a kubeadm etcd backup or a snapshot).
    /// Clearing faults does not repair the data.
    CorruptEtcd { node: String },
    /// etcd lists a member at `peer_ip` that never answers and matches no node: a control
    /// plane whose machine was removed without `etcdctl member remove` (the stale member of
    /// kubernetes-sigs/cluster-api#5509). Clearing faults removes it.
    StaleEtcdMember { name: String, peer_ip: String },
}

impl Fault {
    /// The node the fault is about, if any.
    pub fn node(&self) -> Option<&str> {
        match self {
            Self::Command { node, .. }
            | Self::NodeNotReady { node, .. }
            | Self::DropExec { node, .. }
            | Self::StaticPodNeverReady { node, .. }
            | Self::CorruptEtcd { node } => Some(node),
            _ => None,
        }
    }

    /// Check the fault's own fields (not whether its node exists).
    pub fn validate(&self) -> Result<(), String> {
        if self.node().is_some_and(|n| n.trim().is_empty()) {
            return Err("`node` is empty".to_owned());
        }
        match self {
            Self::Command { argv_prefix, .. } if argv_prefix.is_empty() => {
                Err("`argv_prefix` is empty; it would match every command".to_owned())
            }
            Self::ApiErrors { status, .. } if !(400..=599).contains(status) => {
                Err(format!("`status` {status} is not an HTTP error status (400-599)"))
            }
            Self::StaticPodNeverReady { component, .. } if StaticPod::parse(component).is_none() => {
                Err(format!("`component` {component:?} is none of {}", StaticPod::ALL.map(StaticPod::name).join(", ")))
            }
            Self::PodNeverReady { name_prefix, .. } if name_prefix.is_empty() => {
                Err("`name_prefix` is empty; use a prefix of the pods' names".to_owned())
            }
            _ => Ok(()),
        }
    }
}

/// A fault in effect with what the simulator remembers about it.
#[derive(Debug, Clone)]
struct Active {
    fault: Fault,
    /// `node_not_ready`: in effect (at once, or since the kubelet's restart).
    armed: bool,
    /// `static_pod_never_ready`: the manifest hash in place when the fault was set.
    baseline: Option<String>,
}

/// What an API request meets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiFault {
    /// Answer late by this many real milliseconds.
    pub delay_ms: u64,
    /// Fail with this HTTP status.
    pub status: Option<u16>,
}

/// The faults in effect.
#[derive(Debug, Default)]
pub struct Faults {
    active: Vec<Active>,
}

/// Decrement an optional remaining count; `true` while the fault still applies afterwards.
fn use_once(times: &mut Option<u32>) -> bool {
    match times {
        None => true,
        Some(n) => {
            *n = n.saturating_sub(1);
            *n > 0
        }
    }
}

impl Faults {
    /// The faults in effect, with their remaining counts.
    pub fn list(&self) -> Vec<Fault> {
        self.active.iter().map(|a| a.fault.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// Add a fault; `baseline` is the current manifest hash for `static_pod_never_ready`.
    pub(crate) fn push(&mut self, fault: Fault, baseline: Option<String>) {
        let armed = matches!(fault, Fault::NodeNotReady { at_once: true, .. });
        self.active.push(Active { fault, armed, baseline });
    }

    /// Remove every fault; returns them.
    pub(crate) fn clear(&mut self) -> Vec<Fault> {
        std::mem::take(&mut self.active).into_iter().map(|a| a.fault).collect()
    }

    /// What the next API request meets (uses up one of each counted API fault).
    pub(crate) fn take_api(&mut self) -> ApiFault {
        let mut out = ApiFault::default();
        let mut seen_error = false;
        let mut seen_delay = false;
        self.active.retain_mut(|a| match &mut a.fault {
            Fault::ApiErrors { status, count } if !seen_error && *count > 0 => {
                seen_error = true;
                out.status = Some(*status);
                *count -= 1;
                *count > 0
            }
            Fault::SlowApi { delay_ms, count } if !seen_delay && *count > 0 => {
                seen_delay = true;
                out.delay_ms = *delay_ms;
                *count -= 1;
                *count > 0
            }
            Fault::ApiErrors { count: 0, .. } | Fault::SlowApi { count: 0, .. } => false,
            _ => true,
        });
        out
    }

    /// The stale etcd members in effect: (name, peer IP).
    pub(crate) fn stale_etcd_members(&self) -> Vec<(String, String)> {
        self.active
            .iter()
            .filter_map(|a| match &a.fault {
                Fault::StaleEtcdMember { name, peer_ip } => Some((name.clone(), peer_ip.clone())),
                _ => None,
            })
            .collect()
    }

    /// Whether the exec connection for this command on `node` is to be dropped (uses one).
    pub(crate) fn take_drop_exec(&mut self, node: &str) -> bool {
        let Some(index) =
            self.active.iter().position(|a| matches!(&a.fault, Fault::DropExec { node: n, .. } if n == node))
        else {
            return false;
        };
        if let Fault::DropExec { times, .. } = &mut self.active[index].fault
            && !use_once(times)
        {
            self.active.remove(index);
        }
        true
    }

    /// The answer a `command` fault gives this argv on `node`, if one matches (uses one).
    /// `plain` is the argv without `env VAR=...` assignments.
    pub(crate) fn take_command(&mut self, node: &str, argv: &[String], plain: &[String]) -> Option<CommandOutput> {
        let index = self.active.iter().position(|a| match &a.fault {
            Fault::Command { node: n, argv_prefix, .. } => {
                n == node && (argv.starts_with(argv_prefix) || plain.starts_with(argv_prefix))
            }
            _ => false,
        })?;
        let Fault::Command { times, exit_code, stdout, stderr, .. } = &mut self.active[index].fault else {
            return None;
        };
        let answer = CommandOutput { exit_code: *exit_code, stdout: stdout.clone(), stderr: stderr.clone() };
        if !use_once(times) {
            self.active.remove(index);
        }
        Some(answer)
    }

    /// The kubelet on `node` restarted: `node_not_ready` faults for it take effect.
    pub(crate) fn arm_node_not_ready(&mut self, node: &str) {
        for a in &mut self.active {
            if matches!(&a.fault, Fault::NodeNotReady { node: n, .. } if n == node) {
                a.armed = true;
            }
        }
    }

    /// Whether `node`'s kubelet is kept from reporting Ready.
    pub fn node_not_ready(&self, node: &str) -> bool {
        self.active.iter().any(|a| a.armed && matches!(&a.fault, Fault::NodeNotReady { node: n, .. } if n == node))
    }

    /// Whether the pod is kept from becoming Ready.
    pub fn pod_never_ready(&self, namespace: &str, name: &str) -> bool {
        self.active.iter().any(|a| {
            matches!(&a.fault, Fault::PodNeverReady { namespace: ns, name_prefix } if ns == namespace && name.starts_with(name_prefix.as_str()))
        })
    }

    /// Whether the budget is held at zero allowed disruptions.
    pub fn pdb_never_allows(&self, namespace: &str, name: &str) -> bool {
        self.active.iter().any(
            |a| matches!(&a.fault, Fault::PdbNeverAllows { namespace: ns, name: n } if ns == namespace && n == name),
        )
    }

    /// For a static pod running the manifest with `hash`: `Some(rollback)` when a
    /// `static_pod_never_ready` fault keeps it from becoming Ready.
    pub fn static_pod_never_ready(&self, node: &str, component: &str, hash: &str) -> Option<bool> {
        self.active.iter().find_map(|a| match &a.fault {
            Fault::StaticPodNeverReady { node: n, component: c, rollback }
                if n == node && c == component && a.baseline.as_deref() != Some(hash) =>
            {
                Some(*rollback)
            }
            _ => None,
        })
    }

    /// Whether a `static_pod_never_ready` fault for `node`/`component` asks kubeadm not to
    /// roll back (as if it had been killed).
    pub fn skip_rollback(&self, node: &str, component: &str) -> bool {
        self.active.iter().any(|a| {
            matches!(&a.fault, Fault::StaticPodNeverReady { node: n, component: c, rollback: false } if n == node && c == component)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn faults_parse_tagged_and_refuse_unknown_fields() {
        let fault: Fault = serde_json::from_str(
            r#"{"kind":"command","node":"cp-2","argv_prefix":["kubeadm","upgrade","node"],"times":1,"exit_code":1,"stderr":"boom"}"#,
        )
        .unwrap();
        assert_eq!(
            fault,
            Fault::Command {
                node: "cp-2".into(),
                argv_prefix: argv(&["kubeadm", "upgrade", "node"]),
                times: Some(1),
                exit_code: 1,
                stdout: String::new(),
                stderr: "boom".into()
            }
        );
        let always: Fault = serde_json::from_str(r#"{"kind":"drop_exec","node":"worker-1","times":null}"#).unwrap();
        assert_eq!(always, Fault::DropExec { node: "worker-1".into(), times: None });
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"drop_watches","extra":1}"#).is_err());
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"nonsense"}"#).is_err());
        let sp: Fault =
            serde_json::from_str(r#"{"kind":"static_pod_never_ready","node":"cp-1","component":"kube-apiserver"}"#)
                .unwrap();
        assert!(matches!(sp, Fault::StaticPodNeverReady { rollback: true, .. }));
    }

    #[test]
    fn counted_faults_are_used_up() {
        let mut faults = Faults::default();
        faults.push(Fault::ApiErrors { status: 503, count: 2 }, None);
        faults.push(Fault::SlowApi { delay_ms: 10, count: 1 }, None);
        assert_eq!(faults.take_api(), ApiFault { delay_ms: 10, status: Some(503) });
        assert_eq!(faults.take_api(), ApiFault { delay_ms: 0, status: Some(503) });
        assert_eq!(faults.take_api(), ApiFault::default());
        assert!(faults.is_empty());

        faults.push(
            Fault::Command {
                node: "cp-1".into(),
                argv_prefix: argv(&["apt-get", "install"]),
                times: Some(1),
                exit_code: 100,
                stdout: String::new(),
                stderr: "E: boom".into(),
            },
            None,
        );
        let install = argv(&["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y"]);
        assert!(faults.take_command("cp-2", &install, &install[2..]).is_none());
        assert_eq!(faults.take_command("cp-1", &install, &install[2..]).unwrap().exit_code, 100);
        assert!(faults.take_command("cp-1", &install, &install[2..]).is_none());

        faults.push(Fault::DropExec { node: "w".into(), times: None }, None);
        assert!(faults.take_drop_exec("w") && faults.take_drop_exec("w"));
        assert!(!faults.take_drop_exec("x"));
    }

    #[test]
    fn node_not_ready_waits_for_a_restart_unless_at_once() {
        let mut faults = Faults::default();
        faults.push(Fault::NodeNotReady { node: "a".into(), at_once: false }, None);
        faults.push(Fault::NodeNotReady { node: "b".into(), at_once: true }, None);
        assert!(!faults.node_not_ready("a"));
        assert!(faults.node_not_ready("b"));
        faults.arm_node_not_ready("a");
        assert!(faults.node_not_ready("a"));
        assert_eq!(faults.clear().len(), 2);
        assert!(!faults.node_not_ready("b"));
    }

    #[test]
    fn static_pod_fault_spares_the_baseline_manifest() {
        let mut faults = Faults::default();
        let fault = Fault::StaticPodNeverReady { node: "cp-1".into(), component: "etcd".into(), rollback: false };
        assert!(fault.validate().is_ok());
        faults.push(fault, Some("old".into()));
        assert_eq!(faults.static_pod_never_ready("cp-1", "etcd", "old"), None);
        assert_eq!(faults.static_pod_never_ready("cp-1", "etcd", "new"), Some(false));
        assert!(faults.skip_rollback("cp-1", "etcd"));
        let bad = Fault::StaticPodNeverReady { node: "cp-1".into(), component: "kubelet".into(), rollback: true };
        assert!(bad.validate().is_err());
    }
}
