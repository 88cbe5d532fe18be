//! What a host's shell and coreutils answer: `sudo`/`env` prefixes, kubeladder's three
//! fixed `sh -c` scripts (told apart by their `$0` word), `cat`, `ls`, `mkdir`, `cp`, `mv`,
//! `rm`, with GNU's messages and exit codes.

use std::sync::Arc;

use super::files::{Files, FsError, base_name, normalize, parent};
use super::repo::keyring_text;
use super::{CommandOutput, Host, PackageManager};

/// argv without a leading `sudo [-n] [--]` (sudo's own options are skipped).
pub(crate) fn strip_sudo(argv: &[String]) -> &[String] {
    if argv.first().map(String::as_str) != Some("sudo") {
        return argv;
    }
    let mut rest = &argv[1..];
    while let Some(first) = rest.first() {
        match first.as_str() {
            "--" => return &rest[1..],
            "-n" | "-E" | "-H" | "-S" | "--non-interactive" | "--preserve-env" => rest = &rest[1..],
            _ => return rest,
        }
    }
    rest
}

/// Environment assignments (`VAR`, `value`) from an `env` prefix.
pub(crate) type Assignments = Vec<(String, String)>;

/// Split `env VAR=value ... CMD ARGS` into the assignments and the command. argv without
/// `env` comes back unchanged with no assignments.
pub(crate) fn split_env(argv: &[String]) -> Result<(Assignments, &[String]), CommandOutput> {
    if argv.first().map(String::as_str) != Some("env") {
        return Ok((Vec::new(), argv));
    }
    let mut vars = Vec::new();
    let mut rest = &argv[1..];
    while let Some(first) = rest.first() {
        if first == "--" {
            rest = &rest[1..];
            break;
        }
        if first.starts_with('-') {
            return Err(CommandOutput::usage(format!(
                "env: invalid option -- '{}'\nTry 'env --help' for more information.",
                first.trim_start_matches('-')
            )));
        }
        match first.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                vars.push((name.to_owned(), value.to_owned()));
                rest = &rest[1..];
            }
            _ => break,
        }
    }
    Ok((vars, rest))
}

/// The program's name: `/usr/bin/apt-get` -> `apt-get` for the usual binary directories.
pub(crate) fn program_name(program: &str) -> &str {
    for dir in ["/usr/local/sbin/", "/usr/local/bin/", "/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"] {
        if let Some(name) = program.strip_prefix(dir) {
            return name;
        }
    }
    program
}

/// Leading short options (`-rf`, `-a`) and `--long` options until `--` or an operand.
/// Returns (flags as single chars or long names, operands) or the bad option.
fn options<'a>(args: &'a [String], short: &str, long: &[&str]) -> Result<(Vec<String>, Vec<&'a str>), String> {
    let mut flags = Vec::new();
    let mut operands = Vec::new();
    let mut only_operands = false;
    for arg in args {
        if only_operands || arg == "-" || !arg.starts_with('-') {
            operands.push(arg.as_str());
        } else if arg == "--" {
            only_operands = true;
        } else if let Some(name) = arg.strip_prefix("--") {
            if !long.contains(&name) {
                return Err(format!("unrecognized option '{arg}'"));
            }
            flags.push(name.to_owned());
        } else {
            for c in arg.chars().skip(1) {
                if !short.contains(c) {
                    return Err(format!("invalid option -- '{c}'"));
                }
                flags.push(c.to_string());
            }
        }
    }
    Ok((flags, operands))
}

fn bad_option(tool: &str, message: &str) -> CommandOutput {
    CommandOutput::usage(format!("{tool}: {message}\nTry '{tool} --help' for more information."))
}

/// `cat [--] FILE...`
pub(crate) fn cat(host: &Host, args: &[String]) -> CommandOutput {
    let (_, files) = match options(args, "", &[]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("cat", &message),
    };
    let mut out = CommandOutput::default();
    for file in files {
        match host.files.read(file) {
            Ok(data) => out.stdout.push_str(&data.content),
            Err(err) => {
                out.fail_with(1, format!("cat: {file}: {}\n", err.text()));
            }
        }
    }
    out
}

