//! Node operations as data: what kubeladder does on a node, printable and serializable
//! before anything runs, rendered to argv for the node's package manager.
//!
//! Every operation renders to a list of commands ([`NodeOp::render`]), each an argv
//! (never a shell string; the two file-writing commands use `sh -c` with a fixed script
//! whose data arrive as positional arguments). An operation that can tell whether it is
//! already done has a check: a query ([`NodeOp::check`]) and a pure function over its
//! output ([`NodeOp::is_done`]), so a rerun skips finished work.

use std::fmt;

use kubeladder_core::image;
use kubeladder_core::kubeadm::{self, KUBEADM_TMP_DIR, StaticPod};
use kubeladder_core::package::{
    DebVersion, KubePackage, PackageFormat, PackageManager, RepoStyle, Repository, RpmVersion,
};
use kubeladder_core::{KubeVersion, Minor};
use serde::{Deserialize, Serialize};

use crate::error::NodeError;
use crate::output::CommandOutput;
use crate::recovery::{self, EtcdMember, EtcdSource};

/// The apt sources file kubeladder owns.
pub const APT_SOURCES_FILE: &str = "/etc/apt/sources.list.d/kubernetes.list";
/// The apt keyring the sources file trusts.
pub const APT_KEYRING: &str = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
/// The yum/dnf repository file kubeladder owns.
pub const YUM_REPO_FILE: &str = "/etc/yum.repos.d/kubernetes.repo";
/// What the yum/dnf repository excludes, so that only an explicit install changes them.
pub const YUM_EXCLUDES: &str = "kubelet kubeadm kubectl cri-tools kubernetes-cni";

/// Where a Kubernetes package repository lives. [`RepoSource::upstream`] gives the real
/// ones; tests and air-gapped sites point `url` at a mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoSource {
    /// The minor this definition is for (pkgs.k8s.io has one repository per minor).
    pub minor: Minor,
    pub repository: Repository,
    /// Base URL (`https://pkgs.k8s.io/core:/stable:/v1.29/deb/`, `file:/srv/repo`).
    pub url: String,
    /// apt distribution and components after the URL: `/` for flat repositories
    /// (pkgs.k8s.io), `kubernetes-xenial main` for the legacy one.
    pub suite: String,
    /// The signing key to fetch into the keyring; `None` marks the repository trusted
    /// (local mirrors only).
    pub key_url: Option<String>,
}

impl RepoSource {
    /// The upstream repository for `minor` in `repository` style and `format`.
    pub fn upstream(minor: Minor, repository: Repository, format: PackageFormat) -> Self {
        let (url, suite, key_url) = match (repository, format) {
            (Repository::Legacy, PackageFormat::Deb) => (
                "https://apt.kubernetes.io/".to_owned(),
                "kubernetes-xenial main".to_owned(),
                "https://packages.cloud.google.com/apt/doc/apt-key.gpg".to_owned(),
            ),
            (Repository::Legacy, PackageFormat::Rpm) => (
                "https://packages.cloud.google.com/yum/repos/kubernetes-el7-$basearch".to_owned(),
                String::new(),
                "https://packages.cloud.google.com/yum/doc/rpm-package-key.gpg".to_owned(),
            ),
            (Repository::PkgsK8sIo, PackageFormat::Deb) => {
                let base = format!("https://pkgs.k8s.io/core:/stable:/v{minor}/deb/");
                (base.clone(), "/".to_owned(), format!("{base}Release.key"))
            }
            (Repository::PkgsK8sIo, PackageFormat::Rpm) => {
                let base = format!("https://pkgs.k8s.io/core:/stable:/v{minor}/rpm/");
                (base.clone(), String::new(), format!("{base}repodata/repomd.xml.key"))
            }
        };
        Self { minor, repository, url, suite, key_url: Some(key_url) }
    }

    /// The repository definition file's path and exact contents for `pm`.
    pub fn file(&self, pm: PackageManager) -> (&'static str, String) {
        match pm {
            PackageManager::Apt => {
                let options =
                    if self.key_url.is_some() { format!("signed-by={APT_KEYRING}") } else { "trusted=yes".to_owned() };
                (
                    APT_SOURCES_FILE,
                    format!(
                        "# kubeladder: Kubernetes {} packages ({})\ndeb [{options}] {} {}\n",
                        self.minor, self.repository, self.url, self.suite
                    ),
                )
            }
            PackageManager::Yum | PackageManager::Dnf | PackageManager::Dnf5 => {
                let gpg = match &self.key_url {
                    Some(key) => format!("gpgcheck=1\ngpgkey={key}\n"),
                    None => "gpgcheck=0\n".to_owned(),
                };
                (
                    YUM_REPO_FILE,
                    format!(
                        "# kubeladder: Kubernetes {} packages ({})\n[kubernetes]\nname=Kubernetes {}\nbaseurl={}\nenabled=1\n{gpg}exclude={YUM_EXCLUDES}\n",
                        self.minor, self.repository, self.minor, self.url
                    ),
                )
            }
        }
    }
}

/// Paths of the TLS material `etcdctl` uses, by default kubeadm's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcdTls {
    pub endpoint: String,
    pub cacert: String,
    pub cert: String,
    pub key: String,
}

impl Default for EtcdTls {
    fn default() -> Self {
        Self {
            endpoint: "https://127.0.0.1:2379".to_owned(),
            cacert: "/etc/kubernetes/pki/etcd/ca.crt".to_owned(),
            cert: "/etc/kubernetes/pki/etcd/healthcheck-client.crt".to_owned(),
            key: "/etc/kubernetes/pki/etcd/healthcheck-client.key".to_owned(),
        }
    }
}

impl EtcdTls {
    fn argv(&self, etcdctl: &str) -> Vec<String> {
        vec![
            "env".to_owned(),
            "ETCDCTL_API=3".to_owned(),
            etcdctl.to_owned(),
            format!("--endpoints={}", self.endpoint),
            format!("--cacert={}", self.cacert),
            format!("--cert={}", self.cert),
            format!("--key={}", self.key),
        ]
    }
}

