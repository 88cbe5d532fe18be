//! The offline commands (`skew`, `path`, `versions`) as an operator runs them: real binary,
//! real arguments, stdout/stderr/exit code checked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use assert_cmd::Command;
use serde_json::Value;

fn kubeladder(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("kubeladder").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn json(args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) = kubeladder(args);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} / {stderr}"));
    (code, value)
}

fn minors(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect()
}

#[test]
fn skew_json_has_the_documented_shape() {
    let (code, v) = json(&["skew", "--apiserver", "1.30,1.29", "-o", "json"]);
    assert_eq!(code, 0);
    assert_eq!(minors(&v["apiservers"]), ["1.29", "1.30"]);
    let allowed = v["allowed"].as_object().unwrap();
    let keys: Vec<&str> = allowed.keys().map(String::as_str).collect();
    for key in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "cloud-controller-manager",
        "kubelet",
        "kube-proxy",
        "kubectl",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert_eq!(minors(&allowed["kubelet"]), ["1.27", "1.28", "1.29"]);
    assert_eq!(minors(&allowed["kube-controller-manager"]), ["1.29"]);
    assert_eq!(minors(&allowed["kubectl"]), ["1.29", "1.30"]);
    assert_eq!(minors(&allowed["kube-apiserver"]), ["1.29", "1.30"]);
    assert_eq!(v["violations"], Value::Array(vec![]));
}

