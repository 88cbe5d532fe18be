//! `etcdctl` against the host's local etcd: `snapshot save` (needs the etcd static pod
//! Ready and the client certificates), `snapshot status -w json|table`, `snapshot restore
//! --data-dir`, `endpoint health`, `version`; `etcdutl` (etcd 3.5+) for the offline ones,
//! `snapshot status` and `snapshot restore`. A snapshot file records the store's revision
//! and object count at the time it was taken; a restore writes a healthy data directory.

use std::sync::Arc;

use super::files::{normalize, parent};
use super::{CommandOutput, ETCD_DB, Host};

const SNAPSHOT_MAGIC: &str = "kubeladder-sim etcd snapshot";

/// Which tool answers: `etcdctl` or `etcdutl` (`offline`), of etcd `minor` (`(3, 5)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EtcdTool {
    pub offline: bool,
    pub minor: (u32, u32),
}

/// One etcd member as the cluster lists it: every control-plane host's stacked etcd (its
/// peer URL on the host's address, kubeadm's `cmd/kubeadm/app/phases/etcd/local.go`) and
/// any stale member a fault adds.
#[derive(Debug, Clone)]
pub(crate) struct SimMember {
    pub name: String,
    pub ip: String,
    /// Its etcd static pod is Ready (a stale member never is).
    pub serving: bool,
}

impl SimMember {
    /// A stable member ID (etcd derives it from the peer URLs and cluster token).
    pub fn id(&self) -> u64 {
        let hash = crate::util::content_hash(&format!("https://{}:2380", self.ip));
        u64::from_str_radix(&hash[..15], 16).unwrap_or(1)
    }
}

/// What the store looks like to etcd when a snapshot is taken.
#[derive(Debug, Clone)]
pub(crate) struct EtcdView {
    pub revision: u64,
    pub keys: usize,
    /// Whether this host's etcd static pod is Ready (it answers clients).
    pub serving: bool,
    /// The cluster's members.
    pub members: Vec<SimMember>,
}

#[derive(Debug, Default)]
struct Flags {
    endpoints: Option<String>,
    certs: Vec<String>,
    write_out: String,
    data_dir: Option<String>,
    cluster: bool,
}

/// `etcdctl [flags] COMMAND ...` (or `etcdutl` with `offline`). Returns the answer and its
/// duration (simulated seconds).
pub(crate) fn etcdctl(
    host: &mut Host,
    args: &[String],
    view: &EtcdView,
    now: f64,
    tool: EtcdTool,
) -> (CommandOutput, f64) {
    let offline = tool.offline;
    let mut flags = Flags { write_out: "simple".to_owned(), ..Flags::default() };
    let mut words: Vec<&str> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if arg.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let takes_value = matches!(
            name,
            "--endpoints"
                | "--cacert"
                | "--cert"
                | "--key"
                | "-w"
                | "--write-out"
                | "--data-dir"
                | "--command-timeout"
                | "--dial-timeout"
                | "--name"
                | "--initial-cluster"
                | "--initial-advertise-peer-urls"
                | "--initial-cluster-token"
                | "--wal-dir"
        );
        if !name.starts_with('-') {
            words.push(arg);
            continue;
        }
        if name == "--skip-hash-check" {
            continue;
        }
        if name == "--cluster" {
            flags.cluster = true;
            continue;
        }
        if !takes_value {
            return (CommandOutput::usage(format!("Error: unknown flag: {name}")), 0.0);
        }
        let Some(value) = inline.or_else(|| iter.next().cloned()) else {
            return (CommandOutput::usage(format!("Error: flag needs an argument: {name}")), 0.0);
        };
        match name {
            "--endpoints" => flags.endpoints = Some(value),
            "--cacert" | "--cert" | "--key" => flags.certs.push(value),
            "-w" | "--write-out" => flags.write_out = value,
            "--data-dir" => flags.data_dir = Some(value),
            _ => {}
        }
    }
    let name = if offline { "etcdutl" } else { "etcdctl" };
    // etcd 3.6 removed `snapshot status` and `snapshot restore` from etcdctl
    // (etcd-io/etcd#13798); cobra then treats the word as an argument of `snapshot`, a
    // command without a Run of its own, and prints its help.
    let removed = !offline && tool.minor >= (3, 6);
    match words.as_slice() {
        ["snapshot", "save", path] if !offline => save(host, &flags, path, view, now),
        ["snapshot", "status" | "restore", ..] if removed => (snapshot_help(), 0.0),
        ["snapshot", "status", path] => {
            let mut out = status(host, path, &flags.write_out);
            // etcd 3.5's etcdctl still answers, with a deprecation notice on stderr
            // (etcdctl/ctlv3/command/snapshot_command.go in release-3.5).
            if !offline && tool.minor == (3, 5) {
                out.stderr.insert_str(0, "Deprecated: Use `etcdutl snapshot status` instead.\n\n");
            }
            (out, 0.1)
        }
        ["snapshot", "restore", path] => (restore(host, path, flags.data_dir.as_deref(), now), 1.0),
        ["member", "list"] if !offline => match reach(host, &flags, view) {
            Ok(_) => (member_list(view, &flags.write_out), 0.1),
            Err(out) => (out, 5.0),
        },
        ["endpoint", "status"] if !offline && flags.cluster => match reach(host, &flags, view) {
            Ok(_) => endpoint_status(view, &flags.write_out),
            Err(out) => (out, 5.0),
        },
        ["endpoint", "health"] if !offline => match reach(host, &flags, view) {
            Ok(endpoint) => (
                CommandOutput::ok(format!("{endpoint} is healthy: successfully committed proposal: took = 9.12ms\n")),
                0.1,
            ),
            Err(out) => (out, 5.0),
        },
        ["version"] => {
            let (major, minor) = tool.minor;
            (CommandOutput::ok(format!("{name} version: {major}.{minor}.0\nAPI version: {major}.{minor}\n")), 0.0)
        }
        _ => (CommandOutput::usage(format!("Error: unknown command {:?} for \"{name}\"", words.join(" "))), 0.0),
    }
}