/// One operation on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum NodeOp {
    /// Which package manager the node has (`apt-get`, `dnf5`, `dnf`, `yum`).
    DetectPackageManager,
    /// Installed versions and holds of kubeadm, kubelet, kubectl.
    QueryPackages,
    /// The versions of `package` the configured repositories offer (`apt-cache madison`,
    /// `dnf list --showduplicates` past the repository's excludes).
    AvailableVersions {
        package: KubePackage,
    },
    /// Point the package manager at `source` (sources/repo file, keyring) and refresh metadata.
    ConfigureRepository {
        source: RepoSource,
    },
    /// Install `packages` at exactly `version` (a package version such as `1.19.16-00`),
    /// keeping them held (apt) or excluded (yum/dnf). Never downgrades.
    InstallPackages {
        packages: Vec<KubePackage>,
        version: String,
        /// apt: pass `--allow-change-held-packages` (the held packages stay held afterwards).
        change_held: bool,
    },
    KubeadmUpgradePlan,
    /// `kubeadm upgrade apply VERSION -y` on the first control-plane node. Done when every
    /// manifest kubeadm versions names `version` ([`kubeadm::manifests_at`]).
    KubeadmUpgradeApply {
        version: KubeVersion,
    },
    /// `kubeadm upgrade node` on another control-plane node; done like the apply.
    KubeadmUpgradeControlPlaneNode {
        version: KubeVersion,
    },
    /// `kubeadm upgrade node` on a worker (no check: it only rewrites the kubelet's
    /// configuration and is idempotent).
    KubeadmUpgradeNode,
    /// `kubeadm upgrade apply VERSION --force -y` at the version the node runs: kubeadm
    /// rewrites every manifest and certificate even when nothing changes (recovery). No
    /// check: it runs whenever asked.
    KubeadmReconverge {
        version: KubeVersion,
    },
    /// `systemctl daemon-reload` then `systemctl restart kubelet`.
    RestartKubelet,
    /// `etcdctl snapshot save` with the cluster's certificates.
    EtcdSnapshot {
        path: String,
        tls: EtcdTls,
        /// The `etcdctl` binary (default `etcdctl`).
        etcdctl: String,
    },
    /// The kubeadm backup directories under `/etc/kubernetes/tmp`.
    ListBackups,
    /// Replace one static pod manifest with its copy in `backup` (a kubeadm
    /// `kubeadm-backup-manifests-*` directory), keeping the replaced file in `aside`. See
    /// [`NodeOp::restore_manifests`] for a whole backup.
    RestoreManifest {
        backup: String,
        pod: StaticPod,
        aside: String,
    },
    /// Stop a static pod: move its manifest out of the manifests directory (the kubelet
    /// then stops the pod) to [`recovery::STOPPED_DIR`]. Refuses to overwrite a stopped copy.
    StopStaticPod {
        pod: StaticPod,
    },
    /// Start a stopped static pod: move its manifest back. Refuses to overwrite a manifest.
    StartStaticPod {
        pod: StaticPod,
    },
    /// Restore the local etcd member's data from `source` into `data_dir` (stop etcd
    /// first): built next to it, then the old contents moved to `aside`, then renamed in.
    RestoreEtcd {
        source: EtcdSource,
        data_dir: String,
        aside: String,
        member: EtcdMember,
    },
    /// The names in a directory (`ls -1`).
    ListDir {
        path: String,
    },
    ReadFile {
        path: String,
    },
    /// The apparent size in bytes of a file or directory tree (`du -sb`).
    DiskUsage {
        path: String,
    },
    /// Write `contents` to `path` atomically (temporary file, then rename) with `mode`.
    WriteFile {
        path: String,
        contents: String,
        mode: u32,
    },
}

/// apt's options for dpkg that keep a locally modified conffile (a `10-kubeadm.conf`
/// drop-in edited by the operator) instead of prompting: the new default when the file is
/// unmodified (`--force-confdef`), the installed one otherwise (`--force-confold`). Without
/// them dpkg asks on standard input, which is at EOF, and the install fails.
/// dpkg(1) `--force-confdef`, `--force-confold`; apt.conf(5) `Dpkg::Options`.
pub const DPKG_KEEP_CONFFILES: [&str; 4] =
    ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"];

/// `kubeadm upgrade apply VERSION [--force] -y`.
fn kubeadm_apply_argv(version: KubeVersion, force: bool) -> Vec<String> {
    let mut argv = argv(&["kubeadm", "upgrade", "apply"]);
    argv.push(version.to_string());
    if force {
        argv.push("--force".to_owned());
    }
    argv.push("-y".to_owned());
    argv
}

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// `sh -c` script writing `$1` to `$2` atomically with mode `$3`; data never enter the script.
const WRITE_FILE_SCRIPT: &str = r#"set -e; d=$(dirname -- "$2"); mkdir -p -- "$d"; t="$2.kubeladder.tmp"; printf '%s' "$1" > "$t"; chmod "$3" "$t"; mv -f -- "$t" "$2""#;
/// `sh -c` script fetching the key at `$1` into the keyring `$2` (dearmored).
const FETCH_KEY_SCRIPT: &str = r#"set -e; mkdir -p -m 755 "$(dirname -- "$2")"; curl -fsSL -- "$1" | gpg --dearmor --yes -o "$2.kubeladder.tmp"; chmod 644 "$2.kubeladder.tmp"; mv -f -- "$2.kubeladder.tmp" "$2""#;
/// Lists the package managers on `PATH` and dnf's version line.
const DETECT_SCRIPT: &str = r#"for t in apt-get dnf5 dnf yum; do command -v "$t" || true; done; if command -v dnf >/dev/null 2>&1; then echo "dnf-version: $(dnf --version 2>/dev/null | head -n 1)"; fi"#;

fn write_file_argv(path: &str, contents: &str, mode: u32) -> Vec<String> {
    vec![
        "sh".to_owned(),
        "-c".to_owned(),
        WRITE_FILE_SCRIPT.to_owned(),
        "kubeladder-write".to_owned(),
        contents.to_owned(),
        path.to_owned(),
        format!("{mode:o}"),
    ]
}

impl NodeOp {
    /// Install `packages` at the package version `style` publishes for `version`.
    pub fn install(packages: &[KubePackage], version: &KubeVersion, style: RepoStyle) -> Result<Self, NodeError> {
        Ok(Self::InstallPackages {
            packages: packages.to_vec(),
            version: style.package_version(version)?.to_string(),
            change_held: true,
        })
    }

    /// An etcd snapshot with kubeadm's certificates.
    pub fn etcd_snapshot(path: impl Into<String>) -> Self {
        Self::EtcdSnapshot { path: path.into(), tls: EtcdTls::default(), etcdctl: "etcdctl".to_owned() }
    }

    /// Restore every manifest `pods` names (those a listing of the backup shows, see
    /// [`recovery::manifests_in`]) from `backup`, one operation per component, keeping the
    /// replaced files in one directory named after `stamp` (`YYYY-MM-DD-HH-MM-SS`).
    pub fn restore_manifests(backup: &str, pods: &[StaticPod], stamp: &str) -> Vec<Self> {
        let aside = recovery::manifests_aside(stamp);
        pods.iter().map(|&pod| Self::RestoreManifest { backup: backup.to_owned(), pod, aside: aside.clone() }).collect()
    }