#[test]
fn skew_reports_violations_with_exit_1() {
    let (code, v) = json(&["skew", "--apiserver", "1.27", "--kubelet", "1.24,1.25", "--kubectl", "1.29", "-o", "json"]);
    assert_eq!(code, 1);
    let violations = v["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert_eq!(violations[0]["component"], "kubelet");
    assert_eq!(violations[0]["version"], "1.24");
    assert_eq!(violations[0]["rule"], "older-than-window");
    assert_eq!(violations[1]["component"], "kubectl");
    assert_eq!(violations[1]["rule"], "newer-than-apiserver");
    assert!(violations[1]["message"].as_str().unwrap().contains("kubectl 1.29"));
}

#[test]
fn skew_apiservers_too_far_apart_is_itself_a_violation() {
    let (code, v) = json(&["skew", "--apiserver", "1.28,1.30", "-o", "json"]);
    assert_eq!(code, 1);
    assert!(v["violations"].as_array().unwrap().iter().all(|x| x["rule"] == "apiserver-spread"));
    assert_eq!(minors(&v["allowed"]["kubelet"]), Vec::<&str>::new());
}

#[test]
fn skew_table_output() {
    let (code, stdout, _) =
        kubeladder(&["skew", "--apiserver", "1.29,1.30", "--kubelet", "1.26,1.29", "--scheduler", "1.30"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
}

#[test]
fn bad_input_is_refused_with_exit_2_and_names_the_value() {
    let cases: &[(&[&str], &str)] = &[
        (&["skew", "--apiserver", "1.x"], "\"1.x\""),
        (&["skew", "--apiserver", ""], "it is empty"),
        (&["skew"], "--apiserver"),
        (&["skew", "--apiserver", "1.29", "--kubelet", "v1.29.3.1"], "\"v1.29.3.1\""),
        (&["path", "--from", "v1.23.4", "--to", "1.21"], "older than the cluster version v1.23.4"),
        (&["path", "--from", "v1.18.4", "--to", "1.99"], "1.99 is not in kubeladder's release data"),
        (&["path", "--from", "v1.18.4", "--to", "v1.19.99"], "not a released patch of 1.19"),
        (&["path", "--from", "1.18", "--to", "1.19"], "exact version"),
        (&["path", "--from", "v1.18.4", "--to", "1.19-rc.1"], "pre-release needs a patch"),
        (&["path", "--from", "v1.18.4", "--to", "v1.19.0-rc.1"], "--allow-prerelease"),
        (&["path", "--from", "v1.18.4", "--to", "newest"], "\"newest\""),
        (&["versions", "--date", "2024-13-01"], "\"2024-13-01\""),
    ];
    for (args, expected) in cases {
        let (code, stdout, stderr) = kubeladder(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?} printed to stdout: {stdout}");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn path_json_has_the_documented_shape() {
    let (code, v) = json(&["path", "--from", "v1.18.4", "--to", "1.23", "-o", "json"]);
    assert_eq!(code, 0);
    assert_eq!(v["from"], "v1.18.4");
    assert_eq!(v["to"], "v1.23.17");
    let hops = v["hops"].as_array().unwrap();
    let pairs: Vec<(&str, &str)> =
        hops.iter().map(|h| (h["from"].as_str().unwrap(), h["to"].as_str().unwrap())).collect();
    assert_eq!(
        pairs,
        [
            ("v1.18.4", "v1.19.16"),
            ("v1.19.16", "v1.20.15"),
            ("v1.20.15", "v1.21.14"),
            ("v1.21.14", "v1.22.17"),
            ("v1.22.17", "v1.23.17")
        ]
    );
}

#[test]
fn path_table_output() {
    let (code, stdout, _) = kubeladder(&["path", "--from", "1.18.4", "--to", "1.23"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
}

#[test]
fn path_table_output_into_pkgs_k8s_io_minors() {
    let (code, stdout, _) = kubeladder(&["path", "--from", "v1.28.3", "--to", "1.30"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
}

#[test]
fn path_downgrade_needs_the_flag_and_stays_within_one_minor() {
    let (code, v) = json(&["path", "--from", "v1.23.4", "--to", "1.22", "--allow-downgrade", "-o", "json"]);
    assert_eq!(code, 0);
    assert_eq!(v["hops"].as_array().unwrap().len(), 1);
    let (code, _, stderr) = kubeladder(&["path", "--from", "v1.23.4", "--to", "1.21", "--allow-downgrade"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("only one minor"), "{stderr}");
}

#[test]
fn versions_json_status_follows_the_date() {
    let (code, v) = json(&["versions", "--date", "2024-06-01", "-o", "json"]);
    assert_eq!(code, 0);
    let rows = v.as_array().unwrap();
    assert_eq!(rows[0]["minor"], "1.18");
    for row in rows {
        for field in ["minor", "latest_patch", "released", "end_of_life", "etcd", "coredns", "pause"] {
            assert!(row[field].is_string(), "{field} in {row}");
        }
        let released = row["released"].as_str().unwrap();
        let eol = row["end_of_life"].as_str().unwrap();
        let expected = released <= "2024-06-01" && "2024-06-01" <= eol;
        assert_eq!(row["supported"], expected, "{row}");
    }
    let supported: Vec<&str> =
        rows.iter().filter(|r| r["supported"] == true).map(|r| r["minor"].as_str().unwrap()).collect();
    // On 2024-06-01 upstream still patched 1.27 (end of life 2024-06-28) besides 1.28-1.30.
    assert_eq!(supported, ["1.27", "1.28", "1.29", "1.30"]);
}

#[test]
fn versions_table_output() {
    let (code, stdout, _) = kubeladder(&["versions", "--date", "2025-01-15"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
}

#[test]
fn help_teaches_with_examples() {
    for cmd in ["skew", "path", "versions"] {
        let (code, stdout, _) = kubeladder(&[cmd, "--help"]);
        assert_eq!(code, 0);
        assert!(stdout.contains("Examples:"), "{cmd} --help has no examples");
        assert!(stdout.contains(&format!("kubeladder {cmd}")), "{cmd} --help shows no invocation");
    }
}

#[test]
fn status_reads_a_journal_without_locking_it() {
    use kubeladder_core::journal::{Event, FORMAT, Header};
    use kubeladder_core::path::{PathOptions, Target, upgrade_path};
    use kubeladder_core::plan::{WorkerStrategy, plan, uniform_cluster};
    use kubeladder_core::release::ReleaseData;

    let tmp = tempfile::tempdir().unwrap();
    let from = kubeladder_core::KubeVersion::parse("v1.28.15").unwrap();
    let path =
        upgrade_path(ReleaseData::embedded().unwrap(), from, Target::parse("1.29").unwrap(), PathOptions::default())
            .unwrap();
    let p = plan(&uniform_cluster(from, 1, 2), &path, WorkerStrategy::Follow).unwrap();
    let header = Header {
        format: FORMAT,
        run_id: "run-42".to_owned(),
        cluster_uid: "uid-1".to_owned(),
        created_at: "t".to_owned(),
        plan: p.clone(),
    };
    // The journal stays open (and locked) while status reads it, as during a run.
    let mut journal = kubeladder_orchestrator::Journal::create(tmp.path(), header).unwrap();
    let ids: Vec<String> = p.steps().map(|s| s.id.clone()).collect();
    for id in &ids[..3] {
        journal.record(Event::StepStarted { step: id.clone() }).unwrap();
        journal.record(Event::StepFinished { step: id.clone(), skipped: false }).unwrap();
    }
    journal.record(Event::StepStarted { step: ids[3].clone() }).unwrap();
    journal.record(Event::NodeCordoned { node: "worker-1".to_owned() }).unwrap();

    let dir = tmp.path().to_str().unwrap();
    let (code, stdout, stderr) = kubeladder(&["status", "--state-dir", dir]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout.replace(dir, "[DIR]"));
    let (code, v) = json(&["status", "--state-dir", dir, "-o", "json"]);
    assert_eq!(code, 0);
    assert_eq!(v["steps_done"], 3);
    assert_eq!(v["in_doubt"][0], ids[3].as_str());
    assert_eq!(v["next_step"], ids[3].as_str());
    assert_eq!(v["cordoned_by_this_run"][0], "worker-1");

    let (code, _, stderr) = kubeladder(&["status", "--state-dir", "/nonexistent/kubeladder"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("holds no journal"), "{stderr}");
}
