//! The CLI's error type: what the operator sees after `error: `.

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input caught by the core (versions, unknown minors, refused paths). Exit 2.
    #[error(transparent)]
    Core(#[from] kubeladder_core::CoreError),

    /// Talking to the cluster failed. Exit 2 for a bad kubeconfig, else 1.
    #[error(transparent)]
    Kube(#[from] kubeladder_kube::KubeError),

    /// Bad input caught by the CLI itself. Exit 2.
    #[error("{0}")]
    Usage(String),

    /// The simulated cluster failed to start or stopped.
    #[error("simulated cluster: {0}")]
    Sim(#[from] kubeladder_sim::SimError),

    /// Reading or writing the journal failed.
    #[error(transparent)]
    Journal(#[from] kubeladder_orchestrator::OrchestratorError),

    /// Reaching or reading a node failed (hosts file, SSH, the simulator's hosts).
    #[error(transparent)]
    Node(#[from] kubeladder_node::NodeError),

    /// A run stopped on an error outside any step; the journal can resume it.
    #[error("{error}\nthe journal is consistent; continue with:\n  {resume}")]
    Run { error: String, resume: String },

    /// The async runtime could not start.
    #[error("cannot start: {0}")]
    Runtime(String),

    /// Writing the output failed (e.g. a closed pipe). Exit 1.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}