    /// Restore kubeadm's local etcd member (`/var/lib/etcd`) from `source`, keeping the old
    /// data next to it under a name with `stamp`.
    pub fn restore_etcd(source: EtcdSource, member: EtcdMember, stamp: &str) -> Self {
        Self::RestoreEtcd {
            source,
            data_dir: recovery::ETCD_DATA_DIR.to_owned(),
            aside: recovery::etcd_aside(recovery::ETCD_DATA_DIR, stamp),
            member,
        }
    }

    /// The commands that carry out this operation on a node with `pm`, in order.
    pub fn render(&self, pm: PackageManager) -> Vec<Vec<String>> {
        match self {
            Self::DetectPackageManager => {
                vec![vec!["sh".to_owned(), "-c".to_owned(), DETECT_SCRIPT.to_owned(), "kubeladder-detect".to_owned()]]
            }
            Self::QueryPackages => vec![query_packages_argv(pm)],
            Self::AvailableVersions { package } => vec![match pm {
                PackageManager::Apt => argv(&["apt-cache", "madison", package.name()]),
                PackageManager::Yum | PackageManager::Dnf | PackageManager::Dnf5 => vec![
                    pm.program().to_owned(),
                    "list".to_owned(),
                    "--showduplicates".to_owned(),
                    disable_excludes(pm).to_owned(),
                    package.name().to_owned(),
                ],
            }],
            Self::ConfigureRepository { source } => {
                let mut commands = Vec::new();
                let (path, contents) = source.file(pm);
                if pm == PackageManager::Apt
                    && let Some(key) = &source.key_url
                {
                    commands.push(vec![
                        "sh".to_owned(),
                        "-c".to_owned(),
                        FETCH_KEY_SCRIPT.to_owned(),
                        "kubeladder-key".to_owned(),
                        key.clone(),
                        APT_KEYRING.to_owned(),
                    ]);
                }
                commands.push(write_file_argv(path, &contents, 0o644));
                commands.push(match pm {
                    PackageManager::Apt => argv(&["apt-get", "update"]),
                    PackageManager::Yum | PackageManager::Dnf | PackageManager::Dnf5 => {
                        vec![pm.program().to_owned(), "makecache".to_owned(), "-y".to_owned()]
                    }
                });
                commands
            }
            Self::InstallPackages { packages, version, change_held } => {
                let names = packages.iter().map(|p| p.name().to_owned());
                match pm {
                    PackageManager::Apt => {
                        let mut install =
                            argv(&["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q"]);
                        if *change_held {
                            install.push("--allow-change-held-packages".to_owned());
                        }
                        install.extend(DPKG_KEEP_CONFFILES.iter().map(|a| (*a).to_owned()));
                        install.extend(packages.iter().map(|p| format!("{p}={version}")));
                        let mut hold = argv(&["apt-mark", "hold"]);
                        hold.extend(names);
                        // Refresh first: a run interrupted between writing the sources file
                        // and `apt-get update` finds the repository already configured.
                        vec![argv(&["apt-get", "update", "-q"]), install, hold]
                    }
                    PackageManager::Yum | PackageManager::Dnf | PackageManager::Dnf5 => {
                        let mut install = vec![pm.program().to_owned(), "install".to_owned(), "-y".to_owned()];
                        install.extend(packages.iter().map(|p| format!("{p}-{version}")));
                        install.push(disable_excludes(pm).to_owned());
                        vec![install]
                    }
                }
            }
            Self::KubeadmUpgradePlan => vec![argv(&["kubeadm", "upgrade", "plan"])],
            Self::KubeadmUpgradeApply { version } => vec![kubeadm_apply_argv(*version, false)],
            Self::KubeadmUpgradeNode | Self::KubeadmUpgradeControlPlaneNode { .. } => {
                vec![argv(&["kubeadm", "upgrade", "node"])]
            }
            Self::KubeadmReconverge { version } => vec![kubeadm_apply_argv(*version, true)],
            Self::RestartKubelet => {
                vec![argv(&["systemctl", "daemon-reload"]), argv(&["systemctl", "restart", "kubelet"])]
            }
            Self::EtcdSnapshot { path, tls, etcdctl } => {
                let mut save = tls.argv(etcdctl);
                save.extend(["snapshot".to_owned(), "save".to_owned(), path.clone()]);
                vec![argv(&["mkdir", "-p", "--", parent_dir(path)]), save]
            }
            Self::ListBackups => vec![argv(&["ls", "-1", "--", KUBEADM_TMP_DIR])],
            Self::RestoreManifest { .. }
            | Self::StopStaticPod { .. }
            | Self::StartStaticPod { .. }
            | Self::RestoreEtcd { .. } => recovery_render(self),
            Self::ListDir { path } => vec![argv(&["ls", "-1", "--", path])],
            Self::ReadFile { path } => vec![argv(&["cat", "--", path])],
            Self::DiskUsage { path } => vec![argv(&["du", "-sb", "--", path])],
            Self::WriteFile { path, contents, mode } => vec![write_file_argv(path, contents, *mode)],
        }
    }

    /// The query whose output tells whether this operation is already done, if it has one.
    /// Operations without a check are idempotent and always run.
    pub fn check(&self, pm: PackageManager) -> Option<Vec<String>> {
        match self {
            Self::ConfigureRepository { source } => Some(argv(&["cat", "--", source.file(pm).0])),
            Self::InstallPackages { .. } => Some(query_packages_argv(pm)),
            Self::KubeadmUpgradeApply { .. } | Self::KubeadmUpgradeControlPlaneNode { .. } => {
                let mut cat = argv(&["cat", "--"]);
                cat.extend(StaticPod::VERSIONED.map(StaticPod::manifest));
                Some(cat)
            }
            Self::EtcdSnapshot { path, tls, etcdctl } => {
                let mut status = tls.argv(etcdctl);
                status.truncate(3);
                status.extend([
                    "snapshot".to_owned(),
                    "status".to_owned(),
                    path.clone(),
                    "-w".to_owned(),
                    "json".to_owned(),
                ]);
                Some(status)
            }
            Self::WriteFile { path, .. } => Some(argv(&["cat", "--", path])),
            Self::RestoreManifest { .. }
            | Self::StopStaticPod { .. }
            | Self::StartStaticPod { .. }
            | Self::RestoreEtcd { .. } => recovery_check(self),
            _ => None,
        }
    }

