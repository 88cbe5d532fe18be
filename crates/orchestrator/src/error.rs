//! `OrchestratorError`: every way running or resuming a plan can fail, with what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error("cannot {what} {}: {source}", path.display())]
    Io { path: PathBuf, what: String, source: std::io::Error },

    #[error("{} is not valid journal JSON: {source}", path.display())]
    Decode { path: PathBuf, source: serde_json::Error },

    #[error("cannot encode journal data: {0}")]
    Encode(serde_json::Error),

    #[error("{0}")]
    Journal(kubeladder_core::journal::JournalError),

    #[error("{0}")]
    Port(String),

    #[error("no worker could start for too long; waiting: {}", .0.join("; "))]
    WindowStuck(Vec<String>),

    #[error("internal error: {0}")]
    Internal(String),

    #[error("{} already holds a journal; resume it with `kubeladder resume`, or pass another --state-dir", .0.display())]
    JournalExists(PathBuf),

    #[error("{} holds no journal; start a run with `kubeladder apply`", .0.display())]
    NoJournal(PathBuf),

    #[error("another kubeladder process is using the journal in {}; wait for it or stop it first", .0.display())]
    JournalBusy(PathBuf),

    #[error(
        "the journal in {} belongs to cluster {journal}, but this cluster is {cluster}; \
         point --kubeconfig at the right cluster or use another --state-dir",
        dir.display()
    )]
    OtherCluster { dir: PathBuf, journal: String, cluster: String },

    #[error("the journal in {} has format {found}; this kubeladder reads format {expected}", dir.display())]
    JournalFormat { dir: PathBuf, found: u32, expected: u32 },

    #[error(
        "the journal log {} is corrupt at line {line} ({why}); only its last line may be \
         incomplete after a crash - restore it from a backup or inspect it by hand",
        path.display()
    )]
    CorruptLog { path: PathBuf, line: usize, why: String },
}
