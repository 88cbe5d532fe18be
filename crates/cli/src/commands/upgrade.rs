//! `kubeladder apply`, `resume` and `abort`: run a plan across every node with the journal,
//! the run lock, health gates and progress output.
//!
//! Order of an `apply`: read the cluster, compute and prove the plan, refuse on blockers,
//! show the summary and ask (unless `--yes`), reach every node (refuse before touching
//! anything if one is unreachable), take the run lock, create the journal, run.
//! `resume` opens the journal (refusing one of another cluster) and continues; `abort`
//! uncordons only what the run cordoned and leaves the journal paused.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kubeladder_core::cluster::Role;
use kubeladder_core::journal::{self, Event, Header};
use kubeladder_core::path::{self, PathOptions};
use kubeladder_core::plan::{self as core_plan, Plan};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::window::MaxUnavailable;
use kubeladder_kube::client::Clients;
use kubeladder_kube::drain::DrainConfig;
use kubeladder_kube::inventory::Inventory;
use kubeladder_kube::lock::{self, RunLock};
use kubeladder_kube::removed_apis;
use kubeladder_kube::workload::WorkloadView;
use kubeladder_node::hosts::Hosts;
use kubeladder_node::{Executor, PackageManager, SshOptions};
use kubeladder_orchestrator::Journal;
use kubeladder_orchestrator::executor::{Executor as PlanExecutor, Outcome as RunOutcome, StepFailure};
use kubeladder_orchestrator::kube_cluster::{GateTimings, KubeCluster};
use kubeladder_orchestrator::node_ops::NodeOps;
use serde_json::json;
use tokio::sync::watch;

use crate::Outcome;
use crate::args::{AbortArgs, ApplyArgs, ClusterArgs, ResumeArgs, RunArgs};
use crate::commands::plan::{self as plan_cmd, Inputs};
use crate::error::CliError;
use crate::output;
use crate::progress::Printer;

/// The default journal directory of a cluster: `$XDG_STATE_HOME/kubeladder/<uid>`
/// (`~/.local/state/kubeladder/<uid>` without it).
pub fn default_state_dir(cluster_uid: &str) -> Result<PathBuf, CliError> {
    let base = if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        PathBuf::from(dir)
    } else {
        let home = std::env::var_os("HOME")
            .ok_or_else(|| CliError::Usage("neither XDG_STATE_HOME nor HOME is set; pass --state-dir".to_owned()))?;
        PathBuf::from(home).join(".local/state")
    };
    Ok(base.join("kubeladder").join(cluster_uid))
}

pub(crate) fn state_dir(given: Option<&Path>, inventory: &Inventory) -> Result<PathBuf, CliError> {
    match given {
        Some(dir) => Ok(dir.to_owned()),
        None => default_state_dir(&inventory.cluster_uid),
    }
}

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
    cmd
}

/// Everything read from the cluster before a run.
pub(crate) struct Cluster {
    pub(crate) clients: Clients,
    pub(crate) inventory: Inventory,
}

pub(crate) async fn read_cluster(cluster: &ClusterArgs) -> Result<Cluster, CliError> {
    let clients = kubeladder_kube::client::connect(cluster.kubeconfig.as_deref(), cluster.context.as_deref()).await?;
    let inventory = Inventory::read(&clients.api).await?;
    Ok(Cluster { clients, inventory })
}

/// How to reach each node, and the package managers the hosts file names.
type Reach = (BTreeMap<String, Arc<dyn Executor>>, BTreeMap<String, PackageManager>);

/// One executor per node: from the hosts file, else the node's `InternalIP` and the defaults.
pub(crate) fn executors(hosts_file: Option<&Path>, inventory: &Inventory) -> Result<Reach, CliError> {
    let hosts = match hosts_file {
        Some(path) => Hosts::load(path)?,
        None => Hosts::default(),
    };
    let options = SshOptions::default();
    let mut executors = BTreeMap::new();
    let mut package_managers = BTreeMap::new();
    for node in &inventory.nodes {
        let host = hosts.resolve(&node.name, node.internal_ip.as_deref()).ok_or_else(|| {
            CliError::Usage(format!(
                "node {} has no InternalIP and no entry in the hosts file; add `- node: {}` with its address",
                node.name, node.name
            ))
        })?;
        if let Some(pm) = host.package_manager {
            package_managers.insert(node.name.clone(), pm);
        }
        let exec: Arc<dyn Executor> = Arc::from(kubeladder_node::probe::executor_for(&host, &options)?);
        executors.insert(node.name.clone(), exec);
    }
    Ok((executors, package_managers))
}

