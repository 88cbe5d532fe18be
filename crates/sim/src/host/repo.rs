//! Package repositories: which one a sources/repo file points at, and what it offers.
//!
//! A URL with `/v1.NN/` in it is pkgs.k8s.io's repository for that minor (upstream or a
//! mirror of it); anything else is the legacy repository (`apt.kubernetes.io`,
//! `packages.cloud.google.com/yum`) or a mirror of its layout. Whether a repository
//! answers at all is the world's business ([`PackageWorld`]): as of today the legacy
//! repositories are gone, pkgs.k8s.io serves 1.24 and later, and mirrors serve what the
//! scenario says they do. A repository that answers offers every patch `0..=newest` of
//! the minors the release data says it carries, in its package version style, with the
//! revision the world gives that patch ([`PackageWorld::revision`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use kubeladder_core::package::{PackageFormat, PackageVersion, RepoStyle, Repository};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::{KubeVersion, Minor};

/// The default address of the simulated mirror (a scenario names its own with `mirror:`).
pub const DEFAULT_MIRROR: &str = "mirror.sim.kubeladder.test";

/// The package repositories on the network the simulated hosts see.
///
/// * The legacy repositories (`apt.kubernetes.io`, `packages.cloud.google.com/yum`,
///   `yum.kubernetes.io`) are gone: frozen on 2023-09-13 and removed on 2024-03-04
///   (<https://kubernetes.io/blog/2023/08/31/legacy-package-repository-deprecation/>,
///   <https://kubernetes.io/blog/2023/08/15/pkgs-k8s-io-introduction/>: "the legacy
///   Google-hosted package repositories went away on March 4, 2024"). `legacy_upstream`
///   brings back the world before that day.
/// * pkgs.k8s.io serves 1.24 and later, one repository per minor
///   (`core:/stable:/v1.XX/{deb,rpm}/`, same blog post).
/// * A mirror at `mirror` (a host name) keeps both layouts, the way
///   `mirrors.aliyun.com` does: the legacy one at `/kubernetes/apt/` (`kubernetes-xenial
///   main`) and `/kubernetes/yum/repos/kubernetes-el7-x86_64/`, and pkgs.k8s.io's at
///   `/kubernetes-new/core/stable/v1.XX/{deb,rpm}/` (any path with `/v1.XX/` is read as
///   the pkgs.k8s.io layout, any other as the legacy one).
/// * `file:` URLs are a directory the operator filled on the node: they offer what the
///   release data lists. Any other `http(s)` host does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageWorld {
    pub legacy_upstream: bool,
    pub mirror: Option<String>,
    /// pkgs.k8s.io revisions other than `1.1` (deb) / `150500.1.1` (rpm): Kubernetes
    /// version -> the deb revision it is published at (`2.1`). pkgs.k8s.io rebuilds bump
    /// the revision and the old one is gone: `1.28.14-2.1` exists where `-1.1` does not
    /// (kubernetes/release packaging rebuilds; /work/shared/reference/real-nodes.md).
    /// The rpm revision follows (`150500.2.1`).
    pub rebuilt: BTreeMap<KubeVersion, String>,
}

impl Default for PackageWorld {
    fn default() -> Self {
        Self {
            legacy_upstream: false,
            mirror: Some(DEFAULT_MIRROR.to_owned()),
            rebuilt: [(KubeVersion::new(1, 28, 14), "2.1".to_owned())].into(),
        }
    }
}

/// Where a repository URL points, as far as the world is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Site {
    LegacyUpstream,
    PkgsK8sIo,
    Mirror,
    LocalDirectory,
    /// A host name that does not resolve.
    Unresolvable(String),
}

impl PackageWorld {
    /// Where `url` points.
    pub(crate) fn site(&self, url: &str) -> Site {
        if url.starts_with("file:") {
            return Site::LocalDirectory;
        }
        let host = url.split_once("://").map_or(url, |(_, rest)| rest).split(['/', ':']).next().unwrap_or_default();
        if ["apt.kubernetes.io", "yum.kubernetes.io", "packages.cloud.google.com"].contains(&host) {
            Site::LegacyUpstream
        } else if host == "pkgs.k8s.io" {
            Site::PkgsK8sIo
        } else if self.mirror.as_deref() == Some(host) {
            Site::Mirror
        } else {
            Site::Unresolvable(host.to_owned())
        }
    }