/// `member list -w json`: etcdctl's JSON printer (`etcdctl/ctlv3/command/printer_json.go`)
/// marshals the `MemberListResponse`: `ID`, `name`, `peerURLs`, `clientURLs`, and
/// `isLearner` only when true (protobuf's omitempty).
fn member_list(view: &EtcdView, write_out: &str) -> CommandOutput {
    if write_out != "json" {
        let mut out = CommandOutput::default();
        for m in &view.members {
            out.line(format!("{:x}, started, {}, https://{}:2380, https://{}:2379, false", m.id(), m.name, m.ip, m.ip));
        }
        return out;
    }
    let members: Vec<serde_json::Value> = view
        .members
        .iter()
        .map(|m| {
            serde_json::json!({
                "ID": m.id(),
                "name": m.name,
                "peerURLs": [format!("https://{}:2380", m.ip)],
                "clientURLs": [format!("https://{}:2379", m.ip)],
            })
        })
        .collect();
    let header = serde_json::json!({"cluster_id": 1, "member_id": view.members.first().map_or(0, SimMember::id), "raft_term": 2});
    CommandOutput::ok(format!("{}\n", serde_json::json!({"header": header, "members": members})))
}

/// `endpoint status --cluster -w json`: one entry per member that answers; each that does
/// not gets `Failed to get the status of endpoint URL (context deadline exceeded)` on
/// stderr and the exit code is 1 (`etcdctl/ctlv3/command/ep_command.go`, `epStatusCommandFunc`).
fn endpoint_status(view: &EtcdView, write_out: &str) -> (CommandOutput, f64) {
    let leader = if view.members.iter().filter(|m| m.serving).count() * 2 > view.members.len() {
        view.members.iter().find(|m| m.serving).map_or(0, SimMember::id)
    } else {
        0
    };
    let mut out = CommandOutput::default();
    let mut entries = Vec::new();
    let db_size = 4096 + view.keys as u64 * 1024;
    for m in &view.members {
        let endpoint = format!("https://{}:2379", m.ip);
        if !m.serving {
            out.fail_with(1, format!("Failed to get the status of endpoint {endpoint} (context deadline exceeded)\n"));
            continue;
        }
        entries.push(serde_json::json!({
            "Endpoint": endpoint,
            "Status": {
                "header": {"cluster_id": 1, "member_id": m.id(), "revision": view.revision, "raft_term": 2},
                "version": "3.5.21",
                "dbSize": db_size,
                "leader": leader,
                "raftIndex": view.revision,
                "raftTerm": 2,
            }
        }));
    }
    if write_out == "json" {
        out.stdout = format!("{}\n", serde_json::Value::Array(entries));
    } else {
        for e in &entries {
            out.line(format!(
                "{}, {:x}, 3.5.21, {db_size}, {}",
                e["Endpoint"].as_str().unwrap_or(""),
                e["Status"]["header"]["member_id"].as_u64().unwrap_or(0),
                e["Status"]["leader"] == e["Status"]["header"]["member_id"]
            ));
        }
    }
    let secs = if out.exit_code == 0 { 0.1 } else { 5.0 };
    (out, secs)
}

/// `etcdctl snapshot --help` of etcd 3.6: `save` is its only subcommand.
fn snapshot_help() -> CommandOutput {
    CommandOutput::ok(
        "NAME:\n\tsnapshot - Manages etcd node snapshots\n\nUSAGE:\n\tetcdctl snapshot <subcommand> [flags]\n\nAPI VERSION:\n\t3.6\n\nCOMMANDS:\n\tsave\tStores an etcd node backend snapshot to a given file\n",
    )
}

/// Connect to the local etcd with the client certificates: the endpoint, or the error.
fn reach(host: &Host, flags: &Flags, view: &EtcdView) -> Result<String, CommandOutput> {
    let endpoint = flags.endpoints.clone().unwrap_or_else(|| "127.0.0.1:2379".to_owned());
    for cert in &flags.certs {
        if !host.files.is_file(cert) {
            return Err(CommandOutput::fail(1, format!("Error: open {cert}: no such file or directory\n")));
        }
    }
    let local = endpoint.contains("127.0.0.1:2379")
        || endpoint.contains("localhost:2379")
        || endpoint.contains(&format!("{}:2379", host.address));
    if !local || !view.serving || !host.files.is_file(ETCD_DB) {
        return Err(CommandOutput::fail(1, "Error: context deadline exceeded\n"));
    }
    Ok(endpoint)
}

