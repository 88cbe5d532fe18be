//! What `kubeladder hosts check` reports for one node: reachability, OS, package
//! manager, repository and minor, installed and held packages, and the kubeadm versions
//! of the next minor the configured repository offers.

use std::time::Duration;

use kubeladder_core::Minor;
use kubeladder_core::package::{KubePackage, PackageManager, RepoStyle, Repository};
use serde::Serialize;

use crate::error::NodeError;
use crate::exec::Executor;
use crate::ops::{self, APT_SOURCES_FILE, NodeOp, PackageState, YUM_REPO_FILE};

/// One node as seen over its transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReport {
    pub node: String,
    /// `PRETTY_NAME` from `/etc/os-release`.
    pub os: Option<String>,
    /// The cgroup hierarchy the host runs (the 1.35 kubelet refuses v1 by default).
    pub cgroup: Option<CgroupVersion>,
    pub package_manager: PackageManager,
    /// From the repository definition file, else from the installed kubeadm's version.
    pub repository: Option<Repository>,
    /// The minor the repository serves (pkgs.k8s.io only).
    pub repository_minor: Option<Minor>,
    pub packages: Vec<PackageState>,
    /// The minor after the installed kubeadm's.
    pub next_minor: Option<Minor>,
    /// The kubeadm package versions of `next_minor` the repositories offer, newest first
    /// (pkgs.k8s.io serves one minor per repository, so usually none until it is switched).
    pub next_minor_available: Vec<String>,
    /// The sandbox (pause) image containerd's config sets
    /// ([`kubeladder_core::sandbox::CONTAINERD_CONFIG`]), when it sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_image: Option<String>,
    /// What could not be found out although the node answered.
    pub notes: Vec<String>,
}

/// The cgroup hierarchy mounted at `/sys/fs/cgroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    V1,
    V2,
}

impl std::fmt::Display for CgroupVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        })
    }
}

/// The unified (v2) hierarchy has `cgroup.controllers` at its root; v1 (and the hybrid
/// layout) does not. Anything but "no such file" leaves the question open.
pub const CGROUP_V2_MARKER: &str = "/sys/fs/cgroup/cgroup.controllers";

/// The cgroup version from reading [`CGROUP_V2_MARKER`].
pub fn cgroup_from_marker(read: &crate::output::CommandOutput) -> Option<CgroupVersion> {
    if read.exit_code == 0 {
        Some(CgroupVersion::V2)
    } else if read.stderr.contains("No such file") {
        Some(CgroupVersion::V1)
    } else {
        None
    }
}

/// The value of `key` in an os-release file.
pub fn os_release_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix('=')?;
        Some(value.trim().trim_matches('"').to_owned())
    })
}

