//! `kubeladder status`: a run's progress from its journal, read without taking the lock.

use kubeladder_core::journal::{Header, Progress, StepStatus};
use kubeladder_orchestrator::journal_store;
use serde::Serialize;

use crate::Outcome;
use crate::args::StatusArgs;
use crate::error::CliError;
use crate::output;

#[derive(Debug, Serialize)]
struct Status {
    run_id: String,
    cluster_uid: String,
    from: String,
    to: String,
    strategy: String,
    steps_total: usize,
    steps_done: usize,
    finished: bool,
    paused: Option<String>,
    next_step: Option<String>,
    in_doubt: Vec<String>,
    failed: Vec<(String, String)>,
    cordoned_by_this_run: Vec<String>,
    foreign_cordons: Vec<String>,
    hops: Vec<HopStatus>,
}

#[derive(Debug, Serialize)]
struct HopStatus {
    to: String,
    done: usize,
    total: usize,
}

pub fn run(args: &StatusArgs) -> Result<Outcome, CliError> {
    let (header, progress) = journal_store::inspect(&args.state_dir)?;
    let status = summarize(&header, &progress);
    output::emit(args.output, &status, || render(&status, &args.state_dir))?;
    Ok(Outcome::Ok)
}

fn summarize(header: &Header, progress: &Progress) -> Status {
    let plan = &header.plan;
    let hops = plan
        .hops
        .iter()
        .map(|h| {
            let ids: Vec<&str> = h
                .catch_up
                .iter()
                .flat_map(|l| l.steps.iter())
                .chain(h.steps.iter())
                .chain(h.workers.iter().flat_map(|l| l.steps.iter()))
                .map(|s| s.id.as_str())
                .collect();
            HopStatus {
                to: h.to.to_string(),
                done: ids.iter().filter(|id| progress.is_done(id)).count(),
                total: ids.len(),
            }
        })
        .collect();
    Status {
        run_id: header.run_id.clone(),
        cluster_uid: header.cluster_uid.clone(),
        from: plan.from.to_string(),
        to: plan.to.to_string(),
        strategy: plan.strategy.to_string(),
        steps_total: plan.steps().count(),
        steps_done: progress.done_count(),
        finished: progress.finished,
        paused: progress.paused.clone(),
        next_step: progress.next(plan).map(|n| match n {
            kubeladder_core::journal::Next::Run(s) | kubeladder_core::journal::Next::Recheck(s) => s.to_owned(),
        }),
        in_doubt: progress.in_doubt().into_iter().map(str::to_owned).collect(),
        failed: progress
            .steps
            .iter()
            .filter_map(|(id, s)| match s {
                StepStatus::Failed { error } => Some((id.clone(), error.clone())),
                _ => None,
            })
            .collect(),
        cordoned_by_this_run: progress.cordoned_by_us.iter().cloned().collect(),
        foreign_cordons: progress.foreign_cordons.iter().cloned().collect(),
        hops,
    }
}

fn render(s: &Status, dir: &std::path::Path) -> String {
    let state = if s.finished {
        "finished".to_owned()
    } else if let Some(reason) = &s.paused {
        format!("paused ({reason})")
    } else if !s.failed.is_empty() {
        "stopped at a failure".to_owned()
    } else {
        "in progress or interrupted".to_owned()
    };
    let mut out = format!(
        "Run {} on cluster {}: {} -> {} ({} workers), {state}; {}/{} steps done.\n\n",
        s.run_id, s.cluster_uid, s.from, s.to, s.strategy, s.steps_done, s.steps_total
    );
    out += &output::table(
        &["HOP", "TO", "STEPS DONE"],
        s.hops
            .iter()
            .enumerate()
            .map(|(i, h)| vec![(i + 1).to_string(), h.to.clone(), format!("{}/{}", h.done, h.total)]),
    );
    for (step, error) in &s.failed {
        out += &format!("\nFailed: {step}: {error}\n");
    }
    if !s.in_doubt.is_empty() {
        out += &format!("\nIn doubt (re-checked on resume): {}\n", s.in_doubt.join(", "));
    }
    if !s.cordoned_by_this_run.is_empty() {
        out += &format!("Cordoned by this run: {}\n", s.cordoned_by_this_run.join(", "));
    }
    if !s.foreign_cordons.is_empty() {
        out += &format!("Cordoned by others (left alone): {}\n", s.foreign_cordons.join(", "));
    }
    if let Some(next) = &s.next_step {
        out += &format!(
            "\nNext step: {next}. Continue with: kubeladder resume --state-dir {} \
             (and the run's --kubeconfig/--context/--hosts)\n",
            dir.display()
        );
    }
    out
}
