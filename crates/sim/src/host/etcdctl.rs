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

/// What the store looks like to etcd when a snapshot is taken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EtcdView {
    pub revision: u64,
    pub keys: usize,
    /// Whether this host's etcd static pod is Ready (it answers clients).
    pub serving: bool,
}

#[derive(Debug, Default)]
struct Flags {
    endpoints: Option<String>,
    certs: Vec<String>,
    write_out: String,
    data_dir: Option<String>,
}

/// `etcdctl [flags] COMMAND ...` (or `etcdutl` with `offline`). Returns the answer and its
/// duration (simulated seconds).
pub(crate) fn etcdctl(
    host: &mut Host,
    args: &[String],
    view: EtcdView,
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

/// `etcdctl snapshot --help` of etcd 3.6: `save` is its only subcommand.
fn snapshot_help() -> CommandOutput {
    CommandOutput::ok(
        "NAME:\n\tsnapshot - Manages etcd node snapshots\n\nUSAGE:\n\tetcdctl snapshot <subcommand> [flags]\n\nAPI VERSION:\n\t3.6\n\nCOMMANDS:\n\tsave\tStores an etcd node backend snapshot to a given file\n",
    )
}

/// Connect to the local etcd with the client certificates: the endpoint, or the error.
fn reach(host: &Host, flags: &Flags, view: EtcdView) -> Result<String, CommandOutput> {
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

fn save(host: &mut Host, flags: &Flags, path: &str, view: EtcdView, now: f64) -> (CommandOutput, f64) {
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