/// Probe one node: package manager (unless `package_manager` overrides it), OS,
/// repository, packages. Fails only when the node cannot be reached or refuses.
pub async fn probe(
    exec: &dyn Executor,
    package_manager: Option<PackageManager>,
    timeout: Duration,
) -> Result<HostReport, NodeError> {
    let pm = if let Some(pm) = package_manager {
        pm
    } else {
        crate::exec::detect_package_manager(exec, timeout).await?.ok_or_else(|| NodeError::Unsupported {
            operation: format!("node {}", exec.node()),
            package_manager: "no package manager".to_owned(),
            reason: "none of apt-get, dnf5, dnf, yum is on PATH".to_owned(),
        })?
    };
    let read = |path: &str| NodeOp::ReadFile { path: path.to_owned() };
    let os_release = crate::exec::query(exec, &read("/etc/os-release"), pm, timeout).await?;
    let os = os_release_field(&os_release.stdout, "PRETTY_NAME");
    let cgroup = cgroup_from_marker(&crate::exec::query(exec, &read(CGROUP_V2_MARKER), pm, timeout).await?);
    let containerd = crate::exec::query(exec, &read(kubeladder_core::sandbox::CONTAINERD_CONFIG), pm, timeout).await?;
    let sandbox_image = (containerd.exit_code == 0)
        .then(|| kubeladder_core::sandbox::configured_sandbox_image(&containerd.stdout))
        .flatten();
    let repo_file = if pm == PackageManager::Apt { APT_SOURCES_FILE } else { YUM_REPO_FILE };
    let repo = crate::exec::query(exec, &read(repo_file), pm, timeout).await?;
    let packages = ops::parse_packages(pm, &crate::exec::query(exec, &NodeOp::QueryPackages, pm, timeout).await?)?;
    let (mut repository, repository_minor) = match ops::detect_repository(&repo.stdout) {
        Some((repository, minor)) => (Some(repository), minor),
        None => (None, None),
    };
    if repository.is_none()
        && let Some(version) = packages.first().and_then(|p| p.version.as_deref())
        && let Ok((_, RepoStyle { repository: style, .. })) = RepoStyle::parse_package(pm.format(), version)
    {
        repository = Some(style);
    }
    let kubeadm = packages.iter().find(|p| p.package == KubePackage::Kubeadm).and_then(|p| p.version.clone());
    let next_minor =
        kubeadm.and_then(|v| RepoStyle::parse_package(pm.format(), &v).ok()).map(|(version, _)| version.minor().next());
    let mut notes = Vec::new();
    let mut next_minor_available = Vec::new();
    if let Some(next) = next_minor {
        let op = NodeOp::AvailableVersions { package: KubePackage::Kubeadm };
        let listed = crate::exec::query(exec, &op, pm, timeout).await?;
        match ops::parse_available(pm, KubePackage::Kubeadm, &listed) {
            Ok(versions) => {
                next_minor_available = versions
                    .into_iter()
                    .filter(|v| {
                        RepoStyle::parse_package(pm.format(), v).is_ok_and(|(version, _)| version.minor() == next)
                    })
                    .collect();
            }
            Err(e) => notes.push(format!("available versions unknown: {e}")),
        }
    }
    Ok(HostReport {
        node: exec.node().to_owned(),
        os,
        cgroup,
        package_manager: pm,
        repository,
        repository_minor,
        packages,
        next_minor,
        next_minor_available,
        sandbox_image,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_os_release() {
        let text = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n";
        assert_eq!(os_release_field(text, "PRETTY_NAME").as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(os_release_field(text, "ID").as_deref(), Some("debian"));
        assert_eq!(os_release_field(text, "VERSION_ID"), None);
    }

    #[test]
    fn cgroup_version_from_the_v2_marker() {
        let out = |exit_code: i32, stderr: &str| crate::output::CommandOutput {
            exit_code,
            stdout: String::new(),
            stderr: stderr.to_owned(),
        };
        assert_eq!(cgroup_from_marker(&out(0, "")), Some(CgroupVersion::V2));
        let missing = format!("cat: {CGROUP_V2_MARKER}: No such file or directory\n");
        assert_eq!(cgroup_from_marker(&out(1, &missing)), Some(CgroupVersion::V1));
        assert_eq!(cgroup_from_marker(&out(1, "cat: Permission denied\n")), None);
    }

    #[tokio::test]
    async fn probes_this_machine_locally() {
        use crate::exec::{SshOptions, executor_for};
        use crate::hosts::{Host, Transport};
        let host = crate::hosts::Hosts::default().resolve("here", Some("127.0.0.1")).unwrap();
        let host = Host { transport: Transport::Local, ..host };
        let exec = executor_for(&host, &SshOptions::default(), None).unwrap();
        let report = probe(exec.as_ref(), None, Duration::from_secs(30)).await.unwrap();
        assert_eq!(report.package_manager, PackageManager::Apt);
        assert!(report.os.is_some_and(|os| os.contains("Debian")));
        // What this machine mounts, judged independently of the probe.
        let v2 = std::path::Path::new(CGROUP_V2_MARKER).exists();
        assert_eq!(report.cgroup, Some(if v2 { CgroupVersion::V2 } else { CgroupVersion::V1 }));
        let sim = Host { transport: Transport::Sim, ..host };
        let e = executor_for(&sim, &SshOptions::default(), None).unwrap_err();
        assert!(e.to_string().contains("without sim_url"), "{e}");
    }
}
