//! The clap command as this process was invoked: `kubeladder`, or `kubectl ladder` when the
//! binary runs as the kubectl plugin `kubectl-ladder` (kubectl finds `kubectl-*` executables
//! on PATH and runs them with the rest of the command line).

use std::path::Path;

use clap::{CommandFactory, FromArgMatches};

use crate::args::Cli;

/// The executable name kubectl looks for on PATH for `kubectl ladder`.
pub const PLUGIN_EXECUTABLE: &str = "kubectl-ladder";

/// Whether argv[0] names the plugin executable (a copy, link or symlink of this binary).
pub fn invoked_as_plugin() -> bool {
    std::env::args_os().next().is_some_and(|argv0| is_plugin_name(Path::new(&argv0)))
}

fn is_plugin_name(argv0: &Path) -> bool {
    argv0.file_name().and_then(|n| n.to_str()).is_some_and(|n| n == PLUGIN_EXECUTABLE)
}

/// The full clap command, named after how this binary was invoked.
pub fn command() -> clap::Command {
    if invoked_as_plugin() { as_plugin(Cli::command()) } else { Cli::command() }
}

/// Parse the process arguments (exits with clap's message and code 2 on bad input).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The command as `kubectl ladder`: usage lines and the examples in every help text name
/// the plugin, so what `--help` shows can be pasted as it is.
fn as_plugin(cmd: clap::Command) -> clap::Command {
    rename_examples(cmd).bin_name("kubectl ladder").display_name(PLUGIN_EXECUTABLE)
}

fn rename_examples(mut cmd: clap::Command) -> clap::Command {
    if let Some(text) = cmd.get_after_help().map(ToString::to_string) {
        cmd = cmd.after_help(plugin_text(&text));
    }
    if let Some(text) = cmd.get_long_about().map(ToString::to_string) {
        cmd = cmd.long_about(plugin_text(&text));
    }
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, rename_examples);
    }
    cmd
}

/// `kubeladder apply ...` -> `kubectl ladder apply ...` (names like `kubeladder.io/...` stay).
fn plugin_text(text: &str) -> String {
    text.replace("kubeladder ", "kubectl ladder ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plugin_executable_name_counts() {
        assert!(is_plugin_name(Path::new("/usr/local/bin/kubectl-ladder")));
        assert!(is_plugin_name(Path::new("kubectl-ladder")));
        assert!(!is_plugin_name(Path::new("/usr/bin/kubeladder")));
        assert!(!is_plugin_name(Path::new("/opt/kubectl-ladder/kubeladder")));
    }

    #[test]
    fn plugin_help_names_kubectl_ladder_everywhere() {
        let mut cmd = as_plugin(Cli::command());
        cmd.build();
        let help = cmd.render_long_help().to_string();
        assert!(help.contains("Usage: kubectl ladder <COMMAND>"), "{help}");
        let apply = cmd.find_subcommand_mut("apply").map(|c| c.render_long_help().to_string()).unwrap_or_default();
        assert!(apply.contains("Usage: kubectl ladder apply"), "{apply}");
        assert!(apply.contains("  kubectl ladder apply --to 1.23"), "{apply}");
        assert!(!apply.contains("kubeladder apply"), "{apply}");
        let uncordon = cmd.find_subcommand_mut("drain").map(|c| c.render_long_help().to_string()).unwrap_or_default();
        assert!(uncordon.contains("kubeladder.io/cordoned-by"), "{uncordon}");
    }
}
