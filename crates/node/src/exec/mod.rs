//! Running commands on a node: one trait, [`Executor`], with a local, an SSH and a
//! simulator backend; [`executor_for`] picks the one a resolved [`Host`] names.
//!
//! A command is an argv. Over SSH it is joined with POSIX single-quote escaping
//! ([`shell_join`]), so no argument is ever interpreted by the remote shell; the simulator
//! receives it as a JSON array.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::NodeError;
use crate::hosts::{Host, Transport};
use kubeladder_core::package::PackageManager;

use crate::ops::NodeOp;
use crate::output::CommandOutput;

pub mod local;
pub mod sim;
pub mod ssh;

pub use local::LocalExecutor;
pub use sim::SimExecutor;
pub use ssh::{SshExecutor, SshOptions};

/// A boxed future, so that [`Executor`] can be used as `dyn Executor`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which stream an output line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Receives every output line as it arrives, with the node's name.
pub type LineSink = Arc<dyn Fn(&str, Stream, &str) + Send + Sync>;

/// Most lines of standard error kept in [`CommandOutput::stderr`].
pub const STDERR_TAIL_LINES: usize = 20;
/// Most bytes of standard output kept in [`CommandOutput::stdout`].
pub const STDOUT_LIMIT: usize = 8 << 20;

/// Runs argv on one node.
pub trait Executor: Send + Sync + fmt::Debug {
    /// The node this executor reaches.
    fn node(&self) -> &str;

    /// Run `argv`, streaming output lines to the sink, giving up after `timeout`.
    /// A non-zero exit code is a result, not an error.
    fn run<'a>(&'a self, argv: &'a [String], timeout: Duration) -> BoxFuture<'a, Result<CommandOutput, NodeError>>;
}

/// The executor for `host` over its transport: SSH with `options`, this machine, or the
/// simulator's exec endpoint (whose CA file is read here). `options.connect_timeout`
/// bounds connecting for SSH and the simulator alike. Every output line goes to `sink`.
pub fn executor_for(host: &Host, options: &SshOptions, sink: Option<LineSink>) -> Result<Box<dyn Executor>, NodeError> {
    let exec = transport_executor(host, options, sink)?;
    Ok(if host.tool_paths.is_empty() {
        exec
    } else {
        Box::new(ToolPaths { inner: exec, paths: host.tool_paths.clone() })
    })
}

/// Runs each command's program at the absolute path the hosts file gives for it
/// (`tool_paths`): `sudo` resolves a bare name through its `secure_path`, which on RHEL
/// omits /usr/local/bin where kubeadm's and etcdctl's release binaries usually are
/// (sudoers(5) `secure_path`). Only the program of argv (after an `env VAR=value` prefix)
/// is replaced; arguments, such as a script given to `sh -c`, are not.
#[derive(Debug)]
struct ToolPaths {
    inner: Box<dyn Executor>,
    paths: std::collections::BTreeMap<String, String>,
}

/// `argv` with its program replaced by its path in `paths`, if listed.
pub fn with_tool_paths(argv: &[String], paths: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let mut out = argv.to_vec();
    let start = usize::from(argv.first().is_some_and(|a| a == "env"));
    let program = argv.iter().skip(start).position(|a| !a.contains('=')).map(|i| i + start);
    if let Some(i) = program
        && let Some(path) = paths.get(&out[i])
    {
        path.clone_into(&mut out[i]);
    }
    out
}

impl Executor for ToolPaths {
    fn node(&self) -> &str {
        self.inner.node()
    }

    fn run<'a>(&'a self, argv: &'a [String], timeout: Duration) -> BoxFuture<'a, Result<CommandOutput, NodeError>> {
        Box::pin(async move { self.inner.run(&with_tool_paths(argv, &self.paths), timeout).await })
    }
}

fn transport_executor(
    host: &Host,
    options: &SshOptions,
    sink: Option<LineSink>,
) -> Result<Box<dyn Executor>, NodeError> {
    Ok(match host.transport {
        Transport::Ssh => {
            let exec = SshExecutor::new(host.clone(), options.clone());
            Box::new(match sink {
                Some(sink) => exec.with_sink(sink),
                None => exec,
            })
        }
        Transport::Local => {
            let exec = LocalExecutor::new(host.node.clone()).with_sudo(host.sudo);
            Box::new(match sink {
                Some(sink) => exec.with_sink(sink),
                None => exec,
            })
        }
        Transport::Sim => {
            let target = host.sim.as_ref().ok_or_else(|| NodeError::Sim {
                node: host.node.clone(),
                address: host.address.clone(),
                reason: "transport sim without sim_url, sim_token and sim_ca_file".to_owned(),
            })?;
            let exec = SimExecutor::new(host.node.clone(), target)?
                .with_sudo(host.needs_sudo())
                .with_connect_timeout(options.connect_timeout);
            Box::new(match sink {
                Some(sink) => exec.with_sink(sink),
                None => exec,
            })
        }
    })
}