fn roles(inventory: &Inventory) -> BTreeMap<String, Role> {
    inventory.nodes.iter().map(|n| (n.name.clone(), n.role)).collect()
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

/// `kubeladder apply`.
pub async fn apply(args: &ApplyArgs) -> Result<Outcome, CliError> {
    let data = ReleaseData::embedded()?;
    let cluster = read_cluster(&args.cluster).await?;
    let inventory = &cluster.inventory;
    let options = PathOptions { allow_prerelease: args.strategy.allow_prerelease, allow_downgrade: false };
    let upgrade_path = path::upgrade_path(data, inventory.cluster_version, args.to, options)?;
    let state = inventory.cluster_state();
    let plan = core_plan::plan(&state, &upgrade_path, args.strategy.workers.into())
        .map_err(|e| CliError::Usage(format!("no safe plan: {e}")))?;

    // The same checks `kubeladder plan` shows; blockers stop here. Into 1.35 the hosts'
    // cgroup version decides a blocker, so they are asked (read-only); a node that does not
    // answer is left to the preflight below, which refuses it with exit 2.
    let hosts = if kubeladder_core::checks::needs_cgroup_v2(&upgrade_path) {
        plan_cmd::host_facts(args.run.hosts.as_deref(), inventory).await?.0
    } else {
        plan_cmd::HostFacts::default()
    };
    let workload = WorkloadView::read(&cluster.clients.api, plan_cmd::upgrade_drain_options()).await?;
    let removed =
        removed_apis::scan(&cluster.clients.api, data, upgrade_path.from.minor(), upgrade_path.to.minor()).await?;
    let report = plan_cmd::build(&Inputs {
        data,
        today: crate::commands::versions::today(),
        inventory,
        workload: &workload,
        removed: &removed,
        path: &upgrade_path,
        strategy: args.strategy.workers.into(),
        max_unavailable: args.strategy.max_unavailable,
        hosts: &hosts,
        // `apply` runs the plan it shows; upstream's newest release does not change it.
        latest: &crate::release_channel::Lookup::Off,
    });
    let summary = plan_summary(&plan, inventory, args.strategy.max_unavailable);
    if args.dry_run {
        output::print(&summary)?;
        output::print(&plan_cmd::render(&report))?;
        return Ok(if report.blockers > 0 { Outcome::Blockers } else { Outcome::Ok });
    }
    if report.blockers > 0 {
        let mut text = String::from("refusing to start: the plan has blockers\n");
        for f in report.findings.iter().filter(|f| f.severity == kubeladder_core::checks::Severity::Blocker) {
            text += &format!("  BLOCKER {}: {}\n    fix: {}\n", f.subject, f.message, f.fix);
        }
        text += "nothing was changed; `kubeladder plan` shows the whole report\n";
        eprint!("{text}");
        return Ok(Outcome::Blockers);
    }
    let dir = state_dir(args.run.state_dir.as_deref(), inventory)?;
    prepare_state_dir(&dir)?;
    if !args.yes {
        eprint!("{summary}");
        if !confirm("Proceed with the upgrade?")? {
            eprintln!("nothing was changed");
            return Ok(Outcome::Ok);
        }
    }
    let run_id = new_run_id();
    let (execs, pms) = executors(args.run.hosts.as_deref(), inventory)?;
    let nodes = NodeOps::new(execs, roles(inventory), pms, data, run_id.clone());
    nodes.preflight().await.map_err(|problems| {
        CliError::Usage(format!(
            "cannot reach every node; nothing was changed:\n  {}\nfix the hosts file (--hosts) or the nodes, then retry",
            problems.join("\n  ")
        ))
    })?;
    let lock = RunLock::acquire(&cluster.clients.api, &run_id).await?;
    let header = Header {
        format: journal::FORMAT,
        run_id: run_id.clone(),
        cluster_uid: inventory.cluster_uid.clone(),
        created_at: jiff::Timestamp::now().to_string(),
        plan,
    };
    let journal = match Journal::create(&dir, header) {
        Ok(j) => j,
        Err(e) => {
            let _ = lock.release().await;
            return Err(e.into());
        }
    };
    let printer = Arc::new(Printer::new(args.run.output, &journal.header().plan, 0));
    printer.message(&summary);
    printer.message(&format!(
        "journal: {}  (watch with `kubeladder status --state-dir {}`)",
        dir.display(),
        dir.display()
    ));
    drive(&cluster, journal, nodes, lock, printer, &args.cluster, &args.run, args.strategy.max_unavailable).await
}

/// `kubeladder resume`.
pub async fn resume(args: &ResumeArgs) -> Result<Outcome, CliError> {
    let data = ReleaseData::embedded()?;
    let cluster = read_cluster(&args.cluster).await?;
    let inventory = &cluster.inventory;
    let dir = state_dir(args.run.state_dir.as_deref(), inventory)?;
    let journal = Journal::open(&dir, &inventory.cluster_uid)?;
    if journal.progress().finished {
        output::print(&format!("the run in {} already finished; nothing to resume\n", dir.display()))?;
        return Ok(Outcome::Ok);
    }
    let run_id = journal.header().run_id.clone();
    let (execs, pms) = executors(args.run.hosts.as_deref(), inventory)?;
    let nodes = NodeOps::new(execs, roles(inventory), pms, data, run_id.clone());
    nodes.preflight().await.map_err(|problems| {
        CliError::Usage(format!("cannot reach every node; nothing was changed:\n  {}", problems.join("\n  ")))
    })?;
    let lock = RunLock::acquire(&cluster.clients.api, &run_id).await?;
    let done = journal.progress().done_count();
    let printer = Arc::new(Printer::new(args.run.output, &journal.header().plan, done));
    printer.message(&format!(
        "resuming run {run_id} ({done}/{} steps done) from {}",
        journal.header().plan.steps().count(),
        dir.display()
    ));
    drive(&cluster, journal, nodes, lock, printer, &args.cluster, &args.run, args.max_unavailable).await
}

/// `kubeladder abort`: stop for good - uncordon what this run cordoned, leave the journal
/// paused (so `resume` could still continue), release nothing it does not hold.
pub async fn abort(args: &AbortArgs) -> Result<Outcome, CliError> {
    let cluster = read_cluster(&args.cluster).await?;
    let inventory = &cluster.inventory;
    let dir = match &args.state_dir {
        Some(d) => d.clone(),
        None => default_state_dir(&inventory.cluster_uid)?,
    };
    let mut journal = Journal::open(&dir, &inventory.cluster_uid)?;
    let run_id = journal.header().run_id.clone();
    let lock = RunLock::acquire(&cluster.clients.api, &run_id).await?;
    let ours: Vec<String> = journal.progress().cordoned_by_us.iter().cloned().collect();
    let mut uncordoned = Vec::new();
    for node in ours {
        kubeladder_kube::drain::uncordon(&cluster.clients.api, &node, &run_id, false).await?;
        journal.record(Event::NodeUncordoned { node: node.clone() })?;
        uncordoned.push(node);
    }
    journal.record(Event::RunPaused { reason: "aborted by the operator".to_owned() })?;
    lock.release().await?;
    let mut text = format!("run {run_id} aborted; journal kept in {}\n", dir.display());
    if uncordoned.is_empty() {
        text += "no node was cordoned by this run\n";
    } else {
        text += &format!("uncordoned (cordoned by this run): {}\n", uncordoned.join(", "));
    }
    text += "nodes cordoned by anyone else were left as they are; `kubeladder resume` would continue the run\n";
    output::print(&text)?;
    Ok(Outcome::Ok)
}

/// Refuse a directory holding an unfinished run; move a finished one aside.
fn prepare_state_dir(dir: &Path) -> Result<(), CliError> {
    if !dir.join("header.json").exists() {
        return Ok(());
    }
    let (header, progress) = kubeladder_orchestrator::journal_store::inspect(dir)?;
    if !progress.finished {
        return Err(CliError::Usage(format!(
            "{} holds the unfinished run {} (to {}); continue it with `kubeladder resume`, stop it with \
             `kubeladder abort`, or pass another --state-dir",
            dir.display(),
            header.run_id,
            header.plan.to
        )));
    }
    let archive =
        dir.with_file_name(format!("{}-{}", dir.file_name().and_then(|n| n.to_str()).unwrap_or("run"), header.run_id));
    std::fs::rename(dir, &archive).map_err(CliError::Output)?;
    Ok(())
}

fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    // The machine's name, so that a refused second run can say where the first one runs.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kubeladder".to_owned());
    format!("{host}-{}-{}", now.strftime("%Y%m%dT%H%M%SZ"), std::process::id())
}