    /// Whether the check's `output` shows this operation already done.
    pub fn is_done(&self, pm: PackageManager, output: &CommandOutput) -> Result<bool, NodeError> {
        Ok(match self {
            Self::ConfigureRepository { source } => output.exit_code == 0 && output.stdout == source.file(pm).1,
            Self::InstallPackages { packages, version, .. } => {
                let state = parse_packages(pm, output)?;
                packages.iter().all(|p| {
                    state.iter().any(|s| {
                        s.package == *p
                            && s.version.as_deref() == Some(version.as_str())
                            && (pm != PackageManager::Apt || s.held)
                    })
                })
            }
            Self::KubeadmUpgradeApply { version } | Self::KubeadmUpgradeControlPlaneNode { version } => {
                output.exit_code == 0 && kubeadm::manifests_at(&output.stdout, *version)
            }
            Self::EtcdSnapshot { .. } => output.exit_code == 0 && output.stdout.contains("\"totalKey\""),
            Self::WriteFile { contents, .. } => output.exit_code == 0 && output.stdout == *contents,
            Self::RestoreManifest { .. }
            | Self::StopStaticPod { .. }
            | Self::StartStaticPod { .. }
            | Self::RestoreEtcd { .. } => recovery_is_done(self, output),
            _ => false,
        })
    }
}

impl NodeOp {
    /// Why this operation must not run, judged on its check's output. yum and dnf install
    /// an older version by downgrading without asking, so an install below what is
    /// installed is refused here; apt refuses it itself (exit 100) and is left to do so.
    /// Returns `(package, installed, target)`.
    pub fn downgrade(
        &self,
        pm: PackageManager,
        check_output: &CommandOutput,
    ) -> Result<Option<(KubePackage, String, String)>, NodeError> {
        let Self::InstallPackages { packages, version, .. } = self else { return Ok(None) };
        if pm == PackageManager::Apt {
            return Ok(None);
        }
        let target = RpmVersion::parse(version)?;
        for state in parse_packages(pm, check_output)? {
            let Some(installed) = &state.version else { continue };
            if packages.contains(&state.package) && RpmVersion::parse(installed)? > target {
                return Ok(Some((state.package, installed.clone(), version.clone())));
            }
        }
        Ok(None)
    }
}

/// The option that lifts the `kubernetes` repository's `exclude=` for one command.
fn disable_excludes(pm: PackageManager) -> &'static str {
    if pm == PackageManager::Dnf5 { "--setopt=disable_excludes=kubernetes" } else { "--disableexcludes=kubernetes" }
}

/// Parse the output of [`NodeOp::AvailableVersions`]: the package versions offered, newest
/// first, each once. Nothing offered is an empty list, not an error.
pub fn parse_available(
    pm: PackageManager,
    package: KubePackage,
    output: &CommandOutput,
) -> Result<Vec<String>, NodeError> {
    let nothing = pm != PackageManager::Apt
        && output.exit_code == 1
        && output.stderr.to_ascii_lowercase().contains("no matching packages");
    if nothing {
        return Ok(Vec::new());
    }
    if output.exit_code != 0 {
        return Err(NodeError::Output {
            command: NodeOp::AvailableVersions { package }.render(pm).concat().join(" "),
            reason: format!("exit code {}: {}", output.exit_code, output.stderr.trim()),
        });
    }
    let mut versions: Vec<String> = Vec::new();
    for line in output.stdout.lines() {
        // apt: `   kubeadm | 1.19.16-00 | https://apt.kubernetes.io kubernetes-xenial/main amd64 Packages`
        // yum/dnf: `kubeadm.x86_64    1.29.10-150500.1.1    kubernetes`
        let fields: Vec<&str> = if pm == PackageManager::Apt {
            line.split('|').map(str::trim).collect()
        } else {
            line.split_whitespace().collect()
        };
        let [name, version, _] = fields[..] else { continue };
        let name = if pm == PackageManager::Apt { name } else { name.rsplit_once('.').map_or(name, |(n, _)| n) };
        if name != package.name() {
            continue;
        }
        if !versions.iter().any(|v| v == version) {
            versions.push(version.to_owned());
        }
    }
    let mut parsed = Vec::new();
    for text in versions {
        let key = match pm.format() {
            PackageFormat::Deb => PackageKey::Deb(DebVersion::parse(&text)?),
            PackageFormat::Rpm => PackageKey::Rpm(RpmVersion::parse(&text)?),
        };
        parsed.push((key, text));
    }
    parsed.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(parsed.into_iter().map(|(_, text)| text).collect())
}

/// A package version ordered by its own format's rules.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PackageKey {
    Deb(DebVersion),
    Rpm(RpmVersion),
}

fn parent_dir(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

fn query_packages_argv(pm: PackageManager) -> Vec<String> {
    let mut query = match pm {
        PackageManager::Apt => argv(&["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${Status}\\n"]),
        PackageManager::Yum | PackageManager::Dnf | PackageManager::Dnf5 => {
            argv(&["rpm", "-q", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\tinstalled\\n"])
        }
    };
    query.extend(KubePackage::ALL.iter().map(|p| p.name().to_owned()));
    query
}

/// One package's state on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageState {
    pub package: KubePackage,
    /// The installed version, `None` when not installed.
    pub version: Option<String>,
    /// apt: held (`apt-mark hold`). yum/dnf hold through the repository's `exclude=`.
    pub held: bool,
}

/// Parse the output of [`NodeOp::QueryPackages`]: every one of kubeadm, kubelet, kubectl,
/// installed or not. `dpkg-query` exits 1 when a package is unknown and `rpm -q` exits
/// with the number of packages not installed; those are answers, not failures.
pub fn parse_packages(pm: PackageManager, output: &CommandOutput) -> Result<Vec<PackageState>, NodeError> {
    let most = if pm == PackageManager::Apt { 1 } else { 3 };
    if !(0..=most).contains(&output.exit_code) {
        return Err(NodeError::Output {
            command: query_packages_argv(pm).join(" "),
            reason: format!("exit code {}: {}", output.exit_code, output.stderr.trim()),
        });
    }
    let mut states: Vec<PackageState> =
        KubePackage::ALL.iter().map(|&package| PackageState { package, version: None, held: false }).collect();
    for line in output.stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, version, status] = fields[..] else { continue };
        let Some(package) = KubePackage::parse(name) else { continue };
        let installed = match pm {
            PackageManager::Apt => status.ends_with(" installed") && !version.is_empty(),
            _ => status == "installed",
        };
        if let Some(state) = states.iter_mut().find(|s| s.package == package) {
            state.version = installed.then(|| version.to_owned());
            state.held = status.starts_with("hold ");
        }
    }
    Ok(states)
}

/// The Kubernetes version a kube-apiserver manifest's image names
/// (`registry.k8s.io/kube-apiserver:v1.19.16` -> v1.19.16); `None` for another component.
pub fn apiserver_manifest_version(manifest: &str) -> Option<KubeVersion> {
    image::manifest_image(manifest)
        .filter(|i| i.base_name() == StaticPod::KubeApiserver.name())
        .and_then(|i| i.version())
}