    /// Whether the site answers at all.
    pub(crate) fn answers(&self, url: &str) -> bool {
        match self.site(url) {
            Site::LegacyUpstream => self.legacy_upstream,
            Site::PkgsK8sIo | Site::Mirror | Site::LocalDirectory => true,
            Site::Unresolvable(_) => false,
        }
    }

    /// The package version `style` publishes `version` at in this world.
    pub(crate) fn package_version(&self, style: RepoStyle, version: &KubeVersion) -> Option<PackageVersion> {
        let standard = style.package_version(version).ok()?;
        let Some(revision) = self.rebuilt.get(version).filter(|_| style.repository == Repository::PkgsK8sIo) else {
            return Some(standard);
        };
        Some(match standard {
            PackageVersion::Deb(deb) => {
                PackageVersion::Deb(kubeladder_core::package::DebVersion { revision: revision.clone(), ..deb })
            }
            PackageVersion::Rpm(rpm) => PackageVersion::Rpm(kubeladder_core::package::RpmVersion {
                release: format!("150500.{revision}"),
                ..rpm
            }),
        })
    }
}

/// One repository definition, as read from a sources or repo file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoSource {
    /// `None`: the legacy repository; `Some(minor)`: pkgs.k8s.io's repository for a minor.
    pub pkgs_minor: Option<Minor>,
    pub url: Arc<str>,
    pub format: PackageFormat,
    /// apt `signed-by=` keyring.
    pub signed_by: Option<String>,
    /// apt `trusted=yes`.
    pub trusted: bool,
    /// yum/dnf `exclude=` package names.
    pub excludes: Vec<String>,
}

/// Which signing key a keyring file or repository uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    /// `packages.cloud.google.com` (the legacy repository).
    Google,
    /// `pkgs.k8s.io`.
    Community,
    /// A mirror's own key: trusted for any repository.
    Mirror,
}

impl KeyFamily {
    /// The family of a key fetched from `url`.
    pub fn of_url(url: &str) -> Self {
        if url.contains("pkgs.k8s.io") {
            Self::Community
        } else if url.contains("packages.cloud.google.com") || url.contains("apt.kubernetes.io") {
            Self::Google
        } else {
            Self::Mirror
        }
    }

    /// The key ID apt names in `NO_PUBKEY` errors.
    pub fn key_id(self) -> &'static str {
        match self {
            Self::Google => "B53DC80D13EDEF05",
            Self::Community | Self::Mirror => "234654DA9A296436",
        }
    }
}

/// The minor in a `/v1.NN/` segment of a URL.
fn minor_in_url(url: &str) -> Option<Minor> {
    url.split('/').filter_map(|segment| segment.strip_prefix('v')).find_map(|rest| {
        let (major, minor) = rest.split_once('.')?;
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (numeric(major) && numeric(minor)).then(|| Minor::parse(rest).ok()).flatten()
    })
}

/// The first active `deb` line of an apt sources file. `Ok(None)` when there is none;
/// `Err(line number)` when a line is malformed (apt: `Malformed entry N`).
pub(crate) fn parse_apt_sources(text: &str) -> Result<Option<RepoSource>, usize> {
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix("deb ").or_else(|| line.strip_prefix("deb\t")) else {
            if line.starts_with("deb-src") {
                continue;
            }
            return Err(number + 1);
        };
        let rest = rest.trim();
        let (options, rest) = match rest.strip_prefix('[') {
            Some(after) => {
                let (options, rest) = after.split_once(']').ok_or(number + 1)?;
                (options, rest.trim())
            }
            None => ("", rest),
        };
        let mut words = rest.split_whitespace();
        let url = words.next().ok_or(number + 1)?;
        let suite = words.next().ok_or(number + 1)?;
        // A flat repository (`/`) has no components; any other suite needs one.
        if !suite.ends_with('/') && words.next().is_none() {
            return Err(number + 1);
        }
        let mut signed_by = None;
        let mut trusted = false;
        for option in options.split_whitespace() {
            match option.split_once('=') {
                Some(("signed-by", path)) => signed_by = Some(path.to_owned()),
                Some(("trusted", value)) => trusted = value == "yes",
                _ => {}
            }
        }
        return Ok(Some(RepoSource {
            pkgs_minor: minor_in_url(url),
            url: Arc::from(url),
            format: PackageFormat::Deb,
            signed_by,
            trusted,
            excludes: Vec::new(),
        }));
    }
    Ok(None)
}

