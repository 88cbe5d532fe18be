//! The crate's errors: [`OrchestratorError`] for every use case, and [`StepError`], what the
//! ports ([`crate::runner::ClusterPort`], [`crate::runner::NodePort`]) return, typed so that
//! a caller can tell an unreachable node from a failed command from a postcondition that
//! does not hold without reading strings.

use std::path::PathBuf;

use kubeladder_core::CoreError;
use kubeladder_kube::KubeError;
use kubeladder_node::NodeError;

/// Why one step could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Reaching the node or running a command on it failed.
    #[error(transparent)]
    Node(#[from] NodeError),

    /// The Kubernetes API refused or failed (drain, uncordon, gates).
    #[error(transparent)]
    Kube(#[from] KubeError),

    /// The step's values are wrong (a package version the repository style cannot express).
    #[error(transparent)]
    Core(#[from] CoreError),

    #[error("no way to reach node {node}: add it to the hosts file (or give it an InternalIP)")]
    NoRoute { node: String },

    #[error("node {node} has none of apt-get, dnf5, dnf, yum on PATH; set package_manager for it in the hosts file")]
    NoPackageManager { node: String },

    /// No configured package source serves the minor (a legacy-only minor without a
    /// legacy mirror in the hosts file).
    #[error(
        "node {node}: Kubernetes {minor} packages were published only in the legacy repositories (apt.kubernetes.io, packages.cloud.google.com), removed on 2024-03-04; set package_sources.legacy ({key}) for {node} or in defaults in the hosts file, e.g. https://mirrors.aliyun.com/kubernetes/apt/"
    )]
    NoPackageSource { node: String, minor: kubeladder_core::Minor, key: &'static str },

    /// The node's repository does not offer the exact version a step installs; nothing
    /// was installed.
    #[error("{0}")]
    VersionNotInRepository(Box<MissingVersion>),

    /// The action ran (or was skipped) and the node still does not show its result.
    #[error("{action} ran but its postcondition does not hold")]
    Postcondition { action: String },

    /// A health gate did not pass in time.
    #[error("gate {gate} still failing after {seconds}s: {message}")]
    Gate { gate: String, seconds: u64, message: String },

    /// The journal could not record what happened around the step.
    #[error(transparent)]
    Journal(Box<OrchestratorError>),

    /// An etcd snapshot could not be kept on this machine as recorded.
    #[error("etcd snapshot of node {node}: {reason} ({path})")]
    SnapshotCopy { node: String, path: std::path::PathBuf, reason: String },

    /// A step given to the wrong port (a bug, not an operator's problem).
    #[error("internal error: {0}")]
    Internal(String),
}

/// A version a repository does not offer (see [`StepError::VersionNotInRepository`]).
#[derive(Debug)]
pub struct MissingVersion {
    pub node: String,
    pub repository: String,
    pub package: String,
    pub version: String,
    /// What it offers, newest first (abridged).
    pub offered: String,
}

impl std::fmt::Display for MissingVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { node, repository, package, version, offered } = self;
        write!(
            f,
            "node {node}: the repository {repository} has no {package} {version} (it offers: {offered}); nothing was installed. Point package_sources in the hosts file at a mirror that carries {version}, or choose a version it has with --to"
        )
    }
}

/// What kind of failure stopped a step: what a caller acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The node could not be reached (network, SSH, host key, authentication).
    Unreachable,
    /// A command ran on the node and failed (exit code, timeout, refused downgrade).
    CommandFailed,
    /// The step ran, and its result does not show on the node.
    Postcondition,
    /// A health gate (node Ready, static pods, apiserver) did not pass in time.
    Gate,
    /// The Kubernetes API failed or refused (drain, uncordon, budgets).
    Cluster,
    /// Configuration or internal error.
    Other,
}

