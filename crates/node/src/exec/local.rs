//! Commands on this machine, for kubeladder running on the node itself.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::{BoxFuture, C_LOCALE, Collector, Executor, LineSink, Stream, in_c_locale, shell_join, with_sudo};
use crate::error::NodeError;
use crate::output::CommandOutput;

/// Runs argv as a child process of kubeladder.
#[derive(Clone)]
pub struct LocalExecutor {
    node: String,
    sudo: bool,
    sink: Option<LineSink>,
    env: Vec<(String, String)>,
}

impl std::fmt::Debug for LocalExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalExecutor").field("node", &self.node).field("sudo", &self.sudo).finish_non_exhaustive()
    }
}

impl LocalExecutor {
    pub fn new(node: impl Into<String>) -> Self {
        Self { node: node.into(), sudo: false, sink: None, env: Vec::new() }
    }

    /// Prefix every command with `sudo -n`.
    #[must_use]
    pub fn with_sudo(mut self, sudo: bool) -> Self {
        self.sudo = sudo;
        self
    }

    #[must_use]
    pub fn with_sink(mut self, sink: LineSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Set an environment variable for every command.
    #[must_use]
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    async fn run_inner(&self, argv: &[String], timeout: Duration) -> Result<CommandOutput, NodeError> {
        let shown = if self.sudo { with_sudo(argv) } else { argv.to_vec() };
        // The C locale: set on the child, and again after `sudo` (whose `env_reset` drops it).
        let argv = if self.sudo { with_sudo(&in_c_locale(argv)) } else { argv.to_vec() };
        let spawn_error =
            |reason: String| NodeError::Spawn { node: self.node.clone(), command: shell_join(&shown), reason };
        let Some((program, args)) = argv.split_first() else {
            return Err(spawn_error("empty command".to_owned()));
        };
        let mut child = Command::new(program)
            .args(args)
            .env(C_LOCALE.0, C_LOCALE.1)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| spawn_error(e.to_string()))?;
        let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(spawn_error("no pipes".to_owned()));
        };
        let mut collector = Collector::new(&self.node, self.sink.clone());
        let work = async {
            let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
            let (mut out_open, mut err_open) = (true, true);
            while out_open || err_open {
                tokio::select! {
                    n = stdout.read(&mut out_buf), if out_open => match n {
                        Ok(0) | Err(_) => out_open = false,
                        Ok(n) => collector.push(Stream::Stdout, &out_buf[..n]),
                    },
                    n = stderr.read(&mut err_buf), if err_open => match n {
                        Ok(0) | Err(_) => err_open = false,
                        Ok(n) => collector.push(Stream::Stderr, &err_buf[..n]),
                    },
                }
            }
            child.wait().await
        };
        match Box::pin(tokio::time::timeout(timeout, work)).await {
            Ok(Ok(status)) => {
                // Killed by a signal: report 128 + signal like a shell does.
                let code = status.code().unwrap_or_else(|| {
                    use std::os::unix::process::ExitStatusExt;
                    128 + status.signal().unwrap_or(0)
                });
                Ok(collector.finish(code))
            }
            Ok(Err(e)) => Err(spawn_error(e.to_string())),
            Err(_) => Err(NodeError::CommandTimeout { node: self.node.clone(), command: shell_join(&shown), timeout }),
        }
    }
}

impl Executor for LocalExecutor {
    fn node(&self) -> &str {
        &self.node
    }

    fn run<'a>(&'a self, argv: &'a [String], timeout: Duration) -> BoxFuture<'a, Result<CommandOutput, NodeError>> {
        Box::pin(self.run_inner(argv, timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn runs_and_reports_exit_code_and_stderr() {
        let exec = LocalExecutor::new("here");
        let r = exec.run(&args(&["sh", "-c", "echo out; echo err >&2; exit 7"]), Duration::from_secs(5)).await.unwrap();
        assert_eq!((r.exit_code, r.stdout.as_str(), r.stderr.as_str()), (7, "out\n", "err\n"));
    }

    #[tokio::test]
    async fn commands_run_in_the_c_locale_with_stdin_at_eof() {
        let exec = LocalExecutor::new("here").with_env("LANG", "de_DE.UTF-8");
        let r = exec.run(&args(&["sh", "-c", "echo $LC_ALL; cat"]), Duration::from_secs(5)).await.unwrap();
        assert_eq!((r.exit_code, r.stdout.as_str()), (0, "C\n"));
    }

    #[test]
    fn c_locale_merges_into_an_env_prefix() {
        assert_eq!(in_c_locale(&args(&["env", "A=1", "apt-get"])), args(&["env", "LC_ALL=C", "A=1", "apt-get"]));
        assert_eq!(in_c_locale(&args(&["kubeadm", "version"])), args(&["env", "LC_ALL=C", "kubeadm", "version"]));
    }

    #[tokio::test]
    async fn times_out() {
        let exec = LocalExecutor::new("here");
        let e = exec.run(&args(&["sleep", "5"]), Duration::from_millis(200)).await.unwrap_err();
        assert!(matches!(e, NodeError::CommandTimeout { .. }), "{e}");
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let exec = LocalExecutor::new("here");
        let e = exec.run(&args(&["/nonexistent/kubeadm"]), Duration::from_secs(1)).await.unwrap_err();
        assert!(e.to_string().contains("/nonexistent/kubeadm"), "{e}");
    }
}
