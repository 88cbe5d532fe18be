//! `kubeladder completion` and `kubeladder man`: the real binary's scripts work in the real
//! bash, and the man pages checked in under docs/man are what the binary generates now.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubeladder"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// What bash's programmable completion offers when the cursor is at the end of `words`
/// (the last word, possibly empty, is the one being completed).
fn bash_complete(words: &[&str]) -> Vec<String> {
    bash_complete_with(words, &[])
}

fn bash_complete_with(words: &[&str], vars: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kubeladder.bash");
    let (code, text, stderr) = run(&["completion", "bash"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(&script, text).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let cword = words.len() - 1;
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT={}\n\
         _kubeladder_with_nodes kubeladder {} {}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        line.len(),
        quoted[cword],
        quoted[cword - 1],
    );
    // The script runs `kubeladder __complete-nodes` for NODE arguments: the binary on PATH.
    let path = format!("{}:/usr/bin:/bin", bin().parent().unwrap().display());
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .env("PATH", path)
        .env_remove("KUBECONFIG")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn bash_completes_subcommands_flags_and_values() {
    assert_eq!(bash_complete(&["kubeladder", "ap"]), ["apply"]);
    let recover = bash_complete(&["kubeladder", "recover", ""]);
    assert!(recover.contains(&"list".to_owned()) && recover.contains(&"node".to_owned()), "{recover:?}");
    let flags = bash_complete(&["kubeladder", "apply", "--max-"]);
    assert_eq!(flags, ["--max-unavailable"]);
    let workers = bash_complete(&["kubeladder", "plan", "--workers", ""]);
    assert_eq!(workers, ["follow", "lag"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bash_completes_node_names_from_the_cluster() {
    use kubeladder_sim::{Scenario, SimCluster, SimConfig};
    let sim = SimCluster::start(SimConfig::new(Scenario::small())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let k = kubeconfig.to_str().unwrap().to_owned();
    let words = |w: &'static [&'static str]| w.to_vec();
    let (nodes, with_flag, cp, recover, nothing) = tokio::task::spawn_blocking(move || {
        (
            bash_complete_with(&words(&["kubeladder", "drain", ""]), &[("KUBECONFIG", &k)]),
            bash_complete_with(&["kubeladder", "uncordon", "--kubeconfig", &k, "w"], &[]),
            bash_complete_with(&words(&["kubeladder", "recover", "node", "c"]), &[("KUBECONFIG", &k)]),
            bash_complete_with(&words(&["kubeladder", "recover", "list", "--node", ""]), &[("KUBECONFIG", &k)]),
            // No cluster to ask: nothing offered, nothing printed.
            bash_complete_with(&words(&["kubeladder", "drain", "w"]), &[("KUBECONFIG", "/nonexistent")]),
        )
    })
    .await
    .unwrap();
    assert_eq!(nodes, ["cp-1", "worker-1", "worker-2"]);
    assert_eq!(with_flag, ["worker-1", "worker-2"]);
    assert_eq!(cp, ["cp-1"]);
    assert_eq!(recover, ["cp-1", "worker-1", "worker-2"]);
    assert!(nothing.is_empty(), "{nothing:?}");
    sim.shutdown().await;
}

#[test]
fn every_shell_gets_its_own_script_and_a_bad_one_is_refused() {
    for (shell, marker) in [
        ("bash", "complete -F _kubeladder"),
        ("zsh", "#compdef kubeladder"),
        ("fish", "complete -c kubeladder"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, text, stderr) = run(&["completion", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(text.contains(marker), "{shell} script lacks {marker:?}");
        assert!(text.contains("apply") && text.contains("max-unavailable"), "{shell}");
    }
    let (code, stdout, stderr) = run(&["completion", "tcsh"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("tcsh") && stderr.contains("bash"), "{stderr}");
    let syntax = Command::new("bash").arg("-n").arg("-c").arg(run(&["completion", "bash"]).1).status().unwrap();
    assert!(syntax.success());
}

fn pages(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect()
}

#[test]
fn man_pages_cover_every_command_and_match_the_checked_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    let (code, _, stderr) = run(&["man", "--out-dir", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let generated = pages(&out);
    for name in [
        "kubeladder.1",
        "kubeladder-apply.1",
        "kubeladder-plan.1",
        "kubeladder-resume.1",
        "kubeladder-recover.1",
        "kubeladder-recover-node.1",
        "kubeladder-hosts-check.1",
        "kubeladder-sim-serve.1",
        "kubeladder-completion.1",
        "kubeladder-man.1",
    ] {
        assert!(generated.contains_key(name), "{name} missing: {:?}", generated.keys());
    }
    // The page says what --help says, examples included.
    let apply = &generated["kubeladder-apply.1"];
    assert!(apply.contains("max\\-unavailable") && apply.contains("Exit codes"), "{apply}");
    // Each page is valid man(7) roff: groff renders it without a macro warning or error
    // (long unbreakable lines, such as the JSON shapes, are not errors).
    for (name, text) in &generated {
        let rendered = Command::new("groff")
            .args(["-man", "-Tutf8", "-wmac", "-Wbreak", "-z"])
            .arg(out.join(name))
            .output()
            .unwrap();
        assert!(
            rendered.status.success() && rendered.stderr.is_empty(),
            "{name}: {}\n{text}",
            String::from_utf8_lossy(&rendered.stderr)
        );
    }
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/man");
    assert_eq!(
        pages(&checked_in),
        generated,
        "docs/man is out of date: run `cargo run -p kubeladder -- man --out-dir docs/man` and commit the result"
    );
}
