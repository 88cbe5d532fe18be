//! `kubeladder completion SHELL` and `kubeladder man --out-dir DIR`: the shell's view of
//! the command line, generated from the same clap definition as `--help`.

use std::io::Write;

use crate::Outcome;
use crate::args::ClusterArgs;
use crate::error::CliError;
use crate::operator_args::{CompletionArgs, ManArgs};

/// Bash: NODE arguments (`drain`, `uncordon`, `recover node`, `recover list --node`) complete
/// with the cluster's node names (`__complete-nodes`, with the line's --kubeconfig and
/// --context); everything else is clap's completion.
const BASH_NODES: &str = r#"
_kubeladder_node_names() {
    local i args=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --kubeconfig|--context) args+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}") ;;
        esac
    done
    "${COMP_WORDS[0]}" __complete-nodes "${args[@]}" 2>/dev/null
}

_kubeladder_with_nodes() {
    local cur="$2" prev="$3" sub="${COMP_WORDS[1]}"
    if [[ "$cur" != -* ]]; then
        if [[ ($sub == drain || $sub == uncordon) && $prev != --* ]] ||
           [[ $sub == recover && ${COMP_WORDS[2]} == node && $COMP_CWORD -ge 3 && $prev != --* ]] ||
           [[ $sub == recover && $prev == --node ]]; then
            COMPREPLY=( $(compgen -W "$(_kubeladder_node_names)" -- "$cur") )
            [[ ${#COMPREPLY[@]} -gt 0 ]] && return 0
        fi
    fi
    _kubeladder "$@"
}

complete -F _kubeladder_with_nodes -o bashdefault -o default kubeladder
"#;

/// Print the completion script for `args.shell` on stdout.
pub fn completion(args: &CompletionArgs) -> Result<Outcome, CliError> {
    // Scripts complete the `kubeladder` executable (kubectl completes its plugins itself).
    let mut cmd = <crate::args::Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "kubeladder", &mut script);
    if args.shell == clap_complete::Shell::Bash {
        script.extend_from_slice(BASH_NODES.as_bytes());
    }
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

/// The arguments `__complete-nodes [--kubeconfig FILE] [--context NAME]`, when the process
/// was started that way (by the bash completion script).
pub fn node_names_request() -> Option<ClusterArgs> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "__complete-nodes" {
        return None;
    }
    let mut cluster = ClusterArgs { kubeconfig: None, context: None };
    while let Some(flag) = args.next() {
        let value = args.next();
        if flag == "--kubeconfig" {
            cluster.kubeconfig = value.map(std::path::PathBuf::from);
        } else if flag == "--context" {
            cluster.context = value.and_then(|v| v.into_string().ok());
        }
    }
    Some(cluster)
}

/// Print the cluster's node names, one per line. Completion must stay quiet: an unreachable
/// cluster prints nothing and still exits 0.
pub async fn nodes(cluster: &ClusterArgs) -> Result<Outcome, CliError> {
    let read =
        async { kubeladder_orchestrator::cluster_ops::inventory(&crate::commands::cluster_target(cluster)).await.ok() };
    let names = match tokio::time::timeout(std::time::Duration::from_secs(5), read).await {
        Ok(Some(inventory)) => inventory.nodes.into_iter().map(|n| n.name + "\n").collect::<String>(),
        _ => String::new(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(names.as_bytes())?;
    out.flush()?;
    Ok(Outcome::Ok)
}
