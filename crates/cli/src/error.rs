//! The CLI's error type: what the operator sees after `error: `.

use kubeladder_orchestrator::OrchestratorError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input caught by the core (versions, unknown minors, refused paths). Exit 2.
    #[error(transparent)]
    Core(#[from] kubeladder_core::CoreError),

    /// A use case failed or refused; exit 2 when the input was wrong, else 1.
    #[error(transparent)]
    Orchestrator(Box<OrchestratorError>),

    /// Bad input caught by the CLI itself. Exit 2.
    #[error("{0}")]
    Usage(String),

    /// The simulated cluster failed to start or stopped.
    #[error("simulated cluster: {0}")]
    Sim(#[from] kubeladder_sim::SimError),

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

impl From<OrchestratorError> for CliError {
    fn from(e: OrchestratorError) -> Self {
        Self::Orchestrator(Box::new(e))
    }
}

impl CliError {
    /// Whether the operator's input was wrong and nothing was changed (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Core(_) | Self::Usage(_) => true,
            Self::Orchestrator(e) => e.is_bad_input(),
            Self::Sim(e) => {
                matches!(e, kubeladder_sim::SimError::Scenario(_) | kubeladder_sim::SimError::ScenarioFile { .. })
            }
            Self::Run { .. } | Self::Runtime(_) | Self::Output(_) => false,
        }
    }
}
