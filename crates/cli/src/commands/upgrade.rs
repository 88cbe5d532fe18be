//! `kubeladder apply`, `resume` and `abort`: flags into the run use cases of the
//! orchestrator, the confirmation prompt, SIGINT/SIGTERM as a stop request, and the
//! progress and final reports.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kubeladder_core::checks::Severity;
use kubeladder_core::cluster::Role;
use kubeladder_core::plan::Plan;
use kubeladder_core::window::MaxUnavailable;
use kubeladder_orchestrator::facts::{DrainReport, Inventory};
use kubeladder_orchestrator::prepare::{self, HostProbe, Prepared};
use kubeladder_orchestrator::run::{self, Resumed, RunEnd, RunObserver, RunReport, RunSettings, StartedRun};
use kubeladder_orchestrator::runner::StepFailure;
use serde_json::json;

use crate::Outcome;
use crate::args::{AbortArgs, ApplyArgs, ClusterArgs, ResumeArgs, RunArgs};
use crate::commands::{cluster_target, plan};
use crate::error::CliError;
use crate::output;
use crate::progress::Printer;

/// The command that continues this run, for failure and pause reports.
fn resume_command(cluster: &ClusterArgs, run: &RunArgs, dir: &Path) -> String {
    let mut cmd = String::from("kubeladder resume");
    if let Some(k) = &cluster.kubeconfig {
        cmd += &format!(" --kubeconfig {}", k.display());
    }
    if let Some(c) = &cluster.context {
        cmd += &format!(" --context {c}");
    }
    if let Some(h) = &run.hosts {
        cmd += &format!(" --hosts {}", h.display());
    }
    cmd += &format!(" --state-dir {}", dir.display());
    if run.drain.delete_emptydir_data {
        cmd += " --delete-emptydir-data";
    }
    if run.drain.force {
        cmd += " --force";
    }
    cmd
}

fn settings(run: &RunArgs, max_unavailable: MaxUnavailable) -> RunSettings {
    RunSettings {
        hosts: run.hosts.clone(),
        state_dir: run.state_dir.clone(),
        drain_timeout: run.drain_timeout,
        gate_timeout: run.gate_timeout,
        poll: run.poll,
        max_unavailable,
        copy_snapshots: !run.no_snapshot_copy,
        drain: prepare::upgrade_drain_options(run.drain.delete_emptydir_data, run.drain.force),
    }
}

/// Ask on the terminal; without one, `--yes` is required.
fn confirm(question: &str) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "standard input is not a terminal, so kubeladder cannot ask for confirmation; pass --yes to proceed"
                .to_owned(),
        ));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}

fn plan_summary(plan: &Plan, inventory: &Inventory, max_unavailable: MaxUnavailable) -> String {
    let control_planes = inventory.nodes.iter().filter(|n| n.role == Role::ControlPlane).count();
    let workers = inventory.nodes.len() - control_planes;
    let hops: Vec<String> = plan.hops.iter().map(|h| h.to.to_string()).collect();
    let mut out = format!(
        "Upgrade cluster {} from {} to {} in {} hop(s): {}\n",
        inventory.cluster_uid,
        plan.from,
        plan.to,
        plan.hops.len(),
        hops.join(" -> ")
    );
    out += &format!(
        "{control_planes} control-plane node(s), {workers} worker(s), workers: {}, max unavailable: {max_unavailable} \
         ({} node(s)), {} steps\n",
        plan.strategy,
        max_unavailable.limit(workers),
        plan.steps().count()
    );
    let drains = plan.drains_per_node();
    if !drains.is_empty() {
        let list: Vec<String> = drains.iter().map(|(n, c)| format!("{n} x{c}")).collect();
        out += &format!("Drains per node: {}\n", list.join(", "));
    }
    for note in &plan.notes {
        out += &format!("Note (hop {}): {}\n", note.hop + 1, note.message);
    }
    out
}

fn refusal(prepared: &Prepared) -> String {
    let mut text = String::from("refusing to start: the plan has blockers\n");
    for f in prepared.report.findings.iter().filter(|f| f.severity == Severity::Blocker) {
        text += &format!("  BLOCKER {}: {}\n    fix: {}\n", f.subject, f.message, f.fix);
    }
    text += "nothing was changed; `kubeladder plan` shows the whole report\n";
    text
}

