//! The journal against real crashes: a writer process is killed with SIGKILL at many
//! instants, and every time the journal must open, hold a gap-free prefix of what was
//! written, and let a new writer finish the plan.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use kubeladder_core::KubeVersion;
use kubeladder_core::journal::{Event, FORMAT, Header, Progress, Record};
use kubeladder_core::path::{PathOptions, Target, upgrade_path};
use kubeladder_core::plan::{Plan, WorkerStrategy, plan, uniform_cluster};
use kubeladder_core::release::ReleaseData;
use kubeladder_orchestrator::{Journal, OrchestratorError};

const CHILD_ENV: &str = "KUBELADDER_JOURNAL_TEST_CHILD_DIR";
const UID: &str = "0b8d6c1e-uid-of-kube-system";

fn test_plan(workers: usize) -> Plan {
    let from = KubeVersion::parse("v1.18.20").unwrap();
    let path =
        upgrade_path(ReleaseData::embedded().unwrap(), from, Target::parse("1.21").unwrap(), PathOptions::default())
            .unwrap();
    plan(&uniform_cluster(from, 3, workers), &path, WorkerStrategy::Follow).unwrap()
}

fn header(plan: Plan) -> Header {
    Header {
        format: FORMAT,
        run_id: "run-1".to_owned(),
        cluster_uid: UID.to_owned(),
        created_at: "t0".to_owned(),
        plan,
    }
}

/// Run every remaining step the way the executor does: started, then finished.
fn drive(journal: &mut Journal, limit: Option<usize>) {
    let mut done = 0;
    loop {
        let plan = journal.header().plan.clone();
        let Some(next) = journal.progress().next(&plan) else {
            if !journal.progress().finished {
                journal.record(Event::RunFinished).unwrap();
            }
            return;
        };
        let step = match next {
            kubeladder_core::journal::Next::Run(s) | kubeladder_core::journal::Next::Recheck(s) => s.to_owned(),
        };
        journal.record(Event::StepStarted { step: step.clone() }).unwrap();
        journal.record(Event::StepFinished { step, skipped: false }).unwrap();
        done += 1;
        if limit.is_some_and(|l| done >= l) {
            return;
        }
    }
}

/// Not a test on its own: the body of the writer process the crash test kills.
#[test]
#[ignore = "run by journal_survives_kill_9_at_many_instants as a child process"]
fn child_writer() {
    let dir = std::env::var(CHILD_ENV).expect("only run as the crash test's child");
    let mut journal = Journal::open(Path::new(&dir), UID).unwrap();
    drive(&mut journal, None);
}

