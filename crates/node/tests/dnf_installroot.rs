#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The yum/dnf path for real: Debian's dnf 4 with `--installroot` over `createrepo_c`
//! repositories of stand-in rpm packages. The operations render for the node as usual;
//! an executor wrapper points dnf, rpm and the file operations at the install root.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use kubeladder_core::package::RepoStyle;
use kubeladder_core::{KubeVersion, Minor};
use kubeladder_node::CommandOutput;
use kubeladder_node::exec::{BoxFuture, OpOutcome, query, run_op};
use kubeladder_node::ops::{self, NodeOp, YUM_EXCLUDES};
use kubeladder_node::{Executor, LocalExecutor, NodeError};
use kubeladder_node::{KubePackage, PackageManager};
use support::RpmRepos;

const T: Duration = Duration::from_secs(120);

/// Runs commands locally with dnf/rpm/file paths redirected into `root`.
#[derive(Debug)]
struct InstallRoot {
    inner: LocalExecutor,
    root: PathBuf,
}

impl InstallRoot {
    fn rewrite(&self, argv: &[String]) -> Vec<String> {
        let root = self.root.display().to_string();
        let inside = |p: &String| if p.starts_with('/') { format!("{root}{p}") } else { p.clone() };
        let mut out = argv.to_vec();
        match argv.first().map(String::as_str) {
            Some("dnf" | "yum") => {
                out.splice(
                    1..1,
                    [
                        format!("--installroot={root}"),
                        format!("--setopt=reposdir={root}/etc/yum.repos.d"),
                        "--releasever=12".to_owned(),
                    ],
                );
            }
            Some("rpm") => out.insert(1, format!("--root={root}")),
            Some("cat") => {
                if let Some(last) = out.last_mut() {
                    *last = inside(last);
                }
            }
            // The write-file script: `sh -c SCRIPT NAME CONTENTS PATH MODE`.
            Some("sh") if out.len() == 7 => out[5] = inside(&out[5]),
            _ => {}
        }
        out
    }
}

impl Executor for InstallRoot {
    fn node(&self) -> &str {
        self.inner.node()
    }

    fn run<'a>(&'a self, argv: &'a [String], timeout: Duration) -> BoxFuture<'a, Result<CommandOutput, NodeError>> {
        Box::pin(async move { self.inner.run(&self.rewrite(argv), timeout).await })
    }
}

fn versions(output: &CommandOutput) -> Vec<Option<String>> {
    ops::parse_packages(PackageManager::Dnf, output).unwrap().into_iter().map(|s| s.version).collect()
}

async fn installed(exec: &InstallRoot) -> Vec<Option<String>> {
    versions(&query(exec, &NodeOp::QueryPackages, PackageManager::Dnf, T).await.unwrap())
}

#[allow(clippy::unnecessary_wraps)]
fn some(v: &str) -> Option<String> {
    Some(v.to_owned())
}

async fn excludes_downgrades_and_repository_switch(pm: PackageManager) {
    support::require("dnf", "dnf");
    let tmp = tempfile::tempdir().unwrap();
    let repos = RpmRepos::build(&tmp.path().join("repos"));
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let exec = InstallRoot { inner: LocalExecutor::new("rpm-node"), root: root.clone() };

    let legacy = NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 19)) };
    assert!(matches!(run_op(&exec, &legacy, pm, T).await.unwrap(), OpOutcome::Done(_)));
    assert_eq!(run_op(&exec, &legacy, pm, T).await.unwrap(), OpOutcome::AlreadyDone);
    let repo_file = std::fs::read_to_string(root.join("etc/yum.repos.d/kubernetes.repo")).unwrap();
    assert!(repo_file.contains(&format!("exclude={YUM_EXCLUDES}\n")), "{repo_file}");

    let first = NodeOp::install(&KubePackage::ALL, &KubeVersion::new(1, 18, 20), RepoStyle::LEGACY_YUM).unwrap();
    run_op(&exec, &first, pm, T).await.unwrap();
    assert_eq!(installed(&exec).await, [some("1.18.20-0"), some("1.18.20-0"), some("1.18.20-0")]);
    assert_eq!(run_op(&exec, &first, pm, T).await.unwrap(), OpOutcome::AlreadyDone);

    // What the repository offers, past its excludes, newest first (the installed one too).
    let listed = query(&exec, &NodeOp::AvailableVersions { package: KubePackage::Kubeadm }, pm, T).await.unwrap();
    let available = ops::parse_available(pm, KubePackage::Kubeadm, &listed).unwrap();
    assert_eq!(available, ["1.19.16-0", "1.18.20-0"], "{listed:?}");

    // The exclude line is the hold: a plain install does not see the packages.
    let plain = exec.run(&["dnf".into(), "install".into(), "-y".into(), "kubeadm-1.19.16-0".into()], T).await.unwrap();
    assert_eq!(plain.exit_code, 1);
    assert!(plain.stderr.contains("Unable to find a match: kubeadm-1.19.16-0"), "{plain:?}");

    let up = NodeOp::install(&[KubePackage::Kubeadm], &KubeVersion::new(1, 19, 16), RepoStyle::LEGACY_YUM).unwrap();
    run_op(&exec, &up, pm, T).await.unwrap();
    assert_eq!(installed(&exec).await, [some("1.19.16-0"), some("1.18.20-0"), some("1.18.20-0")]);
    // Still excluded afterwards (the repository file is untouched).
    assert_eq!(std::fs::read_to_string(root.join("etc/yum.repos.d/kubernetes.repo")).unwrap(), repo_file);

    // dnf would downgrade silently; kubeladder refuses before running it.
    let down = NodeOp::install(&[KubePackage::Kubeadm], &KubeVersion::new(1, 18, 20), RepoStyle::LEGACY_YUM).unwrap();
    let e = run_op(&exec, &down, pm, T).await.unwrap_err();
    assert!(matches!(e, NodeError::Downgrade { .. }), "{e}");
    assert!(e.to_string().contains("would downgrade it from 1.19.16-0"), "{e}");
    assert_eq!(installed(&exec).await[0], some("1.19.16-0"));

    // A version the repository does not have: dnf's exit code and message.
    let missing = NodeOp::InstallPackages {
        packages: vec![KubePackage::Kubeadm],
        version: "1.19.99-0".into(),
        change_held: true,
    };
    match run_op(&exec, &missing, pm, T).await.unwrap_err() {
        NodeError::CommandFailed { exit_code, stderr_tail, .. } => {
            assert_eq!(exit_code, 1);
            assert!(stderr_tail.contains("Unable to find a match: kubeadm-1.19.99-0"), "{stderr_tail}");
        }
        other => panic!("{other}"),
    }

    // Per-minor repository.
    run_op(&exec, &NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 29)) }, pm, T).await.unwrap();
    let v129 = NodeOp::install(&KubePackage::ALL, &KubeVersion::new(1, 29, 10), RepoStyle::PKGS_RPM).unwrap();
    run_op(&exec, &v129, pm, T).await.unwrap();
    assert_eq!(installed(&exec).await, vec![some("1.29.10-150500.1.1"); 3]);
}

#[tokio::test]
async fn dnf_install_root_excludes_downgrades_and_repository_switch() {
    excludes_downgrades_and_repository_switch(PackageManager::Dnf).await;
}

/// dnf 5's spelling (`--setopt=disable_excludes=kubernetes`) is also accepted by dnf 4.
#[tokio::test]
async fn dnf5_rendering_against_dnf4() {
    excludes_downgrades_and_repository_switch(PackageManager::Dnf5).await;
}
