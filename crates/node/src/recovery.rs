//! Recovery operations' vocabulary (issue 9): static pods stopped and started by moving
//! their manifests, manifests restored component by component from a kubeadm backup with
//! the replaced files kept aside, and the local etcd member restored from a snapshot or a
//! kubeadm etcd backup into a data directory whose previous contents are kept aside.
//!
//! Every command is an argv; the few that need a condition run a fixed `sh -c` script
//! whose data arrive as positional arguments. Nothing is ever deleted except kubeladder's
//! own half-restored etcd directory (`<data dir>.kubeladder-restoring`).
//!
//! kubeadm's layout (`cmd/kubeadm/app/phases/upgrade/staticpods.go`): it creates
//! `/etc/kubernetes/tmp/kubeadm-backup-manifests-YYYY-MM-DD-HH-MM-SS` (mode 0700) and moves
//! each replaced manifest into it; for etcd it creates `kubeadm-backup-etcd-...` and runs
//! `cp -r /var/lib/etcd <that dir>`, so the data lands in `<that dir>/etcd/member`.

use serde::{Deserialize, Serialize};

use kubeladder_core::kubeadm::{KUBEADM_TMP_DIR, StaticPod};

use crate::output::CommandOutput;

/// Where stopped static pod manifests wait (outside the manifests directory: the kubelet
/// runs every file there).
pub const STOPPED_DIR: &str = "/etc/kubernetes/tmp/kubeladder-stopped";
/// etcd's data directory in a kubeadm cluster.
pub const ETCD_DATA_DIR: &str = "/var/lib/etcd";

/// Where [`crate::NodeOp::StopStaticPod`] keeps a stopped pod's manifest.
pub fn stopped_manifest(pod: StaticPod) -> String {
    format!("{STOPPED_DIR}/{}", pod.file())
}

/// The static pods whose manifests a directory listing (`ls -1`, [`crate::NodeOp::ListDir`])
/// shows, in kubeadm's order.
pub fn manifests_in(listing: &CommandOutput) -> Vec<StaticPod> {
    let names: Vec<&str> = listing.stdout.lines().map(str::trim).collect();
    StaticPod::ALL.into_iter().filter(|pod| names.contains(&pod.file().as_str())).collect()
}

/// Where kubeadm keeps the etcd member's certificates.
pub const ETCD_PKI_DIR: &str = "/etc/kubernetes/pki/etcd";
/// The files an etcd member started by kubeadm's manifest needs to serve (its
/// `--trusted-ca-file`, `--cert-file`/`--key-file`, `--peer-cert-file`/`--peer-key-file`).
pub const ETCD_MEMBER_CERTS: [&str; 5] = ["ca.crt", "server.crt", "server.key", "peer.crt", "peer.key"];

/// The member certificates a listing of [`ETCD_PKI_DIR`] lacks (all of them when the
/// directory could not be listed): a restored member would not start without them.
pub fn missing_etcd_certs(listing: &CommandOutput) -> Vec<&'static str> {
    let names: Vec<&str> =
        if listing.exit_code == 0 { listing.stdout.lines().map(str::trim).collect() } else { Vec::new() };
    ETCD_MEMBER_CERTS.into_iter().filter(|c| !names.contains(c)).collect()
}

/// Which etcd tool restores snapshots: `etcdctl` up to etcd 3.4, `etcdutl` from 3.5
/// (`etcdctl snapshot restore` is deprecated there and gone in 3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestoreTool {
    Etcdctl,
    Etcdutl,
}

impl RestoreTool {
    /// The tool for the etcd version kubeadm runs (an image tag such as `3.4.13-0`).
    pub fn for_etcd(version: &str) -> Self {
        let mut parts = version.trim_start_matches('v').split(['.', '-']).map(str::parse::<u32>);
        match (parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor))) if (major, minor) < (3, 5) => Self::Etcdctl,
            _ => Self::Etcdutl,
        }
    }
}

/// What an etcd restore starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EtcdSource {
    /// A file `etcdctl snapshot save` wrote.
    Snapshot { path: String, tool: RestoreTool },
    /// A copy of a data directory (holding `member/`), e.g. kubeadm's
    /// `kubeadm-backup-etcd-.../etcd`: see [`kubeadm_etcd_backup_data`].
    DataCopy { path: String },
}

/// Where kubeadm's `cp -r <data dir> <backup dir>` put the data: `<backup>/<data dir's name>`.
pub fn kubeadm_etcd_backup_data(backup: &str, data_dir: &str) -> String {
    let name = data_dir.trim_end_matches('/').rsplit('/').next().unwrap_or("etcd");
    format!("{}/{name}", backup.trim_end_matches('/'))
}