/// The package manager from the output of [`NodeOp::DetectPackageManager`]: apt first,
/// then dnf 5 (`dnf5` on `PATH`, or `dnf --version` saying so), dnf, yum.
pub fn detect_package_manager(output: &str) -> Option<PackageManager> {
    let mut found = Vec::new();
    let mut dnf_version = "";
    for line in output.lines() {
        if let Some(v) = line.strip_prefix("dnf-version:") {
            dnf_version = v.trim();
        } else if let Some(name) = line.trim().rsplit('/').next() {
            found.push(name);
        }
    }
    if found.contains(&"apt-get") {
        Some(PackageManager::Apt)
    } else if found.contains(&"dnf5") || (found.contains(&"dnf") && dnf_version.starts_with("dnf5")) {
        Some(PackageManager::Dnf5)
    } else if found.contains(&"dnf") {
        Some(PackageManager::Dnf)
    } else if found.contains(&"yum") {
        Some(PackageManager::Yum)
    } else {
        None
    }
}

/// Which repository a repository definition file (apt sources or yum repo) points at,
/// and for pkgs.k8s.io its minor. `None` when it names neither.
pub fn detect_repository(contents: &str) -> Option<(Repository, Option<Minor>)> {
    let active = contents.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    if let Some(at) = active.find("/core:/stable:/v") {
        let rest = &active[at + "/core:/stable:/v".len()..];
        let minor = rest.split('/').next().and_then(|m| Minor::parse(m).ok());
        return Some((Repository::PkgsK8sIo, minor));
    }
    ["apt.kubernetes.io", "yum.kubernetes.io", "packages.cloud.google.com", "kubernetes-xenial"]
        .iter()
        .any(|marker| active.contains(marker))
        .then_some((Repository::Legacy, None))
}

/// Kind of a kubeadm backup directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupKind {
    Manifests,
    Etcd,
}

/// A kubeadm backup directory: `/etc/kubernetes/tmp/kubeadm-backup-manifests-2024-01-02-03-04-05`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    pub kind: BackupKind,
    /// `YYYY-MM-DD-HH-MM-SS`, which sorts chronologically as text.
    pub timestamp: String,
    pub path: String,
}

/// The byte count `du -sb PATH` printed (`12345<TAB>PATH`).
pub fn parse_disk_usage(output: &CommandOutput) -> Result<u64, NodeError> {
    let bad = |reason: String| NodeError::Output { command: "du -sb".to_owned(), reason };
    if output.exit_code != 0 {
        return Err(bad(format!("exit code {}: {}", output.exit_code, output.stderr.trim())));
    }
    output
        .stdout
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad(format!("no byte count in {:?}", output.stdout.trim())))
}

/// Parse the output of [`NodeOp::ListBackups`], oldest first. A missing directory means no backup.
pub fn parse_backups(output: &CommandOutput) -> Result<Vec<Backup>, NodeError> {
    if output.exit_code != 0 {
        if output.stderr.contains("No such file") {
            return Ok(Vec::new());
        }
        return Err(NodeError::Output {
            command: format!("ls -1 -- {KUBEADM_TMP_DIR}"),
            reason: format!("exit code {}: {}", output.exit_code, output.stderr.trim()),
        });
    }
    let mut backups: Vec<Backup> = output
        .stdout
        .lines()
        .filter_map(|name| {
            let name = name.trim();
            let (kind, timestamp) = if let Some(t) = name.strip_prefix("kubeadm-backup-manifests-") {
                (BackupKind::Manifests, t)
            } else {
                (BackupKind::Etcd, name.strip_prefix("kubeadm-backup-etcd-")?)
            };
            let parts: Vec<&str> = timestamp.split('-').collect();
            let well_formed = parts.len() == 6
                && parts
                    .iter()
                    .zip([4, 2, 2, 2, 2, 2])
                    .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_digit()));
            well_formed.then(|| Backup {
                kind,
                timestamp: timestamp.to_owned(),
                path: format!("{KUBEADM_TMP_DIR}/{name}"),
            })
        })
        .collect();
    backups.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.kind.cmp(&b.kind)));
    Ok(backups)
}

impl fmt::Display for NodeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DetectPackageManager => f.write_str("detect the package manager"),
            Self::QueryPackages => f.write_str("query installed kubeadm, kubelet, kubectl and their holds"),
            Self::AvailableVersions { package } => write!(f, "list the versions of {package} the repositories offer"),
            Self::ConfigureRepository { source } => {
                write!(
                    f,
                    "configure the {} repository for Kubernetes {} ({})",
                    source.repository, source.minor, source.url
                )
            }
            Self::InstallPackages { packages, version, .. } => {
                let names: Vec<&str> = packages.iter().map(|p| p.name()).collect();
                write!(f, "install {} at {version}, held", names.join(", "))
            }
            Self::KubeadmUpgradePlan => f.write_str("kubeadm upgrade plan"),
            Self::KubeadmUpgradeApply { version } => write!(f, "kubeadm upgrade apply {version}"),
            Self::KubeadmUpgradeNode => f.write_str("kubeadm upgrade node"),
            Self::KubeadmUpgradeControlPlaneNode { version } => {
                write!(f, "kubeadm upgrade node (control plane to {version})")
            }
            Self::KubeadmReconverge { version } => write!(f, "kubeadm upgrade apply {version} --force"),
            Self::RestartKubelet => f.write_str("restart the kubelet"),
            Self::EtcdSnapshot { path, tls, .. } => write!(f, "etcd snapshot of {} to {path}", tls.endpoint),
            Self::ListBackups => write!(f, "list kubeadm backups in {KUBEADM_TMP_DIR}"),
            Self::RestoreManifest { backup, pod, aside } => {
                write!(f, "restore the {pod} manifest from {backup}, keeping the replaced one in {aside}")
            }
            Self::StopStaticPod { pod } => {
                write!(f, "stop the {pod} static pod (move its manifest to {})", recovery::stopped_manifest(*pod))
            }
            Self::StartStaticPod { pod } => write!(f, "start the {pod} static pod (move its manifest back)"),
            Self::RestoreEtcd { source, data_dir, aside, .. } => {
                let from = match source {
                    EtcdSource::Snapshot { path, tool } => format!("snapshot {path} ({tool:?})"),
                    EtcdSource::DataCopy { path } => format!("data copy {path}"),
                };
                write!(f, "restore etcd data in {data_dir} from {from}, keeping the old data in {aside}")
            }
            Self::ListDir { path } => write!(f, "list {path}"),
            Self::ReadFile { path } => write!(f, "read {path}"),
            Self::DiskUsage { path } => write!(f, "size of {path}"),
            Self::WriteFile { path, .. } => write!(f, "write {path}"),
        }
    }
}

