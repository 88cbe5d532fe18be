//! Removing what kubeadm and kubeladder leave behind on a control-plane node: kubeadm's
//! `kubeadm-backup-etcd-*` / `kubeadm-backup-manifests-*` directories (kubeadm copies
//! `/var/lib/etcd` there on every `upgrade apply` of a stacked control plane and never
//! prunes them: kubernetes/kubernetes `cmd/kubeadm/app/phases/upgrade/staticpods.go`) and
//! kubeladder's etcd snapshots. Only paths of those shapes are ever removed.

use std::time::Duration;

use kubeladder_core::kubeadm::KUBEADM_TMP_DIR;

use crate::exec::{Executor, shell_join};
use crate::{CommandOutput, NodeError};

/// kubeladder's snapshot directory on a node.
pub const SNAPSHOT_DIR: &str = "/var/lib/kubeladder/snapshots";

/// Whether `path` is one a prune may remove: a kubeadm backup directory right under
/// `/etc/kubernetes/tmp`, or a `.db` snapshot in a run directory under [`SNAPSHOT_DIR`].
pub fn removable(path: &str) -> bool {
    if path.contains("/../") || path.ends_with("/..") || path.contains("//") {
        return false;
    }
    if let Some(name) = path.strip_prefix(KUBEADM_TMP_DIR).and_then(|r| r.strip_prefix('/')) {
        return !name.contains('/')
            && (name.starts_with("kubeadm-backup-etcd-") || name.starts_with("kubeadm-backup-manifests-"));
    }
    if let Some(rest) = path.strip_prefix(SNAPSHOT_DIR).and_then(|r| r.strip_prefix('/')) {
        let parts: Vec<&str> = rest.split('/').collect();
        let is_db = std::path::Path::new(parts.get(1).copied().unwrap_or_default())
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("db"));
        return parts.len() == 2 && !parts[0].is_empty() && is_db && parts[1].len() > 3;
    }
    false
}

/// `rm -rf -- PATH` for a removable path; anything else is refused before running.
pub async fn remove(exec: &dyn Executor, path: &str, timeout: Duration) -> Result<CommandOutput, NodeError> {
    if !removable(path) {
        return Err(NodeError::Unsupported {
            operation: format!("removing {path}"),
            package_manager: "prune".to_owned(),
            reason: "only kubeadm backup directories and kubeladder snapshots are pruned".to_owned(),
        });
    }
    let argv = vec!["rm".to_owned(), "-rf".to_owned(), "--".to_owned(), path.to_owned()];
    let out = exec.run(&argv, timeout).await?;
    if out.exit_code != 0 {
        return Err(NodeError::CommandFailed {
            node: exec.node().to_owned(),
            command: shell_join(&argv),
            exit_code: out.exit_code,
            stderr_tail: out.stderr.trim_end().to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_backups_and_snapshots_are_removable() {
        assert!(removable("/etc/kubernetes/tmp/kubeadm-backup-etcd-2026-01-02-03-04-05"));
        assert!(removable("/etc/kubernetes/tmp/kubeadm-backup-manifests-2026-01-02-03-04-05"));
        assert!(removable("/var/lib/kubeladder/snapshots/run-1/h1_cp-1_etcd-snapshot.db"));
        for bad in [
            "/etc/kubernetes/tmp",
            "/etc/kubernetes/tmp/kubeadm-backup-etcd-x/../../pki",
            "/etc/kubernetes/manifests",
            "/var/lib/etcd",
            "/var/lib/kubeladder/snapshots/run-1",
            "/var/lib/kubeladder/snapshots/run-1/.db",
            "/etc/kubernetes/tmp/kubeadm-kubelet-config-x",
        ] {
            assert!(!removable(bad), "{bad}");
        }
    }
}