/// `ls [-1aAld] [--] PATH...` (one name per line, as when not on a terminal; `-d` lists
/// the paths themselves).
pub(crate) fn ls(host: &Host, args: &[String]) -> CommandOutput {
    let (flags, mut paths) = match options(args, "1aAlhd", &["all", "almost-all", "directory"]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("ls", &message),
    };
    let itself = flags.iter().any(|f| f == "d" || f == "directory");
    if paths.is_empty() {
        paths.push("/root");
    }
    let mut out = CommandOutput::default();
    let several = paths.len() > 1;
    for path in paths {
        if host.files.is_file(path) || (itself && host.files.is_dir(path)) {
            out.stdout.push_str(&format!("{path}\n"));
            continue;
        }
        if itself {
            out.fail_with(2, format!("ls: cannot access '{path}': No such file or directory\n"));
            continue;
        }
        match host.files.list(path) {
            Ok(names) => {
                if several {
                    out.stdout.push_str(&format!("{path}:\n"));
                }
                for name in names {
                    out.stdout.push_str(&name);
                    out.stdout.push('\n');
                }
            }
            Err(err) => {
                out.fail_with(2, format!("ls: cannot access '{path}': {}\n", err.text()));
            }
        }
    }
    out
}

/// `mkdir [-p] [--] DIR...`
pub(crate) fn mkdir(host: &mut Host, args: &[String]) -> CommandOutput {
    let (flags, dirs) = match options(args, "pv", &["parents"]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("mkdir", &message),
    };
    if dirs.is_empty() {
        return bad_option("mkdir", "missing operand");
    }
    let parents = flags.iter().any(|f| f == "p" || f == "parents");
    let mut out = CommandOutput::default();
    for dir in dirs {
        let result = if parents { host.files.mkdir_p(dir) } else { host.files.mkdir(dir) };
        if let Err(err) = result {
            out.fail_with(1, format!("mkdir: cannot create directory '{dir}': {}\n", err.text()));
        }
    }
    out
}

/// `cp [-a|-r|-p|-f] [--] SRC... DST`; `SRC/.` copies a directory's contents.
pub(crate) fn cp(host: &mut Host, args: &[String], now: f64) -> CommandOutput {
    let (flags, operands) = match options(args, "arRpfdv", &["archive", "recursive", "force", "preserve"]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("cp", &message),
    };
    let Some((dst, sources)) = operands.split_last().filter(|(_, s)| !s.is_empty()) else {
        return bad_option("cp", "missing file operand");
    };
    let recursive = flags.iter().any(|f| matches!(f.as_str(), "a" | "r" | "R" | "archive" | "recursive"));
    let preserve = flags.iter().any(|f| matches!(f.as_str(), "a" | "p" | "archive" | "preserve"));
    let dst_is_dir = host.files.is_dir(dst);
    if sources.len() > 1 && !dst_is_dir {
        return CommandOutput::fail(1, format!("cp: target '{dst}' is not a directory\n"));
    }
    let mut out = CommandOutput::default();
    for src in sources {
        let contents_only = src.ends_with("/.");
        if !host.files.exists(src) {
            out.fail_with(1, format!("cp: cannot stat '{src}': No such file or directory\n"));
            continue;
        }
        if host.files.is_dir(src) && !recursive {
            out.fail_with(1, format!("cp: -r not specified; omitting directory '{src}'\n"));
            continue;
        }
        let target = if dst_is_dir && !contents_only {
            format!("{}/{}", normalize(dst).trim_end_matches('/'), base_name(&normalize(src)))
        } else {
            normalize(dst)
        };
        if let Err(err) = host.files.copy(src, &target, preserve, now) {
            let what = if err == FsError::NotFound { "cannot create regular file" } else { "cannot copy to" };
            out.fail_with(1, format!("cp: {what} '{dst}': {}\n", err.text()));
        }
    }
    out
}

/// `mv [-f] [--] SRC DST`
pub(crate) fn mv(host: &mut Host, args: &[String]) -> CommandOutput {
    let (_, operands) = match options(args, "fv", &["force"]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("mv", &message),
    };
    let [src, dst] = operands[..] else { return bad_option("mv", "missing destination file operand") };
    match host.files.rename(src, dst) {
        Ok(()) => CommandOutput::default(),
        Err(FsError::NotFound) if !host.files.exists(src) => {
            CommandOutput::fail(1, format!("mv: cannot stat '{src}': No such file or directory\n"))
        }
        Err(err) => CommandOutput::fail(1, format!("mv: cannot move '{src}' to '{dst}': {}\n", err.text())),
    }
}

