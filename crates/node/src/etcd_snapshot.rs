//! An etcd snapshot the way a real kubeadm node allows one.
//!
//! kubeadm's packages ship no `etcdctl`: it lives in the etcd image (distroless: the etcd
//! binaries only, no shell). So: a host `etcdctl` when the operator installed one, else
//! the etcd static pod's container through the CRI (`crictl ps` / `crictl exec`,
//! <https://kubernetes.io/docs/tasks/debug/debug-cluster/crictl/>), saving under
//! `/var/lib/etcd` - the one writable path kubeadm's etcd manifest mounts from the host at
//! the same path (kubernetes/kubernetes `cmd/kubeadm/app/phases/etcd/local.go`) - and
//! then moving it to its place on the host.
//!
//! The snapshot is verified with the tool its etcd version has: `etcdutl snapshot status`
//! from etcd 3.6 (which removed it from etcdctl, etcd-io/etcd#13798), `etcdctl snapshot
//! status` on 3.4/3.5. Its size and sha256 are recorded ([`SnapshotRecord`]), and
//! [`fetch`] copies it off the node in chunks (each under the executors' stdout limit)
//! so the caller can check it against the record.

use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use kubeladder_core::etcd::{EndpointStatus, Member};

use crate::exec::{Executor, shell_join};
use crate::ops::EtcdTls;
use crate::{CommandOutput, NodeError};

/// Where a container-side snapshot is written first: inside kubeadm's etcd data mount.
pub const STAGE_DIR: &str = "/var/lib/etcd";

/// Bytes per chunk when copying a file off a node (base64 of it stays under 8 MiB).
pub const CHUNK_BYTES: u64 = 4 << 20;

/// `sh -c` script reading one chunk: `$1` file, `$2` chunk index, as base64 on one line.
pub const READ_CHUNK_SCRIPT: &str = r#"set -e; dd if="$1" bs=4194304 skip="$2" count=1 status=none | base64 -w 0"#;

/// How etcd's tools are reached on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "kebab-case")]
pub enum EtcdAccess {
    /// `etcdctl` (and maybe `etcdutl`) on the host's PATH.
    Host { version: String, etcdutl: bool },
    /// Inside the etcd container, by id, through `crictl exec`.
    Container { id: String, version: String },
}

impl EtcdAccess {
    /// The etcd `(major, minor)` of the tools.
    pub fn minor(&self) -> Option<(u32, u32)> {
        let version = match self {
            Self::Host { version, .. } | Self::Container { version, .. } => version,
        };
        let mut parts = version.trim_start_matches('v').split(['.', '-']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    }

    /// Whether snapshot files are checked with `etcdutl` (etcd 3.6 and later).
    pub fn needs_etcdutl(&self) -> bool {
        self.minor().is_some_and(|m| m >= (3, 6))
    }

    fn describe(&self) -> String {
        match self {
            Self::Host { version, .. } => format!("host etcdctl {version}"),
            Self::Container { id, version } => format!("etcdctl {version} in the etcd container {id} (crictl exec)"),
        }
    }

    /// argv running `tool args...` this way.
    fn argv(&self, tool: &str, args: &[String]) -> Vec<String> {
        let mut argv = match self {
            Self::Host { .. } => vec![tool.to_owned()],
            Self::Container { id, .. } => vec!["crictl".to_owned(), "exec".to_owned(), id.clone(), tool.to_owned()],
        };
        argv.extend(args.iter().cloned());
        argv
    }
}

/// What a taken snapshot is: where, how big, its sha256, how it was taken and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub node: String,
    pub node_path: String,
    pub size: u64,
    pub sha256: String,
    pub etcd_version: String,
    pub taken_with: String,
    pub verified_with: String,
    pub revision: u64,
    pub total_keys: u64,
}

fn tls_args(tls: &EtcdTls) -> Vec<String> {
    vec![
        format!("--endpoints={}", tls.endpoint),
        format!("--cacert={}", tls.cacert),
        format!("--cert={}", tls.cert),
        format!("--key={}", tls.key),
    ]
}

fn failed(exec: &dyn Executor, argv: &[String], out: &CommandOutput) -> NodeError {
    NodeError::CommandFailed {
        node: exec.node().to_owned(),
        command: shell_join(argv),
        exit_code: out.exit_code,
        stderr_tail: out.stderr.trim_end().to_owned(),
    }
}

