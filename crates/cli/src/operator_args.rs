//! Command-line shape of the operator tools: `completion`, `man`, `report`, `hosts import`
//! (clap derive). Parsing only: no behaviour lives here.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Prints the completion script for SHELL on stdout. Subcommands, flags and their fixed values \
(--workers, -o, ...) complete; in bash, the NODE of drain, uncordon and recover completes with the cluster's node \
names too (read with the line's --kubeconfig and --context, 5 s at most, nothing when the cluster cannot be read).\n\n\
Exit codes: 0 printed, 2 bad input (an unknown shell).\n\n\
Examples:\n  \
# bash (needs the bash-completion package)\n  \
kubeladder completion bash > ~/.local/share/bash-completion/completions/kubeladder\n  \
# zsh: a directory on $fpath\n  \
kubeladder completion zsh > ~/.zfunc/_kubeladder\n  \
kubeladder completion fish > ~/.config/fish/completions/kubeladder.fish\n  \
kubeladder completion powershell >> $PROFILE")]
pub struct CompletionArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
#[command(after_help = "Writes one roff man page per command into DIR: kubeladder.1, kubeladder-apply.1, \
kubeladder-recover-node.1, ... (the same text as --help). The repository keeps them in docs/man; after changing \
a command's help, regenerate them with `cargo run -- man --out-dir docs/man` (a test fails until then).\n\n\
Exit codes: 0 written, 1 DIR could not be written.\n\n\
Examples:\n  kubeladder man --out-dir docs/man\n  \
kubeladder man --out-dir ~/.local/share/man/man1 && man kubeladder-apply")]
pub struct ManArgs {
    /// Directory to write the pages to (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Args)]
#[command(after_help = "Reads an Ansible inventory in kubespray's layout (INI like inventory/sample/inventory.ini, \
or YAML like hosts.yaml) and writes a kubeladder hosts file. The nodes are the hosts of kube_control_plane and \
kube_node (also their old names kube-master and kube-node), control planes first. Mapped: ansible_host -> address, \
ansible_user -> user, ansible_port -> port, ansible_ssh_private_key_file -> identity_file, ansible_become -> sudo, \
ansible_connection=local -> transport local; [all:vars] (all.vars) become the defaults, group variables apply to \
their hosts, host variables win. What cannot be mapped (passwords, other ansible_* connection variables, Jinja \
templates, hosts in no node group) is listed on stderr, one line each.\n\n\
Exit codes: 0 written (read the notes on stderr), 2 bad input: an unreadable inventory (file:line), no node group, \
or --out exists without --force (nothing written).\n\n\
Examples:\n  kubeladder hosts import --from-ansible inventory/mycluster/inventory.ini --out hosts.yaml\n  \
kubeladder hosts import --from-ansible inventory/mycluster/hosts.yaml > hosts.yaml\n  \
kubeladder hosts check --hosts hosts.yaml")]
pub struct HostsImportArgs {
    /// The Ansible inventory (INI or YAML)
    #[arg(long, value_name = "INVENTORY")]
    pub from_ansible: PathBuf,
    /// Where to write the hosts file (default: stdout)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace --out if it exists
    #[arg(long)]
    pub force: bool,
}

/// `report -o`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A self-contained HTML page with the timeline (written to --out).
    #[default]
    Html,
    /// The report's model as one JSON document on stdout.
    Json,
    /// The summary as tables on stdout.
    Table,
}

#[derive(Debug, Args)]
#[command(after_help = "Reads the journal only (header.json and events.jsonl, without locking or changing them), so \
it works on a finished, failed, paused or crashed run, and while a run is going on. The HTML page is one \
self-contained file (no network, no external scripts or fonts): a timeline with one row per node and a bar per \
step attempt coloured by kind (drain, kubeadm, packages, restart, wait), hop boundaries, cordons, budget waits \
(no waiting worker could start) and failures marked, the number of workers out of service over time, and a \
summary: duration, drains, pods moved and budget waits per node, the slowest steps. `apply`, `resume` and `demo` \
write it as DIR/report.html when they stop and print its path.\n\n\
JSON: {\"run_id\",\"from\",\"to\",\"status\":{\"status\":\"finished|failed|paused|stopped|not-started\"},\
\"hops\":[...],\"rows\":[{\"node\",\"control_plane\",\"bars\":[{\"step\",\"action\",\"kind\",\"start\",\"end\",\
\"status\"}]}],\"marks\":[...],\"occupancy\":[{\"at\",\"unavailable\"}],\"summary\":{...}}; times in seconds since \
the run's first record.\n\n\
Exit codes: 0 written, 1 the journal is corrupt or the page could not be written, 2 bad input (no journal in DIR).\n\n\
Examples:\n  kubeladder report --state-dir ~/.local/state/kubeladder/<cluster-uid>\n  \
kubeladder report --state-dir DIR --out /tmp/upgrade.html\n  kubeladder report --state-dir DIR -o table")]
pub struct ReportArgs {
    /// The run's journal directory
    #[arg(long, value_name = "DIR")]
    pub state_dir: PathBuf,
    /// html: a page written to --out; json, table: on stdout
    #[arg(short, long, value_enum, default_value_t)]
    pub output: ReportFormat,
    /// Where to write the HTML page (default: DIR/report.html)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}