fn save(host: &mut Host, flags: &Flags, path: &str, view: &EtcdView, now: f64) -> (CommandOutput, f64) {
    let endpoint = match reach(host, flags, view) {
        Ok(endpoint) => endpoint,
        Err(out) => return (out, 5.0),
    };
    let path = normalize(path);
    if !host.files.is_dir(parent(&path)) {
        return (
            CommandOutput::fail(
                1,
                format!("Error: could not open {path}.part (open {path}.part: no such file or directory)\n"),
            ),
            0.1,
        );
    }
    let size = 4096 + view.keys * 1024;
    let hash = crate::util::content_hash(&format!("{}:{}", view.revision, view.keys));
    let hash = u64::from_str_radix(&hash[..12], 16).unwrap_or(0);
    let text =
        format!("{SNAPSHOT_MAGIC}\nrevision: {}\nkeys: {}\nsize: {size}\nhash: {hash}\n", view.revision, view.keys);
    if let Err(err) = host.files.write(&path, Arc::from(text), 0o600, now) {
        return (CommandOutput::fail(1, format!("Error: could not open {path}.part ({})\n", err.text())), 0.1);
    }
    let log = format!(
        "{{\"level\":\"info\",\"msg\":\"created temporary db file\",\"path\":\"{path}.part\"}}\n{{\"level\":\"info\",\"msg\":\"fetching snapshot\",\"endpoint\":\"{endpoint}\"}}\n{{\"level\":\"info\",\"msg\":\"fetched snapshot\",\"endpoint\":\"{endpoint}\",\"size\":\"{size} B\"}}\n{{\"level\":\"info\",\"msg\":\"saved\",\"path\":\"{path}\"}}\n"
    );
    (CommandOutput { exit_code: 0, stdout: format!("Snapshot saved at {path}\n"), stderr: log }, 2.0)
}

/// The numbers a snapshot file records: (hash, revision, keys, size).
fn read_snapshot(host: &Host, path: &str) -> Result<(u64, u64, u64, u64), CommandOutput> {
    let text = match host.files.read(path) {
        Ok(data) => data.content.clone(),
        Err(err) => return Err(CommandOutput::fail(1, format!("Error: stat {path}: {}\n", err.text().to_lowercase()))),
    };
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<u64>().ok()));
    match (text.starts_with(SNAPSHOT_MAGIC), field("hash:"), field("revision:"), field("keys:"), field("size:")) {
        (true, Some(hash), Some(revision), Some(keys), Some(size)) => Ok((hash, revision, keys, size)),
        _ => Err(CommandOutput::fail(1, "Error: snapshot file integrity check failed\n")),
    }
}

fn status(host: &Host, path: &str, write_out: &str) -> CommandOutput {
    let (hash, revision, keys, size) = match read_snapshot(host, path) {
        Ok(numbers) => numbers,
        Err(out) => return out,
    };
    match write_out {
        "json" => CommandOutput::ok(format!(
            "{{\"hash\":{hash},\"revision\":{revision},\"totalKey\":{keys},\"totalSize\":{size}}}\n"
        )),
        "table" => CommandOutput::ok(format!(
            "+----------+----------+------------+------------+\n|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |\n+----------+----------+------------+------------+\n| {hash:x} | {revision} | {keys} | {size} B |\n+----------+----------+------------+------------+\n"
        )),
        "simple" | "fields" => CommandOutput::ok(format!("{hash:x}, {revision}, {keys}, {size} B\n")),
        other => CommandOutput::usage(format!("Error: unknown output format {other:?}")),
    }
}

fn restore(host: &mut Host, path: &str, data_dir: Option<&str>, now: f64) -> CommandOutput {
    if let Err(out) = read_snapshot(host, path) {
        return out;
    }
    let data_dir = normalize(data_dir.unwrap_or("default.etcd"));
    if host.files.exists(&data_dir) {
        return CommandOutput::fail(1, format!("Error: data-dir {data_dir:?} exists\n"));
    }
    let db = format!("{data_dir}/member/snap/db");
    let text = format!("kubeladder-sim etcd data restored from {}\n", normalize(path));
    match host.files.write_all(&db, Arc::from(text), 0o600, now) {
        Ok(()) => CommandOutput {
            exit_code: 0,
            stdout: String::new(),
            stderr: format!(
                "{{\"level\":\"info\",\"msg\":\"restoring snapshot\",\"path\":\"{path}\",\"wal-dir\":\"{data_dir}/member/wal\",\"data-dir\":\"{data_dir}\"}}\n{{\"level\":\"info\",\"msg\":\"restored snapshot\",\"path\":\"{path}\"}}\n"
            ),
        },
        Err(err) => CommandOutput::fail(1, format!("Error: mkdir {data_dir}: {}\n", err.text())),
    }
}
