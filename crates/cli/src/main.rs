//! `kubeladder`: upgrade a kubeadm-built Kubernetes cluster minor by minor, safely.

mod args;
mod commands;
mod error;
mod live;
mod operator_args;
mod output;
mod plugin;
mod progress;
mod report_html;

use std::process::ExitCode;

use crate::args::Command;
use crate::error::CliError;

fn main() -> ExitCode {
    // What the bash completion script calls for NODE arguments; not a command of its own,
    // so that no shell offers it.
    if let Some(cluster) = commands::shell::node_names_request() {
        return match commands::cluster::block_on(commands::shell::nodes(&cluster)) {
            Ok(code) => code.into(),
            Err(err) => err.exit_code(),
        };
    }
    let cli = plugin::parse();
    let result = match cli.command {
        Command::Skew(args) => commands::skew::run(&args),
        Command::Path(args) => commands::path::run(&args),
        Command::Versions(args) => commands::versions::run(&args),
        Command::Inventory(args) => commands::cluster::block_on(commands::cluster::inventory(&args)),
        Command::Drain(args) => commands::cluster::block_on(commands::cluster::drain(&args)),
        Command::Uncordon(args) => commands::cluster::block_on(commands::cluster::uncordon(&args)),
        Command::Check(args) => commands::cluster::block_on(commands::cluster::check(&args)),
        Command::Plan(args) => commands::cluster::block_on(commands::plan::run(&args)),
        Command::Apply(args) => commands::cluster::block_on(commands::upgrade::apply(&args)),
        Command::Resume(args) => commands::cluster::block_on(commands::upgrade::resume(&args)),
        Command::Abort(args) => commands::cluster::block_on(commands::upgrade::abort(&args)),
        Command::Demo(args) => commands::cluster::block_on(commands::demo::run(&args)),
        Command::Recover(args::RecoverCommand::List(args)) => {
            commands::cluster::block_on(commands::recover::list(&args))
        }
        Command::Recover(args::RecoverCommand::Node(args)) => {
            commands::cluster::block_on(commands::recover::node(&args))
        }
        Command::Status(args) => commands::status::run(&args),
        Command::Report(args) => commands::report::run(&args),
        Command::Sim(args::SimCommand::Serve(args)) => commands::cluster::block_on(commands::sim::serve(&args)),
        Command::Hosts(args::HostsCommand::Check(args)) => commands::cluster::block_on(commands::hosts::check(&args)),
        Command::Hosts(args::HostsCommand::Import(args)) => commands::hosts_import::run(&args),
        Command::Completion(args) => commands::shell::completion(&args),
        Command::Man(args) => commands::shell::man(&args),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("error: {err}");
            err.exit_code()
        }
    }
}

/// Exit codes, documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: done, nothing to report.
    Ok,
    /// 1: the command ran and found policy violations.
    Violations,
    /// 1: a run stopped at a failed step (resumable).
    Failed,
    /// 3: `plan` found blockers.
    Blockers,
    /// 4: a run paused on request (resumable).
    Paused,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::Violations | Outcome::Failed => ExitCode::from(1),
            Outcome::Blockers => ExitCode::from(3),
            Outcome::Paused => ExitCode::from(4),
        }
    }
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        if self.is_bad_input() { ExitCode::from(2) } else { ExitCode::from(1) }
    }
}