/// `rm [-r] [-f] [--] PATH...`
pub(crate) fn rm(host: &mut Host, args: &[String]) -> CommandOutput {
    let (flags, paths) = match options(args, "rRfv", &["recursive", "force"]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("rm", &message),
    };
    let recursive = flags.iter().any(|f| matches!(f.as_str(), "r" | "R" | "recursive"));
    let force = flags.iter().any(|f| matches!(f.as_str(), "f" | "force"));
    let mut out = CommandOutput::default();
    for path in paths {
        if normalize(path) == "/" {
            out.fail_with(1, "rm: it is dangerous to operate recursively on '/'\n");
            continue;
        }
        match host.files.remove(path, recursive) {
            Ok(()) => {}
            Err(FsError::NotFound) if force => {}
            Err(err) => {
                out.fail_with(1, format!("rm: cannot remove '{path}': {}\n", err.text()));
            }
        }
    }
    out
}

/// `chmod [-R] MODE [--] PATH...` (octal modes).
pub(crate) fn chmod(host: &mut Host, args: &[String]) -> CommandOutput {
    let (_, operands) = match options(args, "Rv", &["recursive"]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("chmod", &message),
    };
    let Some((mode, paths)) = operands.split_first().filter(|(_, p)| !p.is_empty()) else {
        return bad_option("chmod", "missing operand");
    };
    let Ok(mode) = u32::from_str_radix(mode, 8) else {
        return CommandOutput::fail(
            1,
            format!("chmod: invalid mode: '{mode}'\nTry 'chmod --help' for more information.\n"),
        );
    };
    let mut out = CommandOutput::default();
    for path in paths {
        if host.files.set_mode(path, mode).is_err() {
            out.fail_with(1, format!("chmod: cannot access '{path}': No such file or directory\n"));
        }
    }
    out
}

/// `du -sb [--] PATH...`: the apparent size in bytes of each path (its files' contents;
/// directories themselves count nothing here, where a real file system adds their blocks).
pub(crate) fn du(files: &Files, args: &[String]) -> CommandOutput {
    let (flags, paths) = match options(args, "sb", &["summarize", "bytes"]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("du", &message),
    };
    let has = |short: &str, long: &str| flags.iter().any(|f| f == short || f == long);
    if !(has("s", "summarize") && has("b", "bytes")) {
        return bad_option("du", "the simulated du prints summaries in bytes only: du -sb PATH...");
    }
    let mut out = CommandOutput::default();
    for path in paths {
        if !files.exists(path) {
            out.fail_with(1, format!("du: cannot access '{path}': No such file or directory\n"));
            continue;
        }
        let bytes: usize = files.files_under(path).iter().map(|(_, data)| data.content.len()).sum();
        out.stdout.push_str(&format!("{bytes}\t{path}\n"));
    }
    out
}

/// `cmp [-s] [--] A B`: 0 when equal, 1 when they differ, 2 on trouble.
pub(crate) fn cmp(host: &Host, args: &[String]) -> CommandOutput {
    let (flags, operands) = match options(args, "s", &["silent", "quiet"]) {
        Ok(parsed) => parsed,
        Err(message) => return bad_option("cmp", &message),
    };
    let silent = !flags.is_empty();
    let [a, b] = operands[..] else { return bad_option("cmp", "expected two files") };
    let read = |path: &str| {
        host.files.read(path).map(|d| d.content.clone()).map_err(|e| format!("cmp: {path}: {}\n", e.text()))
    };
    match (read(a), read(b)) {
        (Ok(x), Ok(y)) if x == y => CommandOutput::default(),
        (Ok(x), Ok(y)) => {
            let byte = x.bytes().zip(y.bytes()).position(|(p, q)| p != q).unwrap_or(x.len().min(y.len()));
            let line = x.get(..byte).map_or(0, |s| s.matches('\n').count()) + 1;
            let stdout =
                if silent { String::new() } else { format!("{a} {b} differ: byte {}, line {line}\n", byte + 1) };
            CommandOutput { exit_code: 1, stdout, stderr: String::new() }
        }
        (Err(e), _) | (_, Err(e)) => CommandOutput::fail(2, e),
    }
}