fn read_log(dir: &Path) -> Vec<Record> {
    let text = fs::read_to_string(dir.join("events.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn journal_survives_kill_9_at_many_instants() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    let plan = test_plan(12);
    let total_steps = plan.steps().count();
    drop(Journal::create(&dir, header(plan.clone())).unwrap());

    let exe = std::env::current_exe().unwrap();
    let writer = || {
        Command::new(&exe)
            .args(["--exact", "child_writer", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut kills = 0;
    // Kills after which the log had grown: crashes in the middle of writing, not at startup.
    let mut kills_mid_run = 0;
    let mut last_seq = 0;
    // On a loaded machine a writer may need longer to start; each round without progress
    // waits longer, so the kills keep landing while records are being written.
    let mut patience = 1;
    for round in 0u64..60 {
        let mut child = writer();
        // Kill at a different instant each round: 2 ms .. 60 ms after start (times patience).
        std::thread::sleep(Duration::from_millis((2 + (round * 37 + 11) % 59) * patience));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let status = child.wait().unwrap();
        if finished {
            assert!(status.success(), "writer failed: {:?}", child.stderr.take().map(std::io::read_to_string));
        }

        // After every crash: the journal opens, its log is a gap-free sequence, and the
        // snapshot agrees with replaying the log from scratch.
        let journal = Journal::open(&dir, UID).unwrap();
        let log = read_log(&dir);
        for (i, record) in log.iter().enumerate() {
            assert_eq!(record.seq, i as u64 + 1, "gap in the log after {kills} kills");
        }
        let mut replayed = Progress::default();
        let ids = kubeladder_core::journal::StepIds::of(&plan);
        for record in &log {
            replayed.apply(&ids, record).unwrap();
        }
        assert_eq!(journal.progress(), &replayed);
        assert!(journal.progress().seq >= last_seq, "durable records were lost");
        if journal.progress().seq > last_seq {
            if !finished {
                kills_mid_run += 1;
            }
            patience = 1;
        } else {
            patience = (patience * 2).min(32);
        }
        last_seq = journal.progress().seq;
        if journal.progress().finished {
            break;
        }
    }
    // Whatever the crashes left, one uninterrupted writer finishes the run.
    if !Journal::open(&dir, UID).unwrap().progress().finished {
        let mut child = writer();
        let status = child.wait().unwrap();
        assert!(status.success(), "writer failed: {:?}", child.stderr.take().map(std::io::read_to_string));
    }
    assert!(kills_mid_run >= 3, "only {kills_mid_run} of {kills} kills landed while records were written");
    let journal = Journal::open(&dir, UID).unwrap();
    assert!(journal.progress().finished, "the run did not finish");
    assert_eq!(journal.progress().done_count(), total_steps);
    assert!(kills >= 5, "the writer was killed only {kills} times: the test did not exercise crashes");
}

#[test]
fn torn_last_line_is_cut_and_the_run_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut journal = Journal::create(dir, header(test_plan(1))).unwrap();
    drive(&mut journal, Some(3));
    let before = journal.progress().clone();
    drop(journal);
    let mut f = fs::OpenOptions::new().append(true).open(dir.join("events.jsonl")).unwrap();
    f.write_all(br#"{"seq":7,"at":"t","event":"step_sta"#).unwrap();
    drop(f);
    let mut journal = Journal::open(dir, UID).unwrap();
    assert_eq!(journal.progress(), &before);
    drive(&mut journal, None);
    assert!(journal.progress().finished);
    assert_eq!(read_log(dir).len() as u64, journal.progress().seq);
}

#[test]
fn corruption_before_the_last_line_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut journal = Journal::create(dir, header(test_plan(1))).unwrap();
    drive(&mut journal, Some(3));
    drop(journal);
    let path = dir.join("events.jsonl");
    let text = fs::read_to_string(&path).unwrap();
    let broken = text.replacen("step_started", "step_sta\"rted", 1);
    fs::write(&path, &broken).unwrap();
    let err = Journal::open(dir, UID).unwrap_err();
    assert!(matches!(err, OrchestratorError::CorruptLog { line: 1, .. }), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), broken, "a refused journal must be left untouched");
}

#[test]
fn a_journal_of_another_cluster_is_refused_and_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut journal = Journal::create(dir, header(test_plan(1))).unwrap();
    drive(&mut journal, Some(2));
    drop(journal);
    let snapshot: Vec<(String, Vec<u8>)> = ["header.json", "state.json", "events.jsonl"]
        .iter()
        .map(|f| ((*f).to_owned(), fs::read(dir.join(f)).unwrap()))
        .collect();
    let err = Journal::open(dir, "another-uid").unwrap_err();
    let text = err.to_string();
    assert!(text.contains(UID) && text.contains("another-uid") && text.contains("--state-dir"), "{text}");
    for (name, bytes) in snapshot {
        assert_eq!(fs::read(dir.join(&name)).unwrap(), bytes, "{name} changed");
    }
}

#[test]
fn one_writer_at_a_time_and_no_second_create() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let journal = Journal::create(dir, header(test_plan(1))).unwrap();
    assert!(matches!(Journal::open(dir, UID), Err(OrchestratorError::JournalBusy(_))));
    drop(journal);
    assert!(matches!(Journal::create(dir, header(test_plan(1))), Err(OrchestratorError::JournalExists(_))));
    assert!(Journal::open(dir, UID).is_ok());
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(Journal::open(empty.path(), UID), Err(OrchestratorError::NoJournal(_))));
}

#[test]
fn records_for_steps_outside_the_plan_are_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(tmp.path(), header(test_plan(1))).unwrap();
    let err = journal.record(Event::StepStarted { step: "h9/nowhere/drain".to_owned() }).unwrap_err();
    assert!(err.to_string().contains("h9/nowhere/drain"));
    assert_eq!(journal.progress().seq, 0);
    assert_eq!(fs::read_to_string(tmp.path().join("events.jsonl")).unwrap(), "");
}