impl StepError {
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Node(
                NodeError::Connect { .. }
                | NodeError::ConnectTimeout { .. }
                | NodeError::HostKeyMismatch { .. }
                | NodeError::UnknownHostKey { .. }
                | NodeError::Auth { .. }
                | NodeError::Sim { .. }
                | NodeError::Ssh { .. },
            )
            | Self::NoRoute { .. } => FailureKind::Unreachable,
            Self::Node(
                NodeError::CommandFailed { .. }
                | NodeError::CommandTimeout { .. }
                | NodeError::Spawn { .. }
                | NodeError::Downgrade { .. },
            )
            | Self::NoPackageManager { .. }
            | Self::NoPackageSource { .. }
            | Self::VersionNotInRepository(_) => FailureKind::CommandFailed,
            Self::Postcondition { .. } | Self::SnapshotCopy { .. } => FailureKind::Postcondition,
            Self::Gate { .. } => FailureKind::Gate,
            Self::Kube(_) => FailureKind::Cluster,
            Self::Node(_) | Self::Core(_) | Self::Journal(_) | Self::Internal(_) => FailureKind::Other,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// Talking to or reading the cluster failed.
    #[error(transparent)]
    Kube(#[from] KubeError),

    /// Reaching or reading a node failed, or the hosts file is malformed.
    #[error(transparent)]
    Node(#[from] NodeError),

    /// Bad versions, unknown minors, refused paths.
    #[error(transparent)]
    Core(#[from] CoreError),

    /// The operator's request cannot be carried out as given; nothing was changed.
    #[error("{0}")]
    Refused(String),

    /// Some nodes cannot be reached before a run; nothing was changed.
    #[error(
        "cannot reach every node; nothing was changed:\n  {}\nfix the hosts file (--hosts) or the nodes, then retry",
        .0.join("\n  ")
    )]
    Unreachable(Vec<String>),

    /// A recovery command failed or the node did not come back.
    #[error("{error}\nsee what the node has with:\n  kubeladder recover list --node {node}")]
    Recovery { node: String, error: String },

    /// Observing the workers' window failed.
    #[error("cannot observe the workers' window: {0}")]
    Observe(#[source] StepError),

    #[error("cannot {what} {}: {source}", path.display())]
    Io { path: PathBuf, what: String, source: std::io::Error },

    /// A damaged journal file: the verdict names the file, where, and what the operator can do.
    #[error("{} is damaged ({source}); {}", path.display(), damage_advice(path))]
    Decode { path: PathBuf, source: serde_json::Error },

    #[error("cannot encode journal data: {0}")]
    Encode(serde_json::Error),

    #[error("{0}")]
    Journal(kubeladder_core::journal::JournalError),

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
         incomplete after a crash, so this is damage, not a crash. Restore the file from a backup; \
         or keep a copy, delete line {line}, and run the command again: the run resumes from the \
         records it can read, and each step is checked on the cluster before it runs, so a lost \
         record makes a step checked again, not skipped",
        path.display()
    )]
    CorruptLog { path: PathBuf, line: usize, why: String },
}

impl OrchestratorError {
    /// Whether the operator's input was wrong and nothing was changed (exit code 2): a bad
    /// kubeconfig or hosts file, bad versions, a refused request, unreachable nodes before a
    /// run, no journal where one was expected, a journal that is damaged, of another format
    /// or of another cluster.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::Core(_)
                | Self::Refused(_)
                | Self::Unreachable(_)
                | Self::Kube(KubeError::Kubeconfig(_))
                | Self::Node(
                    NodeError::HostsFile { .. }
                        | NodeError::Inventory { .. }
                        | NodeError::Io { .. }
                        | NodeError::Core(_),
                )
                | Self::NoJournal(_)
                // The state directory given holds no usable journal for this cluster; this
                // command changed nothing and the verdict says what to do.
                | Self::JournalExists(_)
                | Self::OtherCluster { .. }
                | Self::JournalFormat { .. }
                | Self::Decode { .. }
                | Self::CorruptLog { .. }
        )
    }
}

impl From<OrchestratorError> for StepError {
    fn from(e: OrchestratorError) -> Self {
        Self::Journal(Box::new(e))
    }
}

/// What to do about a journal file that cannot be read, by which file it is.
fn damage_advice(path: &std::path::Path) -> &'static str {
    match path.file_name().and_then(|n| n.to_str()) {
        Some("header.json") => {
            "the journal header (run id, cluster, plan) cannot be read, so this run cannot be resumed or \
             aborted: restore header.json from a backup, or move the directory aside, uncordon what the run \
             cordoned (`kubeladder uncordon NODE --run-id RUN`), and start over with `kubeladder plan`"
        }
        Some("state.json") => {
            "the progress snapshot cannot be read; the log events.jsonl holds the same progress: move \
             state.json aside and run the command again to replay the log"
        }
        _ => "inspect the file by hand, or restore it from a backup",
    }
}