/// `kubeladder apply`.
pub async fn apply(args: &ApplyArgs) -> Result<Outcome, CliError> {
    // `apply` runs the plan it shows; upstream's newest release does not change it.
    let request = plan::plan_request(
        args.to,
        &args.strategy,
        crate::commands::versions::today(),
        kubeladder_orchestrator::release_channel::OFF,
        HostProbe::WhenChecksNeed(args.run.hosts.clone()),
        args.run.drain,
    );
    let prepared = Box::pin(prepare::prepare(&cluster_target(&args.cluster), &request)).await?;
    let plan = prepared.proven_plan()?;
    if plan.steps().next().is_none() {
        // No journal for a run of zero steps: there is nothing to resume or abort.
        output::print(&format!(
            "the cluster already runs {} and every node is there: nothing to do, nothing was changed\n",
            prepared.path.to
        ))?;
        return Ok(Outcome::Ok);
    }
    let summary = plan_summary(plan, &prepared.session.inventory, args.strategy.max_unavailable);
    if args.dry_run {
        output::print(&summary)?;
        output::print(&plan::render(&prepared.report))?;
        return Ok(if prepared.report.blockers > 0 { Outcome::Blockers } else { Outcome::Ok });
    }
    if prepared.report.blockers > 0 {
        eprint!("{}", refusal(&prepared));
        return Ok(Outcome::Blockers);
    }
    run::make_room(&prepared.session.state_dir(args.run.state_dir.as_deref())?)?;
    if !args.yes {
        eprint!("{summary}");
        if !confirm("Proceed with the upgrade?")? {
            eprintln!("nothing was changed");
            return Ok(Outcome::Ok);
        }
    }
    let started = run::start(prepared, settings(&args.run, args.strategy.max_unavailable)).await?;
    let printer = Arc::new(Printer::new(args.run.output, started.plan(), 0));
    printer.message(&summary);
    printer.message(&format!(
        "journal: {}  (watch with `kubeladder status --state-dir {}`)",
        started.dir().display(),
        started.dir().display()
    ));
    Box::pin(drive(started, printer, &args.cluster, &args.run)).await
}

/// `kubeladder resume`.
pub async fn resume(args: &ResumeArgs) -> Result<Outcome, CliError> {
    let started = match run::resume(&cluster_target(&args.cluster), settings(&args.run, args.max_unavailable)).await? {
        Resumed::AlreadyFinished { dir } => {
            output::print(&format!("the run in {} already finished; nothing to resume\n", dir.display()))?;
            return Ok(Outcome::Ok);
        }
        Resumed::Started(started) => *started,
    };
    let done = started.steps_done();
    let printer = Arc::new(Printer::new(args.run.output, started.plan(), done));
    printer.message(&format!(
        "resuming run {} ({done}/{} steps done) from {}",
        started.run_id(),
        started.plan().steps().count(),
        started.dir().display()
    ));
    Box::pin(drive(started, printer, &args.cluster, &args.run)).await
}

/// `kubeladder abort`: stop for good - uncordon what this run cordoned, leave the journal
/// paused (so `resume` could still continue), release nothing it does not hold.
pub async fn abort(args: &AbortArgs) -> Result<Outcome, CliError> {
    let report = run::abort(&cluster_target(&args.cluster), args.state_dir.as_deref()).await?;
    let mut text = format!("run {} aborted; journal kept in {}\n", report.run_id, report.dir.display());
    if report.uncordoned.is_empty() {
        text += "no node was cordoned by this run\n";
    } else {
        text += &format!("uncordoned (cordoned by this run): {}\n", report.uncordoned.join(", "));
    }
    text += "nodes cordoned by anyone else were left as they are; `kubeladder resume` would continue the run\n";
    output::print(&text)?;
    Ok(Outcome::Ok)
}

/// First SIGINT or SIGTERM: finish the running step(s), then stop resumable.
fn spawn_signals(stop: Arc<AtomicBool>, printer: Arc<Printer>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
        stop.store(true, Ordering::SeqCst);
        printer.message("stop requested: finishing the running step(s), then stopping; `kubeladder resume` continues");
    })
}