/// Renew the lock until told to stop; on loss, ask the run to stop at the next step.
fn spawn_renewal(
    mut lock: RunLock,
    stop: Arc<AtomicBool>,
    printer: Arc<Printer>,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<RunLock>) {
    let (done_tx, mut done_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(lock::RENEW_EVERY) => {
                    if let Err(e) = lock.renew().await {
                        printer.message(&format!("warning: {e}"));
                        stop.store(true, Ordering::SeqCst);
                    }
                }
                _ = done_rx.changed() => break,
            }
        }
        lock
    });
    (done_tx, task)
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

#[allow(clippy::too_many_arguments)]
async fn drive(
    cluster: &Cluster,
    journal: Journal,
    nodes: NodeOps,
    lock: RunLock,
    printer: Arc<Printer>,
    cluster_args: &ClusterArgs,
    run: &RunArgs,
    max_unavailable: MaxUnavailable,
) -> Result<Outcome, CliError> {
    let dir = journal.dir().to_owned();
    let run_id = journal.header().run_id.clone();
    let workers = cluster.inventory.nodes.iter().filter(|n| n.role == Role::Worker).count();
    let drain = DrainConfig {
        run_id: run_id.clone(),
        options: plan_cmd::upgrade_drain_options(),
        timeout: run.drain_timeout,
        ..DrainConfig::default()
    };
    let gates = GateTimings { node_ready: run.gate_timeout, static_pods: run.gate_timeout, poll: run.poll };
    let kube = KubeCluster::new(cluster.clients.clone(), drain, max_unavailable, workers, gates);
    let stop = Arc::new(AtomicBool::new(false));
    let (renew_stop, renewal) = spawn_renewal(lock, Arc::clone(&stop), Arc::clone(&printer));
    let signals = spawn_signals(Arc::clone(&stop), Arc::clone(&printer));
    let observer_printer = Arc::clone(&printer);
    let mut executor = PlanExecutor::new(&kube, &nodes, journal, Arc::clone(&stop))
        .with_observer(Arc::new(move |record| observer_printer.record(record)));
    executor.window_retry = run.poll;
    // A worker waits for room in the window (budgets, capacity) at most as long as a drain may take.
    executor.window_patience =
        usize::try_from(run.drain_timeout.as_millis() / run.poll.as_millis().max(1)).unwrap_or(usize::MAX).max(1);
    let outcome = executor.run().await;
    signals.abort();
    let _ = renew_stop.send(true);
    let lock = renewal.await.map_err(|e| CliError::Runtime(e.to_string()))?;
    let journal = executor.into_journal()?;
    printer.finish();
    // Written before the outcome is reported, so JSON output still ends with it.
    let report = crate::commands::report::after_run(&printer, &dir);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = lock.release().await;
            let resume = resume_command(cluster_args, run, &dir);
            printer.json(&json!({"event": "failed", "error": e.to_string(), "resume": resume}));
            return Err(CliError::Run { error: e.to_string(), resume });
        }
    };
    let result = match outcome {
        RunOutcome::Finished => {
            let inventory = Inventory::read(&cluster.clients.api).await?;
            report_finished(&printer, &inventory, &kube, &journal);
            Ok(Outcome::Ok)
        }
        RunOutcome::Paused => {
            let text =
                format!("paused at a step boundary; continue with:\n  {}", resume_command(cluster_args, run, &dir));
            printer.json(&json!({"event": "paused", "resume": resume_command(cluster_args, run, &dir)}));
            printer.message(&text);
            Ok(Outcome::Paused)
        }
        RunOutcome::Failed(failure) => {
            report_failure(&printer, &failure, &journal, &resume_command(cluster_args, run, &dir));
            Ok(Outcome::Failed)
        }
    };
    if let Some(line) = report {
        printer.message(&line);
    }
    lock.release().await?;
    result
}