/// [`NodeOp::render`] for the recovery operations (nothing for the others).
fn recovery_render(op: &NodeOp) -> Vec<Vec<String>> {
    match op {
        NodeOp::RestoreManifest { backup, pod, aside } => vec![recovery::sh(
            recovery::RESTORE_MANIFEST_SCRIPT,
            "kubeladder-restore",
            &[&recovery::backup_file(backup, *pod), &pod.manifest(), aside],
        )],
        NodeOp::StopStaticPod { pod } => {
            vec![recovery::sh(
                recovery::MOVE_NO_CLOBBER_SCRIPT,
                "kubeladder-move",
                &[&pod.manifest(), &recovery::stopped_manifest(*pod)],
            )]
        }
        NodeOp::StartStaticPod { pod } => {
            vec![recovery::sh(
                recovery::MOVE_NO_CLOBBER_SCRIPT,
                "kubeladder-move",
                &[&recovery::stopped_manifest(*pod), &pod.manifest()],
            )]
        }
        NodeOp::RestoreEtcd { source, data_dir, aside, member } => {
            recovery::restore_etcd_argv(source, data_dir, aside, member)
        }
        _ => Vec::new(),
    }
}

/// [`NodeOp::check`] for the recovery operations.
fn recovery_check(op: &NodeOp) -> Option<Vec<String>> {
    match op {
        NodeOp::RestoreManifest { backup, pod, .. } => Some(
            ["cmp", "-s", "--", &recovery::backup_file(backup, *pod), &pod.manifest()]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        ),
        NodeOp::StopStaticPod { pod } | NodeOp::StartStaticPod { pod } => {
            Some(recovery::exists_check(&[&pod.manifest(), &recovery::stopped_manifest(*pod)]))
        }
        NodeOp::RestoreEtcd { data_dir, aside, .. } => {
            Some(recovery::exists_check(&[&recovery::member_dir(data_dir), aside, &recovery::restoring_dir(data_dir)]))
        }
        _ => None,
    }
}