/// Quote one argument for a POSIX shell: safe words as they are, anything else in single
/// quotes with each `'` written as `'\''`.
pub fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) { arg.to_owned() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

/// Join argv into one command line that a POSIX shell splits back into exactly `argv`.
pub fn shell_join(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

/// Every command runs with `LC_ALL=C`: kubeladder matches some of the tools' English
/// messages (apt's, kubeadm's, sudo's), and a node set to another language answers in it
/// (gettext: `LC_ALL` overrides `LANG` and every other `LC_*`).
pub const C_LOCALE: (&str, &str) = ("LC_ALL", "C");

/// `argv` run through `env LC_ALL=C` (merged into an `env VAR=value` prefix argv already has).
pub fn in_c_locale(argv: &[String]) -> Vec<String> {
    let mut out = vec!["env".to_owned(), format!("{}={}", C_LOCALE.0, C_LOCALE.1)];
    match argv.split_first() {
        Some((first, rest)) if first == "env" => out.extend(rest.iter().cloned()),
        _ => out.extend(argv.iter().cloned()),
    }
    out
}

/// `argv` behind `sudo -n` (never prompts; fails if a password would be needed).
pub fn with_sudo(argv: &[String]) -> Vec<String> {
    let mut full = vec!["sudo".to_owned(), "-n".to_owned(), "--".to_owned()];
    full.extend(argv.iter().cloned());
    full
}

/// What running an operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpOutcome {
    /// The check said it was already done; nothing ran.
    AlreadyDone,
    /// Every command ran and exited 0; their outputs, in order.
    Done(Vec<CommandOutput>),
}

/// Run `op` on `exec`: skip it when its check says it is done, refuse a yum/dnf downgrade,
/// else run its commands in order and stop at the first failure, reported with its exit
/// code and stderr tail.
pub async fn run_op(
    exec: &dyn Executor,
    op: &NodeOp,
    pm: PackageManager,
    timeout: Duration,
) -> Result<OpOutcome, NodeError> {
    if let Some(check) = op.check(pm) {
        let output = exec.run(&check, timeout).await?;
        if op.is_done(pm, &output)? {
            return Ok(OpOutcome::AlreadyDone);
        }
        if let Some((package, installed, target)) = op.downgrade(pm, &output)? {
            return Err(NodeError::Downgrade {
                node: exec.node().to_owned(),
                package: package.to_string(),
                installed,
                target,
                package_manager: pm.to_string(),
            });
        }
    }
    run_commands(exec, op, pm, timeout).await
}

/// Run `op`'s commands in order, without its check, stopping at the first failure (for an
/// operation the caller decided must run whatever its check says).
pub async fn run_commands(
    exec: &dyn Executor,
    op: &NodeOp,
    pm: PackageManager,
    timeout: Duration,
) -> Result<OpOutcome, NodeError> {
    let mut outputs = Vec::new();
    for argv in op.render(pm) {
        let output = exec.run(&argv, timeout).await?;
        if output.exit_code != 0 {
            return Err(NodeError::CommandFailed {
                node: exec.node().to_owned(),
                command: shell_join(&argv),
                exit_code: output.exit_code,
                stderr_tail: output.stderr.trim_end().to_owned(),
            });
        }
        outputs.push(output);
    }
    Ok(OpOutcome::Done(outputs))
}

/// Ask the node which package manager it has ([`NodeOp::DetectPackageManager`]): `None` when
/// it has none kubeladder drives. Detection renders the same for every package manager.
pub async fn detect_package_manager(
    exec: &dyn Executor,
    timeout: Duration,
) -> Result<Option<PackageManager>, NodeError> {
    let output = query(exec, &NodeOp::DetectPackageManager, PackageManager::default(), timeout).await?;
    Ok(crate::ops::detect_package_manager(&output.stdout))
}

/// Run a query op's one command and return its output whatever the exit code.
pub async fn query(
    exec: &dyn Executor,
    op: &NodeOp,
    pm: PackageManager,
    timeout: Duration,
) -> Result<CommandOutput, NodeError> {
    let mut last = CommandOutput::default();
    for argv in op.render(pm) {
        last = exec.run(&argv, timeout).await?;
    }
    Ok(last)
}

/// Collects a command's output as chunks arrive: full lines go to the sink, stdout is
/// kept (up to [`STDOUT_LIMIT`]), stderr only its last [`STDERR_TAIL_LINES`] lines.
pub(crate) struct Collector {
    node: String,
    sink: Option<LineSink>,
    stdout: Vec<u8>,
    stdout_partial: Vec<u8>,
    stderr_partial: Vec<u8>,
    stderr_lines: std::collections::VecDeque<String>,
    /// Expect a stderr line `kubeladder-pgid N` (the SSH wrapper's), kept out of the output.
    expect_pgid: bool,
    pgid: Option<u32>,
}

impl Collector {
    pub(crate) fn new(node: &str, sink: Option<LineSink>) -> Self {
        Self {
            node: node.to_owned(),
            sink,
            stdout: Vec::new(),
            stdout_partial: Vec::new(),
            stderr_partial: Vec::new(),
            stderr_lines: std::collections::VecDeque::new(),
            expect_pgid: false,
            pgid: None,
        }
    }

    /// Take the wrapper's `kubeladder-pgid N` stderr line as the process group report.
    pub(crate) fn capture_pgid(mut self) -> Self {
        self.expect_pgid = true;
        self
    }

    pub(crate) fn pgid(&self) -> Option<u32> {
        self.pgid
    }

    pub(crate) fn push(&mut self, stream: Stream, data: &[u8]) {
        if stream == Stream::Stdout && self.stdout.len() < STDOUT_LIMIT {
            let room = STDOUT_LIMIT - self.stdout.len();
            self.stdout.extend_from_slice(&data[..data.len().min(room)]);
        }
        let partial = match stream {
            Stream::Stdout => &mut self.stdout_partial,
            Stream::Stderr => &mut self.stderr_partial,
        };
        partial.extend_from_slice(data);
        let mut lines = Vec::new();
        while let Some(pos) = partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = partial.drain(..=pos).collect();
            lines.push(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
        }
        for line in lines {
            self.line(stream, line);
        }
    }

    fn line(&mut self, stream: Stream, line: String) {
        // sudo may complain first (`unable to resolve host`), so look until it is found.
        if stream == Stream::Stderr
            && self.expect_pgid
            && let Some(pgid) = line.strip_prefix("kubeladder-pgid ")
        {
            self.expect_pgid = false;
            self.pgid = pgid.trim().parse().ok();
            return;
        }
        if let Some(sink) = &self.sink {
            sink(&self.node, stream, &line);
        }
        if stream == Stream::Stderr {
            self.stderr_lines.push_back(line);
            if self.stderr_lines.len() > STDERR_TAIL_LINES {
                self.stderr_lines.pop_front();
            }
        }
    }

    pub(crate) fn finish(mut self, exit_code: i32) -> CommandOutput {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = match stream {
                Stream::Stdout => std::mem::take(&mut self.stdout_partial),
                Stream::Stderr => std::mem::take(&mut self.stderr_partial),
            };
            if !partial.is_empty() {
                self.line(stream, String::from_utf8_lossy(&partial).into_owned());
            }
        }
        let mut stderr = self.stderr_lines.into_iter().collect::<Vec<_>>().join("\n");
        if !stderr.is_empty() {
            stderr.push('\n');
        }
        CommandOutput { exit_code, stdout: String::from_utf8_lossy(&self.stdout).into_owned(), stderr }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_paths_replace_only_the_program() {
        let argv = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let paths: std::collections::BTreeMap<String, String> =
            [("kubeadm".to_owned(), "/usr/local/bin/kubeadm".to_owned())].into();
        assert_eq!(
            with_tool_paths(&argv(&["kubeadm", "upgrade", "node"]), &paths),
            argv(&["/usr/local/bin/kubeadm", "upgrade", "node"])
        );
        assert_eq!(
            with_tool_paths(&argv(&["env", "A=1", "kubeadm", "kubeadm"]), &paths),
            argv(&["env", "A=1", "/usr/local/bin/kubeadm", "kubeadm"])
        );
        assert_eq!(with_tool_paths(&argv(&["sh", "-c", "kubeadm"]), &paths), argv(&["sh", "-c", "kubeadm"]));
    }

    #[test]
    fn quotes_for_posix_shells() {
        assert_eq!(shell_quote("kubeadm=1.19.16-00"), "kubeadm=1.19.16-00");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote("${Package}\\t"), "'${Package}\\t'");
    }

    #[test]
    fn joined_argv_splits_back_exactly_in_sh() {
        let argv: Vec<String> =
            ["printf", "%s\\n", "a b", "it's", "$HOME", "`id`", "\"q\"", "", "new\nline", "*", "~", "-n"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
        let line = shell_join(&argv);
        let out = std::process::Command::new("sh").arg("-c").arg(&line).output().unwrap();
        let expected: String = argv[2..].iter().flat_map(|a| [a.as_str(), "\n"]).collect();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    }

    #[test]
    fn collector_streams_lines_and_keeps_the_stderr_tail() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let sink: LineSink = Arc::new(move |node, stream, line| {
            s.lock().unwrap().push(format!("{node} {stream:?} {line}"));
        });
        let mut c = Collector::new("cp-1", Some(sink));
        c.push(Stream::Stdout, b"hel");
        c.push(Stream::Stdout, b"lo\nwor");
        for i in 0..30 {
            c.push(Stream::Stderr, format!("e{i}\n").as_bytes());
        }
        let r = c.finish(3);
        assert_eq!(r.stdout, "hello\nwor");
        assert_eq!(r.exit_code, 3);
        assert!(r.stderr.starts_with("e10\n") && r.stderr.ends_with("e29\n"), "{}", r.stderr);
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], "cp-1 Stdout hello");
        assert_eq!(seen.last().unwrap(), "cp-1 Stdout wor");
    }
}
