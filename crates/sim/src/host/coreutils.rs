//! The coreutils kubeladder uses to record and fetch a file: `sha256sum FILE...`,
//! `stat -c %s FILE...`, `base64 -w 0 FILE`, answered with GNU coreutils' output formats
//! and messages (<https://www.gnu.org/software/coreutils/manual/coreutils.html>).

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{CommandOutput, Host};

fn missing(tool: &str, path: &str) -> String {
    format!("{tool}: {path}: No such file or directory\n")
}

/// `sha256sum FILE...`: `HEX  FILE` per file; exit 1 when one is missing.
pub(crate) fn sha256sum(host: &Host, args: &[String]) -> CommandOutput {
    let mut out = CommandOutput::default();
    for path in args.iter().filter(|a| a.as_str() != "--") {
        if path.starts_with('-') {
            return CommandOutput::fail(1, format!("sha256sum: unrecognized option '{path}'\n"));
        }
        match host.files.read(path) {
            Ok(data) => out.line(format!("{}  {path}", hex(&Sha256::digest(data.content.as_bytes())))),
            Err(_) => out.fail_with(1, missing("sha256sum", path)),
        }
    }
    out
}

/// `stat -c %s FILE...`: the size in bytes per file (the one format kubeladder asks).
pub(crate) fn stat(host: &Host, args: &[String]) -> CommandOutput {
    let (format, paths) = match args {
        [c, f, rest @ ..] if c == "-c" => (f.as_str(), rest),
        _ => return CommandOutput::fail(1, "stat: the simulated stat answers `stat -c %s FILE...` only\n"),
    };
    if format != "%s" {
        return CommandOutput::fail(1, format!("stat: the simulated stat knows the format %s only, not {format}\n"));
    }
    let mut out = CommandOutput::default();
    for path in paths.iter().filter(|a| a.as_str() != "--") {
        match host.files.read(path) {
            Ok(data) => out.line(data.content.len().to_string()),
            Err(_) => out.fail_with(1, format!("stat: cannot statx '{path}': No such file or directory\n")),
        }
    }
    out
}

/// `base64 -w 0 FILE`: the file's bytes in standard base64 on one line (GNU prints no
/// newline with `-w 0`).
pub(crate) fn base64(host: &Host, args: &[String]) -> CommandOutput {
    let [w, zero, path] = args else {
        return CommandOutput::fail(1, "base64: the simulated base64 answers `base64 -w 0 FILE` only\n");
    };
    if w != "-w" || zero != "0" {
        return CommandOutput::fail(1, "base64: the simulated base64 answers `base64 -w 0 FILE` only\n");
    }
    match host.files.read(path) {
        Ok(data) => CommandOutput::ok(base64::engine::general_purpose::STANDARD.encode(data.content.as_bytes())),
        Err(_) => CommandOutput::fail(1, format!("base64: {path}: No such file or directory\n")),
    }
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `kubeladder-read-chunk FILE INDEX`: `dd if=FILE bs=4194304 skip=INDEX count=1 | base64
/// -w 0` (node's `etcd_snapshot::READ_CHUNK_SCRIPT`); past the end dd reads nothing.
pub(crate) fn read_chunk(host: &Host, args: &[String]) -> CommandOutput {
    const CHUNK: usize = 4 << 20;
    let [path, index] = args else { return CommandOutput::fail(1, "expected FILE INDEX\n") };
    let Ok(index) = index.parse::<usize>() else {
        return CommandOutput::fail(1, format!("dd: invalid number: '{index}'\n"));
    };
    match host.files.read(path) {
        Ok(data) => {
            let bytes = data.content.as_bytes();
            let start = (index * CHUNK).min(bytes.len());
            let end = (start + CHUNK).min(bytes.len());
            CommandOutput::ok(base64::engine::general_purpose::STANDARD.encode(&bytes[start..end]))
        }
        Err(_) => CommandOutput::fail(1, format!("dd: failed to open '{path}': No such file or directory\n")),
    }
}
