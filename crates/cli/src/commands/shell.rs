//! `kubeladder completion SHELL` and `kubeladder man --out-dir DIR`: the shell's view of
//! the command line, generated from the same clap definition as `--help`.

use std::io::Write;

use crate::Outcome;
use crate::error::CliError;
use crate::operator_args::{CompletionArgs, ManArgs};

/// Print the completion script for `args.shell` on stdout.
pub fn completion(args: &CompletionArgs) -> Result<Outcome, CliError> {
    // Scripts complete the `kubeladder` executable (kubectl completes its plugins itself).
    let mut cmd = <crate::args::Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "kubeladder", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(Outcome::Ok)
}

/// Write one man page per command (`kubeladder.1`, `kubeladder-apply.1`, ...) into `args.out_dir`.
pub fn man(args: &ManArgs) -> Result<Outcome, CliError> {
    std::fs::create_dir_all(&args.out_dir)?;
    clap_mangen::generate_to(crate::plugin::command(), &args.out_dir)?;
    Ok(Outcome::Ok)
}