/// The local etcd member as `etcdctl/etcdutl snapshot restore` must recreate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdMember {
    /// `--name` (kubeadm: the node name).
    pub name: String,
    /// `--initial-advertise-peer-urls` (kubeadm: `https://<node IP>:2380`).
    pub peer_url: String,
}

/// `sh -c` script moving `$1` to `$2`, refusing to overwrite `$2`.
pub(crate) const MOVE_NO_CLOBBER_SCRIPT: &str = r#"set -e; if [ -e "$2" ]; then echo "$2 already exists; not overwriting it" >&2; exit 1; fi; mkdir -p -- "$(dirname -- "$2")"; mv -- "$1" "$2""#;
/// `sh -c` script moving `$1`, if it exists, to `$2`, refusing to overwrite `$2`.
pub(crate) const MOVE_ASIDE_SCRIPT: &str = r#"set -e; if [ -e "$1" ]; then if [ -e "$2" ]; then echo "$2 already exists; not overwriting it" >&2; exit 1; fi; mv -- "$1" "$2"; fi"#;
/// `sh -c` script replacing manifest `$2` by backup file `$1`, keeping the replaced file in
/// directory `$3`; the new file arrives by rename, so the kubelet never sees it half-written.
pub(crate) const RESTORE_MANIFEST_SCRIPT: &str = r#"set -e; if [ ! -f "$1" ]; then echo "$1: no such backup file" >&2; exit 1; fi; n=$(basename -- "$2"); mkdir -p -m 700 -- "$3"; cp -p -- "$1" "$3/.$n.restoring"; if [ -e "$2" ]; then cp -p -- "$2" "$3/$n"; fi; mv -f -- "$3/.$n.restoring" "$2""#;

