//! `kubeladder recover list` and `recover node`: flags into the orchestrator's recovery use
//! cases; the plan of commands is shown before anything runs (`--dry-run` stops there,
//! `--yes` runs it).

use kubeladder_orchestrator::facts::BackupKind;
use kubeladder_orchestrator::recover::{self, NodeBackups, RecoverAction, RecoverReach};

use crate::Outcome;
use crate::args::{ReachArgs, RecoverListArgs, RecoverNodeArgs, RecoverPruneArgs};
use crate::commands::cluster_target;
use crate::error::CliError;
use crate::output;

/// `etcd data`, with its size when known.
fn etcd_data(bytes: Option<u64>) -> String {
    match bytes {
        Some(bytes) => format!("etcd data ({})", human_bytes(bytes)),
        None => "etcd data".to_owned(),
    }
}

/// A byte count as `du -h` would print it, in binary units (`12.3 MiB`).
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn reach(args: &ReachArgs) -> RecoverReach {
    RecoverReach { hosts: args.hosts.clone(), state_dir: args.state_dir.clone() }
}

/// `kubeladder recover list`.
pub async fn list(args: &RecoverListArgs) -> Result<Outcome, CliError> {
    let report = recover::list(&cluster_target(&args.cluster), &reach(&args.reach), args.node.as_deref()).await?;
    output::emit(args.output, &report, || render_list(&report))?;
    Ok(Outcome::Ok)
}

/// `kubeladder recover prune`.
pub async fn prune(args: &RecoverPruneArgs) -> Result<Outcome, CliError> {
    let entries = recover::prune(&cluster_target(&args.cluster), &reach(&args.reach), args.keep, args.yes).await?;
    output::emit(args.output, &entries, || {
        if entries.is_empty() {
            return "no kubeadm backups and no kubeladder snapshots\n".to_owned();
        }
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let size = e.bytes.map_or_else(|| "-".to_owned(), human_bytes);
                vec![e.node.clone(), e.kind.clone(), size, e.action.clone(), e.path.clone()]
            })
            .collect();
        let mut out = output::table(&["NODE", "KIND", "SIZE", "ACTION", "PATH"], rows);
        if !args.yes && entries.iter().any(|e| e.action == "would remove") {
            out += "\nnothing removed; pass --yes to remove them\n";
        }
        out
    })?;
    Ok(Outcome::Ok)
}

fn render_list(report: &[NodeBackups]) -> String {
    let mut out = String::new();
    for n in report {
        let now: Vec<String> = n.manifests.iter().map(|(c, t)| format!("{c} {t}")).collect();
        out += &format!("{}: manifests now: {}\n", n.node, now.join(", "));
        let mut rows: Vec<Vec<String>> = n
            .backups
            .iter()
            .map(|b| {
                let holds = if b.kind == BackupKind::Etcd { etcd_data(b.bytes) } else { b.holds.join(",") };
                vec![format!("kubeadm {:?}", b.kind).to_lowercase(), b.timestamp.clone(), holds, b.path.clone()]
            })
            .collect();
        rows.extend(
            n.snapshots
                .iter()
                .map(|s| vec!["etcd snapshot".to_owned(), "-".to_owned(), etcd_data(s.bytes), s.path.clone()]),
        );
        if rows.is_empty() {
            out += "  no kubeadm backups and no kubeladder snapshots\n";
        } else {
            out += &output::table(&["KIND", "TAKEN", "HOLDS", "PATH"], rows);
        }
        for note in &n.journal {
            out += &format!("  journal: {note}\n");
        }
        out += "\n";
    }
    out
}

/// The one action the flags name.
fn action(args: &RecoverNodeArgs) -> Result<RecoverAction, CliError> {
    let chosen = [args.rerun, args.force_reconverge, args.restore_manifests.is_some(), args.restore_etcd.is_some()];
    if chosen.iter().filter(|c| **c).count() != 1 {
        return Err(CliError::Usage(
            "choose exactly one of --rerun, --force-reconverge, --restore-manifests DIR, --restore-etcd DIR|SNAPSHOT"
                .to_owned(),
        ));
    }
    Ok(if args.rerun {
        RecoverAction::Rerun
    } else if args.force_reconverge {
        RecoverAction::ForceReconverge
    } else if let Some(dir) = &args.restore_manifests {
        RecoverAction::RestoreManifests(dir.clone())
    } else {
        RecoverAction::RestoreEtcd {
            source: args.restore_etcd.clone().unwrap_or_default(),
            allow_quorum_risk: args.allow_quorum_risk,
        }
    })
}

/// `kubeladder recover node N ...`.
pub async fn node(args: &RecoverNodeArgs) -> Result<Outcome, CliError> {
    let action = action(args)?;
    let plan = recover::plan_recovery(&cluster_target(&args.cluster), &reach(&args.reach), &args.node, &action).await?;
    let mut text = format!("recover {} on node {}: will run, in order:\n", plan.name, args.node);
    for command in plan.commands() {
        text += &format!("  {command}\n");
    }
    if let Some(v) = plan.expect_version {
        text += &format!("then wait for the control-plane pods of {} Ready at {v}\n", args.node);
    }
    if plan.expect_etcd {
        text += &format!("then wait for etcd on {} Ready\n", args.node);
    }
    output::print(&text)?;
    if args.dry_run {
        return Ok(Outcome::Ok);
    }
    if !args.yes {
        return Err(CliError::Usage(
            "nothing was changed; pass --yes to run the commands above (or --dry-run to only show them)".to_owned(),
        ));
    }
    let done = plan
        .execute(args.gate_timeout, args.poll, &|line| {
            // A closed stdout must not stop a recovery half-way.
            let _ = output::print(&format!("{line}\n"));
        })
        .await?;
    if let Some(dir) = done.journal_reopened {
        output::print(&format!(
            "journal {}: {}'s steps of the current hop will be checked again on resume\n",
            dir.display(),
            args.node
        ))?;
    }
    output::print(&format!("node {} recovered and verified\n", args.node))?;
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_like_du_h() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(12_897_485), "12.3 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