/// `sh -c SCRIPT NAME ARGS...`: kubeladder's scripts, recognised by NAME (`$0`).
pub(crate) fn sh(host: &mut Host, args: &[String], now: f64) -> CommandOutput {
    let (Some("-c"), Some(_script), Some(name)) =
        (args.first().map(String::as_str), args.get(1), args.get(2).map(String::as_str))
    else {
        return CommandOutput::fail(
            127,
            format!(
                "sh: the simulated host runs only kubeladder's fixed scripts: sh -c SCRIPT NAME ARGS... with NAME one of {}\n",
                SCRIPTS.join(", ")
            ),
        );
    };
    let rest = &args[3..];
    match name {
        "kubeladder-write" => write_script(host, rest, now),
        "kubeladder-detect" => CommandOutput::ok(detect_output(host.package_manager)),
        "kubeladder-key" => key_script(host, rest, now),
        "kubeladder-move" => move_script(host, rest, true),
        "kubeladder-aside" => move_script(host, rest, false),
        "kubeladder-restore" => restore_script(host, rest, now),
        "kubeladder-read-chunk" => super::coreutils::read_chunk(host, rest),
        other => CommandOutput::fail(
            127,
            format!(
                "sh: the simulated host runs only kubeladder's fixed scripts ({}), not one named {other:?}\n",
                SCRIPTS.join(", ")
            ),
        ),
    }
}

/// The `$0` names of the scripts kubeladder runs with `sh -c`.
const SCRIPTS: [&str; 7] = [
    "kubeladder-read-chunk",
    "kubeladder-write",
    "kubeladder-detect",
    "kubeladder-key",
    "kubeladder-move",
    "kubeladder-aside",
    "kubeladder-restore",
];

/// `kubeladder-move SRC DST` (`strict`: SRC must exist; DST's directory is made) and
/// `kubeladder-aside SRC DST` (nothing to do without SRC): never overwrite DST.
fn move_script(host: &mut Host, args: &[String], strict: bool) -> CommandOutput {
    let [src, dst] = args else { return CommandOutput::fail(1, "expected SRC DST\n") };
    if !strict && !host.files.exists(src) {
        return CommandOutput::default();
    }
    if host.files.exists(dst) {
        return CommandOutput::fail(1, format!("{dst} already exists; not overwriting it\n"));
    }
    if strict {
        let dir = parent(&normalize(dst)).to_owned();
        if let Err(err) = host.files.mkdir_p(&dir) {
            return CommandOutput::fail(1, format!("mkdir: cannot create directory '{dir}': {}\n", err.text()));
        }
    }
    mv(host, &[src.clone(), dst.clone()])
}

/// `kubeladder-restore BACKUP MANIFEST ASIDE`: replace MANIFEST by a copy of BACKUP (by
/// rename), keeping the replaced file in ASIDE.
fn restore_script(host: &mut Host, args: &[String], now: f64) -> CommandOutput {
    let [backup, manifest, aside] = args else { return CommandOutput::fail(1, "expected BACKUP MANIFEST ASIDE\n") };
    if !host.files.is_file(backup) {
        return CommandOutput::fail(1, format!("{backup}: no such backup file\n"));
    }
    let name = base_name(&normalize(manifest)).to_owned();
    if let Err(err) = host.files.mkdir_p(aside) {
        return CommandOutput::fail(1, format!("mkdir: cannot create directory '{aside}': {}\n", err.text()));
    }
    let staged = format!("{}/.{name}.restoring", normalize(aside));
    if let Err(err) = host.files.copy(backup, &staged, true, now) {
        return CommandOutput::fail(1, format!("cp: cannot create regular file '{staged}': {}\n", err.text()));
    }
    if host.files.exists(manifest)
        && let Err(err) = host.files.copy(manifest, &format!("{}/{name}", normalize(aside)), true, now)
    {
        return CommandOutput::fail(1, format!("cp: cannot copy '{manifest}': {}\n", err.text()));
    }
    mv(host, &["-f".to_owned(), staged, manifest.clone()])
}