/// The `[kubernetes]` section of a yum/dnf repo file (`baseurl`, `exclude`, `enabled`).
pub(crate) fn parse_yum_repo(text: &str) -> Option<RepoSource> {
    let mut in_section = false;
    let mut url = None;
    let mut excludes = Vec::new();
    let mut enabled = true;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = section == "kubernetes";
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        match key.trim() {
            "baseurl" => url = Some(value.trim().to_owned()),
            "exclude" | "excludepkgs" => {
                excludes = value.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect();
            }
            "enabled" => enabled = value.trim() != "0",
            _ => {}
        }
    }
    let url = url.filter(|_| enabled)?;
    Some(RepoSource {
        pkgs_minor: minor_in_url(&url),
        url: Arc::from(url.as_str()),
        format: PackageFormat::Rpm,
        signed_by: None,
        trusted: false,
        excludes,
    })
}

impl RepoSource {
    pub fn repository(&self) -> Repository {
        if self.pkgs_minor.is_some() { Repository::PkgsK8sIo } else { Repository::Legacy }
    }

    pub fn minor(&self) -> Option<Minor> {
        self.pkgs_minor
    }

    pub fn style(&self) -> RepoStyle {
        RepoStyle { repository: self.repository(), format: self.format }
    }

    /// Same repository (URL and minor), whatever the options.
    pub fn same_repository(&self, other: &Self) -> bool {
        self.url == other.url && self.pkgs_minor == other.pkgs_minor && self.format == other.format
    }

    /// The key this repository is signed with.
    pub fn key_family(&self) -> KeyFamily {
        KeyFamily::of_url(&self.url)
    }

    /// Whether the repository answers and is published (pkgs.k8s.io from 1.24, legacy
    /// up to 1.28 - upstream only in the world before 2024-03-04, see [`PackageWorld`]).
    pub fn exists(&self, world: &PackageWorld) -> bool {
        world.answers(&self.url) && !self.minors().is_empty()
    }

    fn minors(&self) -> Vec<Minor> {
        let Ok(data) = ReleaseData::embedded() else { return Vec::new() };
        let repository = self.repository();
        data.releases()
            .iter()
            .filter(|r| r.repositories.contains(&repository))
            .filter(|r| self.pkgs_minor.is_none_or(|m| m == r.minor))
            .map(|r| r.minor)
            .collect()
    }

    /// Every version offered, oldest first, as (Kubernetes version, package version).
    pub fn versions(&self, world: &PackageWorld) -> Vec<(KubeVersion, PackageVersion)> {
        let Ok(data) = ReleaseData::embedded() else { return Vec::new() };
        if !world.answers(&self.url) {
            return Vec::new();
        }
        let style = self.style();
        let mut out = Vec::new();
        for minor in self.minors() {
            let newest = data.get(minor).and_then(|r| r.latest_patch.patch).unwrap_or(0);
            for patch in 0..=newest {
                let version = KubeVersion::new(minor.major, minor.minor, patch);
                if let Some(package) = world.package_version(style, &version) {
                    out.push((version, package));
                }
            }
        }
        out
    }

    /// Whether the package version string is offered.
    pub fn offers(&self, world: &PackageWorld, package_version: &str) -> bool {
        self.versions(world).iter().any(|(_, p)| p.to_string() == package_version)
    }

    /// How apt names this repository in `Get:` lines and errors (`https://pkgs.k8s.io/core:/stable:/v1.29/deb  InRelease`).
    pub fn apt_label(&self) -> String {
        match self.pkgs_minor {
            Some(_) => format!("{}  InRelease", self.url.trim_end_matches('/')),
            None => format!("{} kubernetes-xenial InRelease", self.url.trim_end_matches('/')),
        }
    }