async fn drive(
    started: StartedRun,
    printer: Arc<Printer>,
    cluster_args: &ClusterArgs,
    run: &RunArgs,
) -> Result<Outcome, CliError> {
    let dir = started.dir().to_owned();
    let resume = resume_command(cluster_args, run, &dir);
    let stop = Arc::new(AtomicBool::new(false));
    let signals = spawn_signals(Arc::clone(&stop), Arc::clone(&printer));
    let observer: Arc<dyn RunObserver> = printer.clone();
    let result = started.drive(observer, stop).await;
    signals.abort();
    printer.finish();
    // Written before the outcome is reported, so JSON output still ends with it.
    let report_line = crate::commands::report::after_run(&printer, &dir);
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            printer.json(&json!({"event": "failed", "error": e.to_string(), "resume": resume}));
            return Err(CliError::Run { error: e.to_string(), resume });
        }
    };
    let outcome = match &report.end {
        RunEnd::Finished { inventory, drains } => {
            report_finished(&printer, inventory, drains, &report);
            Outcome::Ok
        }
        RunEnd::Paused => {
            printer.json(&json!({"event": "paused", "resume": resume}));
            printer.message(&format!("paused at a step boundary; continue with:\n  {resume}"));
            Outcome::Paused
        }
        RunEnd::Failed { failure, steps_done, node_cordoned_by_this_run } => {
            report_failure(&printer, failure, *steps_done, report.steps_total, *node_cordoned_by_this_run, &resume);
            Outcome::Failed
        }
    };
    if let Some(line) = report_line {
        printer.message(&line);
    }
    Ok(outcome)
}

fn report_failure(printer: &Printer, failure: &StepFailure, done: usize, total: usize, cordoned: bool, resume: &str) {
    printer.json(&json!({
        "event": "failed",
        "node": failure.node,
        "step": failure.name,
        "action": failure.action,
        "id": failure.step,
        "error": failure.error,
        "kind": failure.kind,
        "steps_done": done,
        "steps_total": total,
        "node_cordoned_by_this_run": cordoned,
        "resume": resume,
    }));
    let mut text =
        format!("\nFAILED on node {}: step {} ({})\n  {}\n", failure.node, failure.action, failure.step, failure.error);
    text += &format!(
        "What changed: {done}/{total} steps finished before this one; the failed step is recorded in the journal.\n"
    );
    if cordoned {
        text += &format!("Node {} stays cordoned by this run (its workloads run elsewhere).\n", failure.node);
    }
    text += &format!("Fix the cause, then continue exactly where the run stopped:\n  {resume}\n");
    text += "or stop for good and uncordon what this run cordoned: kubeladder abort (same --kubeconfig/--state-dir)\n";
    printer.message(&text);
}

fn report_finished(printer: &Printer, inventory: &Inventory, drains: &[DrainReport], report: &RunReport) {
    let mut moved: BTreeMap<String, usize> = BTreeMap::new();
    let mut waits: BTreeMap<String, u32> = BTreeMap::new();
    for r in drains {
        *moved.entry(r.node.clone()).or_default() += r.evicted.len();
        *waits.entry(r.node.clone()).or_default() += r.budget_waits;
    }
    let times = printer.node_times();
    let duration = printer.elapsed().as_secs_f64();
    if printer.is_json() {
        let nodes: Vec<serde_json::Value> = inventory
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "name": n.name,
                    "ready": n.ready,
                    "unschedulable": n.unschedulable,
                    "kubelet": n.kubelet.to_string(),
                    "pods_moved": moved.get(&n.name).copied().unwrap_or(0),
                    "budget_waits": waits.get(&n.name).copied().unwrap_or(0),
                    "seconds": times.get(&n.name).map_or(0.0, Duration::as_secs_f64),
                })
            })
            .collect();
        printer.json(&json!({
            "event": "finished",
            "cluster_version": inventory.cluster_version.to_string(),
            "nodes": nodes,
            "duration_s": duration,
        }));
        return;
    }
    let table = output::table(
        &["NAME", "STATUS", "ROLES", "VERSION", "PODS MOVED", "BUDGET WAITS", "TIME"],
        inventory.nodes.iter().map(|n| {
            let mut status = if n.ready { "Ready".to_owned() } else { "NotReady".to_owned() };
            if n.unschedulable {
                status += ",SchedulingDisabled";
            }
            vec![
                n.name.clone(),
                status,
                if n.role == Role::ControlPlane { "control-plane".to_owned() } else { "<none>".to_owned() },
                n.kubelet.to_string(),
                moved.get(&n.name).copied().unwrap_or(0).to_string(),
                waits.get(&n.name).copied().unwrap_or(0).to_string(),
                times.get(&n.name).map_or_else(|| "-".to_owned(), |t| format!("{}s", t.as_secs())),
            ]
        }),
    );
    printer.message(&format!(
        "\nUpgrade finished: cluster at {} ({} steps, {:.0}s; journal {})\n\n{table}",
        inventory.cluster_version,
        report.steps_total,
        duration,
        report.dir.display()
    ));
}