pub(crate) fn sh(script: &str, name: &str, args: &[&str]) -> Vec<String> {
    let mut argv = vec!["sh".to_owned(), "-c".to_owned(), script.to_owned(), name.to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    argv
}

/// `ls -1 -d -- PATHS`: prints the paths that exist (exit 2 when some do not).
pub(crate) fn exists_check(paths: &[&str]) -> Vec<String> {
    let mut argv = vec!["ls".to_owned(), "-1".to_owned(), "-d".to_owned(), "--".to_owned()];
    argv.extend(paths.iter().map(|p| (*p).to_owned()));
    argv
}

/// From an [`exists_check`]'s output: whether `path` exists.
pub(crate) fn listed(output: &CommandOutput, path: &str) -> bool {
    output.stdout.lines().any(|l| l == path)
}

/// Where the etcd restore builds the new data directory before it replaces the old one.
pub fn restoring_dir(data_dir: &str) -> String {
    format!("{}.kubeladder-restoring", data_dir.trim_end_matches('/'))
}

/// A directory name for what a recovery replaces: `<dir>-kubeladder-aside-<stamp>` next to
/// `path` for etcd data, `/etc/kubernetes/tmp/kubeladder-replaced-manifests-<stamp>` for
/// manifests. `stamp` is the caller's `YYYY-MM-DD-HH-MM-SS`, kubeadm's format.
pub fn etcd_aside(data_dir: &str, stamp: &str) -> String {
    format!("{}-kubeladder-aside-{stamp}", data_dir.trim_end_matches('/'))
}

/// See [`etcd_aside`].
pub fn manifests_aside(stamp: &str) -> String {
    format!("{KUBEADM_TMP_DIR}/kubeladder-replaced-manifests-{stamp}")
}

/// The commands restoring etcd data into `data_dir`: a clean build directory, the restore
/// into it (nothing is touched before it succeeds), the old data moved to `aside`, the new
/// directory renamed into place.
pub(crate) fn restore_etcd_argv(
    source: &EtcdSource,
    data_dir: &str,
    aside: &str,
    member: &EtcdMember,
) -> Vec<Vec<String>> {
    let building = restoring_dir(data_dir);
    let restore = match source {
        EtcdSource::Snapshot { path, tool } => {
            let mut argv = match tool {
                RestoreTool::Etcdctl => vec!["env".to_owned(), "ETCDCTL_API=3".to_owned(), "etcdctl".to_owned()],
                RestoreTool::Etcdutl => vec!["etcdutl".to_owned()],
            };
            argv.extend([
                "snapshot".to_owned(),
                "restore".to_owned(),
                path.clone(),
                format!("--data-dir={building}"),
                format!("--name={}", member.name),
                format!("--initial-cluster={}={}", member.name, member.peer_url),
                format!("--initial-advertise-peer-urls={}", member.peer_url),
            ]);
            argv
        }
        EtcdSource::DataCopy { path } => {
            vec![
                "cp".to_owned(),
                "-a".to_owned(),
                "--".to_owned(),
                path.trim_end_matches('/').to_owned(),
                building.clone(),
            ]
        }
    };
    vec![
        vec!["rm".to_owned(), "-rf".to_owned(), "--".to_owned(), building.clone()],
        restore,
        vec!["chmod".to_owned(), "700".to_owned(), "--".to_owned(), building.clone()],
        sh(MOVE_ASIDE_SCRIPT, "kubeladder-aside", &[data_dir, aside]),
        vec!["mv".to_owned(), "--".to_owned(), building, data_dir.to_owned()],
    ]
}

/// `<backup>/<pod>.yaml`
pub(crate) fn backup_file(backup: &str, pod: StaticPod) -> String {
    format!("{}/{}", backup.trim_end_matches('/'), pod.file())
}

pub(crate) fn member_dir(data_dir: &str) -> String {
    format!("{}/member", data_dir.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_restore_tool_by_etcd_version() {
        assert_eq!(RestoreTool::for_etcd("3.4.13-0"), RestoreTool::Etcdctl);
        assert_eq!(RestoreTool::for_etcd("v3.4.23"), RestoreTool::Etcdctl);
        assert_eq!(RestoreTool::for_etcd("3.5.21-0"), RestoreTool::Etcdutl);
        assert_eq!(RestoreTool::for_etcd("3.6.4-0"), RestoreTool::Etcdutl);
    }

    #[test]
    fn names_the_missing_etcd_member_certificates() {
        let listing =
            |code: i32, stdout: &str| CommandOutput { exit_code: code, stdout: stdout.into(), stderr: String::new() };
        let all = "ca.crt\nca.key\nhealthcheck-client.crt\nhealthcheck-client.key\npeer.crt\npeer.key\nserver.crt\nserver.key\n";
        assert!(missing_etcd_certs(&listing(0, all)).is_empty());
        assert_eq!(missing_etcd_certs(&listing(0, &all.replace("server.key\n", ""))), ["server.key"]);
        assert_eq!(missing_etcd_certs(&listing(2, "")), ETCD_MEMBER_CERTS);
    }

    #[test]
    fn finds_manifests_and_kubeadm_etcd_data() {
        let listing = CommandOutput {
            exit_code: 0,
            stdout: "kube-scheduler.yaml\nkube-apiserver.yaml\nnotes.txt\n".to_owned(),
            stderr: String::new(),
        };
        assert_eq!(manifests_in(&listing), [StaticPod::KubeApiserver, StaticPod::KubeScheduler]);
        assert_eq!(
            kubeadm_etcd_backup_data("/etc/kubernetes/tmp/kubeadm-backup-etcd-2024-05-01-10-00-00/", "/var/lib/etcd"),
            "/etc/kubernetes/tmp/kubeadm-backup-etcd-2024-05-01-10-00-00/etcd"
        );
        assert_eq!(stopped_manifest(StaticPod::Etcd), "/etc/kubernetes/tmp/kubeladder-stopped/etcd.yaml");
    }

    #[test]
    fn scripts_refuse_to_overwrite_and_restore_by_rename() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("sub/b"));
        std::fs::write(&a, "A").unwrap();
        let run = |argv: Vec<String>| std::process::Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
        let (sa, sb) = (a.display().to_string(), b.display().to_string());
        assert!(run(sh(MOVE_NO_CLOBBER_SCRIPT, "t", &[&sa, &sb])).status.success());
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "A");
        std::fs::write(&a, "A2").unwrap();
        let refused = run(sh(MOVE_NO_CLOBBER_SCRIPT, "t", &[&sa, &sb]));
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("already exists; not overwriting it"));
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "A", "untouched");
        // Aside: a missing source is nothing to do.
        let missing = tmp.path().join("missing").display().to_string();
        assert!(run(sh(MOVE_ASIDE_SCRIPT, "t", &[&missing, &sb])).status.success());

        let (backup, manifest, aside) =
            (tmp.path().join("backup.yaml"), tmp.path().join("m.yaml"), tmp.path().join("aside"));
        std::fs::write(&backup, "old").unwrap();
        std::fs::write(&manifest, "new").unwrap();
        let args = [backup.display().to_string(), manifest.display().to_string(), aside.display().to_string()];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert!(run(sh(RESTORE_MANIFEST_SCRIPT, "t", &args)).status.success());
        assert_eq!(std::fs::read_to_string(&manifest).unwrap(), "old");
        assert_eq!(std::fs::read_to_string(aside.join("m.yaml")).unwrap(), "new");
        assert_eq!(std::fs::read_dir(&aside).unwrap().count(), 1, "no temporary file left");
    }
}