/// [`NodeOp::is_done`] for the recovery operations: the manifest equals the backup's; the
/// manifest is where stop or start puts it and not in the other place; the data directory
/// holds a member, the old one is aside and no restore is half-done.
fn recovery_is_done(op: &NodeOp, output: &CommandOutput) -> bool {
    match op {
        NodeOp::RestoreManifest { .. } => output.exit_code == 0,
        NodeOp::StopStaticPod { pod } => {
            !recovery::listed(output, &pod.manifest()) && recovery::listed(output, &recovery::stopped_manifest(*pod))
        }
        NodeOp::StartStaticPod { pod } => {
            recovery::listed(output, &pod.manifest()) && !recovery::listed(output, &recovery::stopped_manifest(*pod))
        }
        NodeOp::RestoreEtcd { data_dir, aside, .. } => {
            recovery::listed(output, &recovery::member_dir(data_dir))
                && recovery::listed(output, aside)
                && !recovery::listed(output, &recovery::restoring_dir(data_dir))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(exit_code: i32, stdout: &str) -> CommandOutput {
        CommandOutput { exit_code, stdout: stdout.to_owned(), stderr: String::new() }
    }

    const MANAGERS: [PackageManager; 4] =
        [PackageManager::Apt, PackageManager::Yum, PackageManager::Dnf, PackageManager::Dnf5];

    fn sample_ops(pm: PackageManager) -> Vec<NodeOp> {
        let minor = Minor::new(1, 29);
        let v = KubeVersion::new(1, 29, 10);
        let style = RepoStyle { repository: Repository::PkgsK8sIo, format: pm.format() };
        vec![
            NodeOp::DetectPackageManager,
            NodeOp::QueryPackages,
            NodeOp::AvailableVersions { package: KubePackage::Kubeadm },
            NodeOp::ConfigureRepository { source: RepoSource::upstream(minor, Repository::PkgsK8sIo, pm.format()) },
            NodeOp::ConfigureRepository {
                source: RepoSource::upstream(Minor::new(1, 19), Repository::Legacy, pm.format()),
            },
            NodeOp::install(&[KubePackage::Kubeadm], &v, style).unwrap(),
            NodeOp::install(&[KubePackage::Kubelet, KubePackage::Kubectl], &v, style).unwrap(),
            NodeOp::KubeadmUpgradePlan,
            NodeOp::KubeadmUpgradeApply { version: v },
            NodeOp::KubeadmUpgradeControlPlaneNode { version: v },
            NodeOp::KubeadmUpgradeNode,
            NodeOp::KubeadmReconverge { version: v },
            NodeOp::RestartKubelet,
            NodeOp::etcd_snapshot("/var/lib/kubeladder/snapshots/h1.db"),
            NodeOp::ListBackups,
            NodeOp::RestoreManifest {
                backup: "/etc/kubernetes/tmp/kubeadm-backup-manifests-2024-01-02-03-04-05".into(),
                pod: StaticPod::KubeApiserver,
                aside: recovery::manifests_aside("2024-01-02-03-10-00"),
            },
            NodeOp::StopStaticPod { pod: StaticPod::Etcd },
            NodeOp::StartStaticPod { pod: StaticPod::Etcd },
            NodeOp::restore_etcd(
                EtcdSource::Snapshot {
                    path: "/var/lib/kubeladder/snapshots/h1.db".into(),
                    tool: recovery::RestoreTool::Etcdctl,
                },
                EtcdMember { name: "cp-1".into(), peer_url: "https://10.0.0.1:2380".into() },
                "2024-01-02-03-10-00",
            ),
            NodeOp::restore_etcd(
                EtcdSource::DataCopy {
                    path: recovery::kubeadm_etcd_backup_data(
                        "/etc/kubernetes/tmp/kubeadm-backup-etcd-2024-01-02-03-04-05",
                        recovery::ETCD_DATA_DIR,
                    ),
                },
                EtcdMember { name: "cp-1".into(), peer_url: "https://10.0.0.1:2380".into() },
                "2024-01-02-03-10-00",
            ),
            NodeOp::ListDir { path: "/etc/kubernetes/tmp/kubeadm-backup-manifests-2024-01-02-03-04-05".into() },
            NodeOp::ReadFile { path: "/etc/kubernetes/manifests/kube-apiserver.yaml".into() },
            NodeOp::DiskUsage { path: "/etc/kubernetes/tmp/kubeadm-backup-etcd-2024-01-02-03-04-05".into() },
        ]
    }

    fn rendered(pm: PackageManager) -> String {
        let mut text = String::new();
        for op in sample_ops(pm) {
            text.push_str(&format!("# {op}\n"));
            for command in op.render(pm) {
                text.push_str(&format!("{command:?}\n"));
            }
            if let Some(check) = op.check(pm) {
                text.push_str(&format!("check: {check:?}\n"));
            }
            text.push('\n');
        }
        text
    }

    #[test]
    fn renders_apt() {
        insta::assert_snapshot!(rendered(PackageManager::Apt));
    }

    #[test]
    fn renders_yum() {
        insta::assert_snapshot!(rendered(PackageManager::Yum));
    }

    #[test]
    fn renders_dnf() {
        insta::assert_snapshot!(rendered(PackageManager::Dnf));
    }

    #[test]
    fn renders_dnf5() {
        insta::assert_snapshot!(rendered(PackageManager::Dnf5));
    }

    #[test]
    fn ops_serialize_as_tagged_json() {
        let op = NodeOp::install(&[KubePackage::Kubeadm], &KubeVersion::new(1, 19, 16), RepoStyle::LEGACY_APT).unwrap();
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            json,
            r#"{"op":"install-packages","packages":["kubeadm"],"version":"1.19.16-00","change_held":true}"#
        );
        assert_eq!(serde_json::from_str::<NodeOp>(&json).unwrap(), op);
    }

    #[test]
    fn install_check_requires_exact_version_and_hold_on_apt() {
        let op = NodeOp::install(&[KubePackage::Kubeadm], &KubeVersion::new(1, 19, 16), RepoStyle::LEGACY_APT).unwrap();
        let pm = PackageManager::Apt;
        let held = "kubeadm\t1.19.16-00\thold ok installed\nkubelet\t1.18.20-00\thold ok installed\n";
        assert!(op.is_done(pm, &out(1, held)).unwrap());
        let unheld = "kubeadm\t1.19.16-00\tinstall ok installed\n";
        assert!(!op.is_done(pm, &out(0, unheld)).unwrap());
        let older = "kubeadm\t1.18.20-00\thold ok installed\n";
        assert!(!op.is_done(pm, &out(0, older)).unwrap());
        let removed = "kubeadm\t1.19.16-00\tdeinstall ok config-files\n";
        assert!(!op.is_done(pm, &out(0, removed)).unwrap());
        assert!(op.is_done(pm, &out(2, "")).is_err());
    }

    #[test]
    fn rpm_installs_below_the_installed_version_are_downgrades() {
        let op = NodeOp::install(&[KubePackage::Kubeadm], &KubeVersion::new(1, 18, 20), RepoStyle::LEGACY_YUM).unwrap();
        let installed = out(1, "kubeadm\t1.19.16-0\tinstalled\nkubelet\t1.30.0-150500.1.1\tinstalled\n");
        let refusal = op.downgrade(PackageManager::Dnf, &installed).unwrap();
        assert_eq!(refusal, Some((KubePackage::Kubeadm, "1.19.16-0".to_owned(), "1.18.20-0".to_owned())));
        let up = NodeOp::install(&[KubePackage::Kubeadm], &KubeVersion::new(1, 19, 16), RepoStyle::LEGACY_YUM).unwrap();
        assert_eq!(up.downgrade(PackageManager::Yum, &installed).unwrap(), None, "same version, kubelet not asked");
        assert_eq!(
            op.downgrade(PackageManager::Apt, &out(0, "kubeadm\t1.19.16-00\thold ok installed\n")).unwrap(),
            None
        );
    }

    #[test]
    fn parses_available_versions_newest_first() {
        let madison = "   kubeadm | 1.19.16-00 | file:/srv/legacy ./ Packages\n   kubeadm | 1.19.2-00 | file:/srv/legacy ./ Packages\n   kubeadm | 1.18.20-00 | file:/srv/legacy ./ Packages\n   kubeadm | 1.19.16-00 | https://apt.kubernetes.io kubernetes-xenial/main amd64 Packages\n  kubectl | 1.20.0-00 | x\n";
        let versions = parse_available(PackageManager::Apt, KubePackage::Kubeadm, &out(0, madison)).unwrap();
        assert_eq!(versions, ["1.19.16-00", "1.19.2-00", "1.18.20-00"]);
        assert!(parse_available(PackageManager::Apt, KubePackage::Kubeadm, &out(0, "")).unwrap().is_empty());
        let dnf = "Last metadata expiration check: 0:01:02 ago.\nInstalled Packages\nkubeadm.x86_64   1.29.0-150500.1.1   @kubernetes\nAvailable Packages\nkubeadm.x86_64   1.29.0-150500.1.1   kubernetes\nkubeadm.x86_64   1.29.10-150500.1.1   kubernetes\nkubeadm.x86_64   1.29.9-150500.1.1   kubernetes\n";
        let versions = parse_available(PackageManager::Dnf, KubePackage::Kubeadm, &out(0, dnf)).unwrap();
        assert_eq!(versions, ["1.29.10-150500.1.1", "1.29.9-150500.1.1", "1.29.0-150500.1.1"]);
        let none = CommandOutput {
            exit_code: 1,
            stdout: String::new(),
            stderr: "Error: No matching Packages to list\n".into(),
        };
        assert!(parse_available(PackageManager::Yum, KubePackage::Kubeadm, &none).unwrap().is_empty());
        let broken = CommandOutput { exit_code: 100, stdout: String::new(), stderr: "E: boom\n".into() };
        let e = parse_available(PackageManager::Apt, KubePackage::Kubeadm, &broken).unwrap_err();
        assert!(e.to_string().contains("apt-cache madison kubeadm") && e.to_string().contains("E: boom"), "{e}");
    }

    #[test]
    fn parses_rpm_query() {
        let o = out(1, "kubeadm\t1.19.16-0\tinstalled\npackage kubelet is not installed\n");
        let states = parse_packages(PackageManager::Dnf, &o).unwrap();
        assert_eq!(states[0].version.as_deref(), Some("1.19.16-0"));
        assert_eq!(states[1].version, None);
    }

    #[test]
    fn repository_check_compares_exact_contents() {
        let source = RepoSource::upstream(Minor::new(1, 29), Repository::PkgsK8sIo, PackageFormat::Deb);
        let op = NodeOp::ConfigureRepository { source: source.clone() };
        let (_, contents) = source.file(PackageManager::Apt);
        assert!(op.is_done(PackageManager::Apt, &out(0, &contents)).unwrap());
        let other = RepoSource::upstream(Minor::new(1, 28), Repository::PkgsK8sIo, PackageFormat::Deb);
        assert!(!op.is_done(PackageManager::Apt, &out(0, &other.file(PackageManager::Apt).1)).unwrap());
        assert!(!op.is_done(PackageManager::Apt, &out(1, "")).unwrap());
    }

    #[test]
    fn detects_package_managers() {
        assert_eq!(detect_package_manager("/usr/bin/apt-get\n"), Some(PackageManager::Apt));
        assert_eq!(
            detect_package_manager("/usr/bin/dnf5\n/usr/bin/dnf\ndnf-version: dnf5 version 5.2.6\n"),
            Some(PackageManager::Dnf5)
        );
        assert_eq!(
            detect_package_manager("/usr/bin/dnf\ndnf-version: dnf5 version 5.2.6\n"),
            Some(PackageManager::Dnf5)
        );
        assert_eq!(
            detect_package_manager("/usr/bin/dnf\n/usr/bin/yum\ndnf-version: 4.14.0\n"),
            Some(PackageManager::Dnf)
        );
        assert_eq!(detect_package_manager("/usr/bin/yum\n"), Some(PackageManager::Yum));
        assert_eq!(detect_package_manager(""), None);
    }

    #[test]
    fn detects_repositories() {
        for pm in MANAGERS {
            let pkgs = RepoSource::upstream(Minor::new(1, 29), Repository::PkgsK8sIo, pm.format()).file(pm).1;
            assert_eq!(detect_repository(&pkgs), Some((Repository::PkgsK8sIo, Some(Minor::new(1, 29)))));
            let legacy = RepoSource::upstream(Minor::new(1, 19), Repository::Legacy, pm.format()).file(pm).1;
            assert_eq!(detect_repository(&legacy), Some((Repository::Legacy, None)));
        }
        assert_eq!(detect_repository("# deb https://apt.kubernetes.io/ kubernetes-xenial main\n"), None);
    }

    #[test]
    fn kubeadm_checks_read_every_versioned_manifest() {
        let v = KubeVersion::new(1, 19, 16);
        let manifest =
            |pod: &str, tag: &str| format!("spec:\n  containers:\n  - command:\n    image: k8s.gcr.io/{pod}:{tag}\n");
        let all_new = manifest("kube-apiserver", "v1.19.16")
            + &manifest("kube-controller-manager", "v1.19.16")
            + "spec:\n  containers:\n  - image: \"k8s.gcr.io/kube-scheduler:v1.19.16\"\n";
        let half_way = manifest("kube-apiserver", "v1.19.16")
            + &manifest("kube-controller-manager", "v1.18.20")
            + &manifest("kube-scheduler", "v1.18.20");
        for op in [NodeOp::KubeadmUpgradeApply { version: v }, NodeOp::KubeadmUpgradeControlPlaneNode { version: v }] {
            let check = op.check(PackageManager::Apt).unwrap().join(" ");
            assert!(check.ends_with("kube-apiserver.yaml /etc/kubernetes/manifests/kube-controller-manager.yaml /etc/kubernetes/manifests/kube-scheduler.yaml"), "{check}");
            assert!(op.is_done(PackageManager::Apt, &out(0, &all_new)).unwrap());
            assert!(!op.is_done(PackageManager::Apt, &out(0, &half_way)).unwrap(), "half-way is not done");
            assert!(!op.is_done(PackageManager::Apt, &out(1, &manifest("kube-apiserver", "v1.19.16"))).unwrap());
        }
        assert_eq!(
            NodeOp::KubeadmReconverge { version: v }.check(PackageManager::Apt),
            None,
            "a reconverge always runs"
        );
        assert_eq!(apiserver_manifest_version(&manifest("kube-apiserver", "v1.19.16")), Some(v));
        assert_eq!(apiserver_manifest_version(&manifest("kube-scheduler", "v1.19.16")), None);
    }

    #[test]
    fn recovery_checks_read_which_paths_exist() {
        let pm = PackageManager::Apt;
        let (stop, start) =
            (NodeOp::StopStaticPod { pod: StaticPod::Etcd }, NodeOp::StartStaticPod { pod: StaticPod::Etcd });
        let running = out(2, "/etc/kubernetes/manifests/etcd.yaml\n");
        let stopped = out(2, "/etc/kubernetes/tmp/kubeladder-stopped/etcd.yaml\n");
        let both = out(0, "/etc/kubernetes/manifests/etcd.yaml\n/etc/kubernetes/tmp/kubeladder-stopped/etcd.yaml\n");
        assert!((!stop.is_done(pm, &running).unwrap(), start.is_done(pm, &running).unwrap()) == (true, true));
        assert!(stop.is_done(pm, &stopped).unwrap() && !start.is_done(pm, &stopped).unwrap());
        assert!(!stop.is_done(pm, &both).unwrap() && !start.is_done(pm, &both).unwrap());
        let restore = NodeOp::restore_etcd(
            EtcdSource::DataCopy { path: "/backup/etcd".into() },
            EtcdMember { name: "cp-1".into(), peer_url: "https://10.0.0.1:2380".into() },
            "2024-01-02-03-04-05",
        );
        let done = out(0, "/var/lib/etcd/member\n/var/lib/etcd-kubeladder-aside-2024-01-02-03-04-05\n");
        assert!(restore.is_done(pm, &done).unwrap());
        let half = out(0, "/var/lib/etcd-kubeladder-aside-2024-01-02-03-04-05\n/var/lib/etcd.kubeladder-restoring\n");
        assert!(!restore.is_done(pm, &half).unwrap());
        assert!(!restore.is_done(pm, &out(2, "/var/lib/etcd/member\n")).unwrap(), "not restored yet");
    }

    #[test]
    fn parses_disk_usage_and_refuses_what_is_not_a_count() {
        assert_eq!(parse_disk_usage(&out(0, "20480\t/var/lib/etcd\n")).unwrap(), 20480);
        assert!(parse_disk_usage(&out(0, "")).is_err());
        assert!(parse_disk_usage(&out(0, "du: oops\n")).is_err());
        let missing = CommandOutput { exit_code: 1, stdout: String::new(), stderr: "du: cannot access".into() };
        assert!(parse_disk_usage(&missing).unwrap_err().to_string().contains("cannot access"));
    }

    #[test]
    fn parses_backups_oldest_first() {
        let o = out(
            0,
            "kubeadm-backup-manifests-2024-05-01-10-00-00\nkubeadm-backup-etcd-2024-01-02-03-04-05\nkubeadm-upgraded-manifests123\nkubeadm-backup-etcd-2024-1-2\n",
        );
        let backups = parse_backups(&o).unwrap();
        assert_eq!(backups.len(), 2);
        assert_eq!(backups[0].kind, BackupKind::Etcd);
        assert_eq!(backups[1].path, "/etc/kubernetes/tmp/kubeadm-backup-manifests-2024-05-01-10-00-00");
        let missing = CommandOutput {
            exit_code: 2,
            stdout: String::new(),
            stderr: "ls: cannot access: No such file or directory".into(),
        };
        assert!(parse_backups(&missing).unwrap().is_empty());
    }
}