async fn run_ok(exec: &dyn Executor, argv: &[String], timeout: Duration) -> Result<CommandOutput, NodeError> {
    let out = exec.run(argv, timeout).await?;
    if out.exit_code == 0 { Ok(out) } else { Err(failed(exec, argv, &out)) }
}

/// A missing program: exit 127 from a shell, or sudo's `command not found` (exit 1).
fn not_found(out: &CommandOutput) -> bool {
    out.exit_code == 127 || (out.exit_code != 0 && out.stderr.contains("command not found"))
}

/// `etcdctl version: 3.5.21` -> `3.5.21`.
fn parse_version(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|l| l.split_once("version:").map(|(_, v)| v.trim().to_owned())).filter(|v| !v.is_empty())
}

/// How this node offers etcd's tools: a host etcdctl, else the running etcd container.
pub async fn locate(exec: &dyn Executor, timeout: Duration) -> Result<EtcdAccess, NodeError> {
    let node = exec.node().to_owned();
    let version = vec!["etcdctl".to_owned(), "version".to_owned()];
    let host = exec.run(&version, timeout).await?;
    if host.exit_code == 0 {
        let version = parse_version(&host.stdout).ok_or_else(|| NodeError::Output {
            command: "etcdctl version".to_owned(),
            reason: format!("no version in {:?}", host.stdout.trim()),
        })?;
        let utl = exec.run(&["etcdutl".to_owned(), "version".to_owned()], timeout).await?;
        return Ok(EtcdAccess::Host { version, etcdutl: utl.exit_code == 0 });
    }
    let ps: Vec<String> = [
        "crictl",
        "ps",
        "--name",
        "^etcd$",
        "--state",
        "running",
        "--label",
        "io.kubernetes.pod.namespace=kube-system",
        "-q",
    ]
    .map(str::to_owned)
    .to_vec();
    let listed = exec.run(&ps, timeout).await?;
    if not_found(&listed) {
        return Err(NodeError::EtcdSnapshot {
            node,
            reason: "neither etcdctl nor crictl is on the node's PATH; install crictl (cri-tools, which kubeadm's packages depend on) or etcdctl".to_owned(),
        });
    }
    if listed.exit_code != 0 {
        return Err(failed(exec, &ps, &listed));
    }
    let Some(id) = listed.stdout.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned) else {
        return Err(NodeError::EtcdSnapshot {
            node,
            reason: format!(
                "no etcdctl on the host and no running etcd container (`{}` listed none): is etcd a static pod of this node, or external?",
                shell_join(&ps)
            ),
        });
    };
    let argv = vec!["crictl".to_owned(), "exec".to_owned(), id.clone(), "etcdctl".to_owned(), "version".to_owned()];
    let out = run_ok(exec, &argv, timeout).await?;
    let version = parse_version(&out.stdout).ok_or_else(|| NodeError::Output {
        command: shell_join(&argv),
        reason: format!("no version in {:?}", out.stdout.trim()),
    })?;
    Ok(EtcdAccess::Container { id, version })
}

/// `snapshot status -w json` of `path` with the tool its etcd version has; (revision, keys).
async fn verify(
    exec: &dyn Executor,
    access: &EtcdAccess,
    path: &str,
    timeout: Duration,
) -> Result<(String, u64, u64), NodeError> {
    let tool = if access.needs_etcdutl() { "etcdutl" } else { "etcdctl" };
    if let EtcdAccess::Host { etcdutl: false, version } = access
        && tool == "etcdutl"
    {
        return Err(NodeError::EtcdSnapshot {
            node: exec.node().to_owned(),
            reason: format!(
                "etcd {version} checks snapshots with etcdutl (etcdctl lost `snapshot status` in 3.6, etcd-io/etcd#13798), and the host has etcdctl without etcdutl; install etcdutl {version}"
            ),
        });
    }
    let args: Vec<String> = ["snapshot", "status", path, "-w", "json"].map(str::to_owned).to_vec();
    let argv = access.argv(tool, &args);
    let out = run_ok(exec, &argv, timeout).await?;
    let parsed: serde_json::Value = serde_json::from_str(out.stdout.trim()).map_err(|e| NodeError::EtcdSnapshot {
        node: exec.node().to_owned(),
        reason: format!("`{}` did not print a snapshot status ({e}): {:?}", shell_join(&argv), out.stdout.trim()),
    })?;
    let number = |key: &str| parsed.get(key).and_then(serde_json::Value::as_u64);
    match (number("revision"), number("totalKey")) {
        (Some(revision), Some(keys)) => Ok((format!("{tool} snapshot status"), revision, keys)),
        _ => Err(NodeError::EtcdSnapshot {
            node: exec.node().to_owned(),
            reason: format!("`{}` printed no revision/totalKey: {}", shell_join(&argv), out.stdout.trim()),
        }),
    }
}

