//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong while building or running a simulated cluster.
#[derive(Debug, Error)]
pub enum SimError {
    #[error("cannot make the simulated cluster's certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unknown or invalid scenario: {0}")]
    Scenario(String),
    #[error("scenario file, line {line}, column {column}: {message}")]
    ScenarioFile { line: usize, column: usize, message: String },
    #[error("invalid version: {0}")]
    Version(#[from] kubeladder_core::CoreError),
    #[error("the simulated cluster listens on loopback addresses only, not {0}")]
    Listen(std::net::SocketAddr),
    #[error("store error: {0}")]
    Store(String),
    #[error("invalid fault: {0}")]
    Fault(String),
    #[error("no host named {0}")]
    NoSuchHost(String),
    #[error("the exec connection to {0} was dropped (a drop_exec fault)")]
    ExecDropped(String),
}
