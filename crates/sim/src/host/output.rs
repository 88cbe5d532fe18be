//! What one simulated command answers: exit code, standard output, standard error.

use serde::{Deserialize, Serialize};

/// Exit code, standard output and standard error of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutput {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    /// Exit 0 with this standard output.
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self { exit_code: 0, stdout: stdout.into(), stderr: String::new() }
    }

    /// A failure with this exit code and standard error.
    pub fn fail(exit_code: i32, stderr: impl Into<String>) -> Self {
        Self { exit_code, stdout: String::new(), stderr: stderr.into() }
    }

    /// `CMD: command not found`, exit 127.
    pub fn not_found(program: &str) -> Self {
        Self::fail(127, format!("{program}: command not found\n"))
    }

    /// An unknown option of a known command: the tool's message, exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        let mut message = message.into();
        if !message.ends_with('\n') {
            message.push('\n');
        }
        Self::fail(2, message)
    }

    /// Record a failure: `text` to standard error, this exit code.
    pub(crate) fn fail_with(&mut self, exit_code: i32, text: impl AsRef<str>) {
        self.stderr.push_str(text.as_ref());
        self.exit_code = exit_code;
    }

    /// Append a line to standard output.
    pub(crate) fn line(&mut self, text: impl AsRef<str>) {
        self.stdout.push_str(text.as_ref());
        self.stdout.push('\n');
    }
}