fn write_script(host: &mut Host, args: &[String], now: f64) -> CommandOutput {
    let [contents, path, mode] = args else {
        return CommandOutput::fail(1, "kubeladder-write: expected CONTENTS PATH MODE\n");
    };
    let path = normalize(path);
    let dir = parent(&path).to_owned();
    if let Err(err) = host.files.mkdir_p(&dir) {
        return CommandOutput::fail(1, format!("mkdir: cannot create directory '{dir}': {}\n", err.text()));
    }
    let tmp = format!("{path}.kubeladder.tmp");
    if let Err(err) = host.files.write(&tmp, Arc::from(contents.as_str()), 0o644, now) {
        return CommandOutput::fail(1, format!("sh: 1: cannot create {tmp}: {}\n", err.text()));
    }
    let Ok(mode) = u32::from_str_radix(mode, 8) else {
        return CommandOutput::fail(
            1,
            format!("chmod: invalid mode: '{mode}'\nTry 'chmod --help' for more information.\n"),
        );
    };
    if let Err(err) = host.files.write(&tmp, Arc::from(contents.as_str()), mode, now) {
        return CommandOutput::fail(1, format!("chmod: cannot access '{tmp}': {}\n", err.text()));
    }
    match host.files.rename(&tmp, &path) {
        Ok(()) => CommandOutput::default(),
        Err(err) => CommandOutput::fail(1, format!("mv: cannot move '{tmp}' to '{path}': {}\n", err.text())),
    }
}

fn key_script(host: &mut Host, args: &[String], now: f64) -> CommandOutput {
    let [url, keyring] = args else {
        return CommandOutput::fail(1, "kubeladder-key: expected URL KEYRING\n");
    };
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file:")) {
        let scheme = url.split(':').next().unwrap_or_default();
        return CommandOutput::fail(
            2,
            format!("curl: (1) Protocol \"{scheme}\" not supported\ngpg: no valid OpenPGP data found.\n"),
        );
    }
    let keyring = normalize(keyring);
    let dir = parent(&keyring).to_owned();
    if let Err(err) = host.files.mkdir_p(&dir) {
        return CommandOutput::fail(1, format!("mkdir: cannot create directory '{dir}': {}\n", err.text()));
    }
    match host.files.write(&keyring, Arc::from(keyring_text(url)), 0o644, now) {
        Ok(()) => CommandOutput::default(),
        Err(err) => CommandOutput::fail(2, format!("gpg: can't create '{keyring}.kubeladder.tmp': {}\n", err.text())),
    }
}

/// What kubeladder's detect script prints on a host with `pm`.
pub(crate) fn detect_output(pm: PackageManager) -> &'static str {
    match pm {
        PackageManager::Apt => "/usr/bin/apt-get\n",
        PackageManager::Yum => "/usr/bin/yum\n",
        PackageManager::Dnf => "/usr/bin/dnf\n/usr/bin/yum\ndnf-version: 4.14.0\n",
        PackageManager::Dnf5 => "/usr/bin/dnf5\n/usr/bin/dnf\ndnf-version: dnf5 version 5.2.6.2\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn prefixes_are_stripped() {
        let a = argv(&["sudo", "-n", "--", "env", "A=1", "B=x=y", "apt-get", "update"]);
        let rest = strip_sudo(&a);
        let (vars, command) = split_env(rest).unwrap();
        assert_eq!(vars, [("A".to_owned(), "1".to_owned()), ("B".to_owned(), "x=y".to_owned())]);
        assert_eq!(command, argv(&["apt-get", "update"]));
        assert!(split_env(&argv(&["env", "-z", "x"])).is_err());
        assert_eq!(program_name("/usr/bin/kubeadm"), "kubeadm");
    }

    #[test]
    fn du_sums_the_files_below_a_path() {
        let mut files = Files::default();
        files.write_all("/var/lib/x/a", "12345".into(), 0o600, 0.0).unwrap();
        files.write_all("/var/lib/x/d/b", "678".into(), 0o600, 0.0).unwrap();
        let out = du(&files, &argv(&["-sb", "--", "/var/lib/x", "/var/lib/x/a"]));
        assert_eq!((out.exit_code, out.stdout.as_str()), (0, "8\t/var/lib/x\n5\t/var/lib/x/a\n"));
        let missing = du(&files, &argv(&["-sb", "/nope"]));
        assert_eq!(missing.exit_code, 1);
        assert!(missing.stderr.contains("cannot access '/nope'"));
        assert_eq!(du(&files, &argv(&["-h", "/var/lib/x"])).exit_code, 2);
    }

    #[test]
    fn options_parse_like_gnu() {
        let a = argv(&["-rf", "--", "-x"]);
        let (flags, operands) = options(&a, "rf", &[]).unwrap();
        assert_eq!(flags, ["r", "f"]);
        assert_eq!(operands, ["-x"]);
        assert!(options(&argv(&["-z"]), "rf", &[]).is_err());
    }
}