fn report_failure(printer: &Printer, failure: &StepFailure, journal: &Journal, resume: &str) {
    let progress = journal.progress();
    let total = journal.header().plan.steps().count();
    let cordoned = progress.cordoned_by_us.contains(&failure.node);
    let name = journal.header().plan.steps().find(|s| s.id == failure.step).map_or("", |s| s.action.name());
    printer.json(&json!({
        "event": "failed",
        "node": failure.node,
        "step": name,
        "action": failure.action,
        "id": failure.step,
        "error": failure.error,
        "steps_done": progress.done_count(),
        "steps_total": total,
        "node_cordoned_by_this_run": cordoned,
        "resume": resume,
    }));
    let mut text =
        format!("\nFAILED on node {}: step {} ({})\n  {}\n", failure.node, failure.action, failure.step, failure.error);
    text += &format!(
        "What changed: {}/{total} steps finished before this one; the failed step is recorded in the journal.\n",
        progress.done_count()
    );
    if cordoned {
        text += &format!("Node {} stays cordoned by this run (its workloads run elsewhere).\n", failure.node);
    }
    text += &format!("Fix the cause, then continue exactly where the run stopped:\n  {resume}\n");
    text += "or stop for good and uncordon what this run cordoned: kubeladder abort (same --kubeconfig/--state-dir)\n";
    printer.message(&text);
}

fn report_finished(printer: &Printer, inventory: &Inventory, kube: &KubeCluster, journal: &Journal) {
    let reports = kube.drain_reports();
    let mut moved: BTreeMap<String, usize> = BTreeMap::new();
    let mut waits: BTreeMap<String, u32> = BTreeMap::new();
    for r in &reports {
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
        journal.header().plan.steps().count(),
        duration,
        journal.dir().display()
    ));
}
