//! One module per subcommand: turn parsed arguments into core calls and printed output.

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