/// What the etcd cluster says about itself, asked through `access` on this node:
/// `member list -w json` and `endpoint status --cluster -w json` (whose exit code is 1
/// when a member does not answer; the ones that do are still printed).
pub async fn cluster_status(
    exec: &dyn Executor,
    access: &EtcdAccess,
    tls: &EtcdTls,
    timeout: Duration,
) -> Result<(Vec<Member>, Vec<EndpointStatus>), NodeError> {
    let mut args = tls_args(tls);
    args.extend(["member", "list", "-w", "json"].map(str::to_owned));
    let argv = access.argv("etcdctl", &args);
    let out = run_ok(exec, &argv, timeout).await?;
    let members =
        parse_members(&out.stdout).map_err(|reason| NodeError::Output { command: shell_join(&argv), reason })?;
    let mut args = tls_args(tls);
    args.extend(["endpoint", "status", "--cluster", "-w", "json"].map(str::to_owned));
    let argv = access.argv("etcdctl", &args);
    let out = exec.run(&argv, timeout).await?;
    if out.exit_code > 1 || (out.exit_code == 1 && out.stdout.trim().is_empty() && members.is_empty()) {
        return Err(failed(exec, &argv, &out));
    }
    let statuses = if out.stdout.trim().is_empty() {
        Vec::new()
    } else {
        parse_statuses(&out.stdout).map_err(|reason| NodeError::Output { command: shell_join(&argv), reason })?
    };
    Ok((members, statuses))
}

