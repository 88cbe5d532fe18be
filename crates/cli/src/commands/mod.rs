//! One module per subcommand: turn parsed arguments into a use case's options, call it,
//! and render its result.

pub mod cluster;
pub mod demo;
pub mod hosts;
pub mod hosts_import;
pub mod path;
pub mod plan;
pub mod recover;
pub mod report;
pub mod shell;
pub mod sim;
pub mod skew;
pub mod status;
pub mod upgrade;
pub mod versions;

/// `--kubeconfig`/`--context` as the orchestrator takes them.
pub fn cluster_target(args: &crate::args::ClusterArgs) -> kubeladder_orchestrator::session::ClusterTarget {
    kubeladder_orchestrator::session::ClusterTarget {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    }
}