    /// The `Packages` origin apt prints in `apt-cache policy` / `madison`.
    pub fn apt_origin(&self) -> String {
        match self.pkgs_minor {
            Some(_) => format!("{}  Packages", self.url.trim_end_matches('/')),
            None => format!("{} kubernetes-xenial/main amd64 Packages", self.url.trim_end_matches('/')),
        }
    }
}

/// The line a scenario's apt host starts with (what the install guides of the time wrote).
pub(crate) fn initial_apt_sources(pkgs_minor: Option<Minor>) -> String {
    match pkgs_minor {
        None => "deb [signed-by=/usr/share/keyrings/kubernetes-archive-keyring.gpg] https://apt.kubernetes.io/ kubernetes-xenial main\n".to_owned(),
        Some(minor) => format!(
            "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v{minor}/deb/ /\n"
        ),
    }
}

/// The repo file a scenario's yum/dnf host starts with.
pub(crate) fn initial_yum_repo(pkgs_minor: Option<Minor>) -> String {
    match pkgs_minor {
        None => "[kubernetes]\nname=Kubernetes\nbaseurl=https://packages.cloud.google.com/yum/repos/kubernetes-el7-$basearch\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=https://packages.cloud.google.com/yum/doc/yum-key.gpg https://packages.cloud.google.com/yum/doc/rpm-package-key.gpg\nexclude=kubelet kubeadm kubectl\n".to_owned(),
        Some(minor) => format!(
            "[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v{minor}/rpm/\nenabled=1\ngpgcheck=1\ngpgkey=https://pkgs.k8s.io/core:/stable:/v{minor}/rpm/repodata/repomd.xml.key\nexclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n"
        ),
    }
}

/// The keyring file the initial apt sources trust, and its contents.
pub(crate) fn initial_keyring(pkgs_minor: Option<Minor>) -> (&'static str, String) {
    match pkgs_minor {
        None => (
            "/usr/share/keyrings/kubernetes-archive-keyring.gpg",
            keyring_text("https://packages.cloud.google.com/apt/doc/apt-key.gpg"),
        ),
        Some(minor) => (
            "/etc/apt/keyrings/kubernetes-apt-keyring.gpg",
            keyring_text(&format!("https://pkgs.k8s.io/core:/stable:/v{minor}/deb/Release.key")),
        ),
    }
}

/// A keyring file's contents: it records where the key came from.
pub(crate) fn keyring_text(url: &str) -> String {
    format!("kubeladder-sim dearmored keyring\nkey: {}\nfrom: {url}\n", KeyFamily::of_url(url).key_id())
}