fn parse_members(stdout: &str) -> Result<Vec<Member>, String> {
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| e.to_string())?;
    let list = value.get("members").and_then(serde_json::Value::as_array).ok_or("no `members` array")?;
    let strings = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    list.iter()
        .map(|m| {
            Ok(Member {
                id: m.get("ID").and_then(serde_json::Value::as_u64).ok_or("a member without `ID`")?,
                name: m.get("name").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned(),
                peer_urls: strings(m, "peerURLs"),
                client_urls: strings(m, "clientURLs"),
                is_learner: m.get("isLearner").and_then(serde_json::Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

fn parse_statuses(stdout: &str) -> Result<Vec<EndpointStatus>, String> {
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| e.to_string())?;
    let list = value.as_array().ok_or("not a JSON array")?;
    list.iter()
        .map(|e| {
            let status = e.get("Status").ok_or("an entry without `Status`")?;
            let number = |v: Option<&serde_json::Value>| v.and_then(serde_json::Value::as_u64);
            Ok(EndpointStatus {
                endpoint: e.get("Endpoint").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned(),
                member_id: number(status.pointer("/header/member_id")).ok_or("no header.member_id")?,
                leader: number(status.get("leader")).unwrap_or(0),
                db_size: number(status.get("dbSize")).unwrap_or(0),
                version: status.get("version").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// The sha256 of a file on the node, `None` when it does not exist.
pub async fn remote_sha256(exec: &dyn Executor, path: &str, timeout: Duration) -> Result<Option<String>, NodeError> {
    let argv = vec!["sha256sum".to_owned(), "--".to_owned(), path.to_owned()];
    let out = exec.run(&argv, timeout).await?;
    if out.exit_code != 0 {
        return Ok(None);
    }
    Ok(out.stdout.split_whitespace().next().map(str::to_owned))
}

/// Take a snapshot to `path` on the node, verify it, and record its size and sha256.
pub async fn take(
    exec: &dyn Executor,
    path: &str,
    tls: &EtcdTls,
    timeout: Duration,
) -> Result<SnapshotRecord, NodeError> {
    let access = locate(exec, timeout).await?;
    let name = path.rsplit('/').next().unwrap_or("snapshot.db");
    let dir = path.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
    run_ok(exec, &["mkdir".to_owned(), "-p".to_owned(), "--".to_owned(), dir.to_owned()], timeout).await?;
    let stage = match access {
        EtcdAccess::Host { .. } => path.to_owned(),
        EtcdAccess::Container { .. } => format!("{STAGE_DIR}/kubeladder-{name}"),
    };
    let mut save = tls_args(tls);
    save.extend(["snapshot".to_owned(), "save".to_owned(), stage.clone()]);
    let save = access.argv("etcdctl", &save);
    run_ok(exec, &save, timeout).await?;
    let (verified_with, revision, total_keys) = verify(exec, &access, &stage, timeout).await?;
    if stage != path {
        run_ok(exec, &["mv".to_owned(), "-f".to_owned(), "--".to_owned(), stage.clone(), path.to_owned()], timeout)
            .await?;
    }
    let size_argv = vec!["stat".to_owned(), "-c".to_owned(), "%s".to_owned(), path.to_owned()];
    let size_out = run_ok(exec, &size_argv, timeout).await?;
    let size = size_out.stdout.trim().parse::<u64>().map_err(|e| NodeError::Output {
        command: shell_join(&size_argv),
        reason: format!("{e}: {:?}", size_out.stdout.trim()),
    })?;
    let sha256 = remote_sha256(exec, path, timeout).await?.ok_or_else(|| NodeError::EtcdSnapshot {
        node: exec.node().to_owned(),
        reason: format!("the snapshot {path} vanished before its checksum was read"),
    })?;
    Ok(SnapshotRecord {
        node: exec.node().to_owned(),
        node_path: path.to_owned(),
        size,
        sha256,
        etcd_version: match &access {
            EtcdAccess::Host { version, .. } | EtcdAccess::Container { version, .. } => version.clone(),
        },
        taken_with: access.describe(),
        verified_with,
        revision,
        total_keys,
    })
}

/// Copy `size` bytes of `path` off the node, chunk by chunk.
pub async fn fetch(exec: &dyn Executor, path: &str, size: u64, timeout: Duration) -> Result<Vec<u8>, NodeError> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let chunks = size.div_ceil(CHUNK_BYTES).max(1);
    for index in 0..chunks {
        let argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            READ_CHUNK_SCRIPT.to_owned(),
            "kubeladder-read-chunk".to_owned(),
            path.to_owned(),
            index.to_string(),
        ];
        let out = run_ok(exec, &argv, timeout).await?;
        let chunk = base64::engine::general_purpose::STANDARD
            .decode(out.stdout.trim())
            .map_err(|e| NodeError::Output { command: shell_join(&argv), reason: format!("not base64: {e}") })?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_etcdctl_json() {
        let members = parse_members(
            r#"{"header":{"cluster_id":1,"member_id":2,"raft_term":3},"members":[{"ID":17293847293847293847,"name":"cp-1","peerURLs":["https://10.0.0.1:2380"],"clientURLs":["https://10.0.0.1:2379"]},{"ID":5,"name":"","peerURLs":["https://10.0.0.9:2380"],"isLearner":true}]}"#,
        )
        .unwrap();
        assert_eq!(members[0].id, 17_293_847_293_847_293_847);
        assert!(!members[0].is_learner && members[1].is_learner);
        let statuses = parse_statuses(
            r#"[{"Endpoint":"https://10.0.0.1:2379","Status":{"header":{"cluster_id":1,"member_id":17293847293847293847,"revision":9,"raft_term":2},"version":"3.5.21","dbSize":20480,"leader":17293847293847293847,"raftIndex":9,"raftTerm":2}}]"#,
        )
        .unwrap();
        assert_eq!((statuses[0].db_size, statuses[0].leader), (20480, 17_293_847_293_847_293_847));
    }

    #[test]
    fn versions_pick_the_checking_tool() {
        let host = |v: &str| EtcdAccess::Host { version: v.to_owned(), etcdutl: true };
        assert!(!host("3.4.13-0").needs_etcdutl());
        assert!(!host("3.5.21").needs_etcdutl());
        assert!(host("3.6.4").needs_etcdutl());
        assert_eq!(parse_version("etcdctl version: 3.6.4\nAPI version: 3.6\n").as_deref(), Some("3.6.4"));
        let c = EtcdAccess::Container { id: "abc".into(), version: "3.6.4".into() };
        assert_eq!(c.argv("etcdutl", &["version".into()]), ["crictl", "exec", "abc", "etcdutl", "version"]);
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
