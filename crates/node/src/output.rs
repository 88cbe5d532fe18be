//! What one command on a node returned.

use serde::{Deserialize, Serialize};

/// Exit code, standard output and error of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutput {
    pub exit_code: i32,
    pub stdout: String,
    /// The last lines of standard error.
    pub stderr: String,
}