/// Which key a keyring file holds (from [`keyring_text`]).
pub(crate) fn keyring_family(text: &str) -> Option<KeyFamily> {
    text.lines().find_map(|l| l.strip_prefix("from: ")).map(KeyFamily::of_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lines_kubeladder_writes() {
        let pkgs = "# kubeladder: Kubernetes 1.29 packages (pkgs.k8s.io)\ndeb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.29/deb/ /\n";
        let world = PackageWorld::default();
        let before_2024 = PackageWorld { legacy_upstream: true, ..PackageWorld::default() };
        let source = parse_apt_sources(pkgs).unwrap().unwrap();
        assert_eq!(source.pkgs_minor, Some(Minor::new(1, 29)));
        assert_eq!(source.signed_by.as_deref(), Some("/etc/apt/keyrings/kubernetes-apt-keyring.gpg"));
        let versions = source.versions(&world);
        assert_eq!(versions.first().unwrap().1.to_string(), "1.29.0-1.1");
        assert_eq!(versions.last().unwrap().1.to_string(), "1.29.15-1.1");

        let legacy = "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://apt.kubernetes.io/ kubernetes-xenial main\n";
        let source = parse_apt_sources(legacy).unwrap().unwrap();
        assert_eq!(source.repository(), Repository::Legacy);
        let offers = |v: &str| source.offers(&before_2024, v);
        assert!(offers("1.18.20-00") && offers("1.19.16-00") && offers("1.28.15-00"));
        assert!(!offers("1.29.0-00") && !offers("1.19.17-00"));
        // Today the legacy repository is gone.
        assert!(!source.exists(&world) && source.versions(&world).is_empty());

        let mirror = "deb [trusted=yes] file:/srv/mirror/v1.30/ /\n";
        let source = parse_apt_sources(mirror).unwrap().unwrap();
        assert_eq!(source.pkgs_minor, Some(Minor::new(1, 30)));
        assert!(source.trusted);
        assert_eq!(parse_apt_sources("deb https://x\n"), Err(1));
        assert_eq!(parse_apt_sources("# nothing\n"), Ok(None));
        let unpublished = parse_apt_sources(&initial_apt_sources(Some(Minor::new(1, 18)))).unwrap().unwrap();
        assert!(!unpublished.exists(&before_2024));
    }

    #[test]
    fn reads_yum_repo_files() {
        let text = initial_yum_repo(Some(Minor::new(1, 29)));
        let source = parse_yum_repo(&text).unwrap();
        assert_eq!(source.pkgs_minor, Some(Minor::new(1, 29)));
        assert!(source.excludes.contains(&"kubeadm".to_owned()));
        let world = PackageWorld::default();
        assert!(source.offers(&world, "1.29.3-150500.1.1"));
        let legacy = parse_yum_repo(&initial_yum_repo(None)).unwrap();
        assert!(legacy.offers(&PackageWorld { legacy_upstream: true, ..PackageWorld::default() }, "1.19.16-0"));
        assert!(!legacy.exists(&world));
        assert!(parse_yum_repo("[other]\nbaseurl=x\n").is_none());
    }

    #[test]
    fn keyrings_remember_their_key() {
        assert_eq!(
            keyring_family(&keyring_text("https://pkgs.k8s.io/core:/stable:/v1.29/deb/Release.key")),
            Some(KeyFamily::Community)
        );
        assert_eq!(keyring_family(&initial_keyring(None).1), Some(KeyFamily::Google));
    }
}

#[cfg(test)]
mod world_tests {
    use super::*;

    #[test]
    fn the_mirror_keeps_both_layouts_and_unknown_hosts_do_not_resolve() {
        let world = PackageWorld::default();
        let legacy =
            parse_apt_sources(&format!("deb https://{DEFAULT_MIRROR}/kubernetes/apt/ kubernetes-xenial main\n"))
                .unwrap()
                .unwrap();
        assert_eq!(legacy.repository(), Repository::Legacy);
        assert!(legacy.exists(&world) && legacy.offers(&world, "1.19.16-00"));
        let pkgs = parse_yum_repo(&format!(
            "[kubernetes]\nbaseurl=https://{DEFAULT_MIRROR}/kubernetes-new/core/stable/v1.30/rpm/\n"
        ))
        .unwrap();
        assert!(pkgs.offers(&world, "1.30.2-150500.1.1"));
        let elsewhere = parse_apt_sources("deb https://mirror.example.org/kubernetes/apt/ kubernetes-xenial main\n")
            .unwrap()
            .unwrap();
        assert_eq!(world.site(&elsewhere.url), Site::Unresolvable("mirror.example.org".to_owned()));
        assert!(!elsewhere.exists(&world));
        let no_mirror = PackageWorld { mirror: None, ..PackageWorld::default() };
        assert!(!legacy.exists(&no_mirror));
    }

    #[test]
    fn rebuilt_patches_exist_only_at_their_new_revision() {
        let world = PackageWorld::default();
        let deb = parse_apt_sources("deb https://pkgs.k8s.io/core:/stable:/v1.28/deb/ /\n").unwrap().unwrap();
        assert!(deb.offers(&world, "1.28.14-2.1"));
        assert!(!deb.offers(&world, "1.28.14-1.1"));
        assert!(deb.offers(&world, "1.28.13-1.1"));
        let rpm = parse_yum_repo("[kubernetes]\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.28/rpm/\n").unwrap();
        assert!(rpm.offers(&world, "1.28.14-150500.2.1") && !rpm.offers(&world, "1.28.14-150500.1.1"));
    }
}
