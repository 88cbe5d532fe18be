//! Package versions as the node's package manager sees them, and the mapping between a
//! Kubernetes version and the package version each repository style publishes.
//!
//! Ordering follows the package managers exactly, never semver: [`DebVersion`] implements
//! dpkg's `verrevcmp` (epoch, upstream, revision; `~` sorts before everything, even the
//! end of the string) and [`RpmVersion`] implements rpm's `rpmvercmp` on epoch, version
//! and release (`~` before, `^` after).
//!
//! ```
//! use kubeladder_core::package::{DebVersion, PackageFormat, RepoStyle};
//! use kubeladder_core::KubeVersion;
//!
//! // Not semver, not string order: 1.29.0 < 1.29.10, and a pre-release sorts first.
//! assert!(DebVersion::parse("1.29.0-1.1")? < DebVersion::parse("1.29.10-1.1")?);
//! assert!(DebVersion::parse("1.30.0~rc.1-1.1")? < DebVersion::parse("1.30.0-1.1")?);
//!
//! let v = KubeVersion::parse("v1.28.15")?;
//! assert_eq!(RepoStyle::PKGS_DEB.package_version(&v)?.to_string(), "1.28.15-1.1");
//! assert_eq!(RepoStyle::parse_package(PackageFormat::Deb, "1.19.16-00")?.1, RepoStyle::LEGACY_APT);
//! # Ok::<(), kubeladder_core::CoreError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::version::KubeVersion;

/// Debian/Ubuntu package version `[epoch:]upstream[-revision]`, ordered like `dpkg --compare-versions`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DebVersion {
    pub epoch: u32,
    pub upstream: String,
    pub revision: String,
}

/// RPM `[epoch:]version[-release]`, ordered like rpm's `rpmvercmp` on each part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RpmVersion {
    pub epoch: u32,
    pub version: String,
    pub release: String,
}

/// A package version of either format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PackageVersion {
    Deb(DebVersion),
    Rpm(RpmVersion),
}

fn split_epoch<'a>(input: &'a str, bad: &dyn Fn(&str) -> CoreError) -> Result<(u32, &'a str), CoreError> {
    match input.split_once(':') {
        None => Ok((0, input)),
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the epoch before ':' must be a number"));
            }
            let epoch = epoch.parse().map_err(|_| bad("the epoch is too large"))?;
            Ok((epoch, rest))
        }
    }
}

/// `[epoch:]main[-revision]` split into its parts, after the checks both formats share.
fn split_evr<'a>(
    input: &'a str,
    revision_name: &str,
    bad: &dyn Fn(&str) -> CoreError,
) -> Result<(u32, &'a str, &'a str), CoreError> {
    if input.is_empty() {
        return Err(bad("it is empty"));
    }
    if input.chars().any(char::is_whitespace) {
        return Err(bad("it contains white space"));
    }
    let (epoch, rest) = split_epoch(input, bad)?;
    let (main, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    if rest.contains('-') && revision.is_empty() {
        return Err(bad(&format!("the {revision_name} after '-' is empty")));
    }
    Ok((epoch, main, revision))
}

impl DebVersion {
    pub fn parse(input: &str) -> Result<Self, CoreError> {
        let bad = |why: &str| CoreError::InvalidPackageVersion { input: input.to_owned(), reason: why.to_owned() };
        let (epoch, upstream, revision) = split_evr(input, "revision", &bad)?;
        if upstream.is_empty() {
            return Err(bad("the upstream version is empty"));
        }
        if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(bad("the upstream version must start with a digit"));
        }
        if let Some(c) = upstream.chars().find(|c| !(c.is_ascii_alphanumeric() || ".+~-:".contains(*c))) {
            return Err(bad(&format!("the upstream version contains {c:?}")));
        }
        if upstream.contains(':') {
            return Err(bad("':' is only allowed once, after the epoch"));
        }
        if let Some(c) = revision.chars().find(|c| !(c.is_ascii_alphanumeric() || ".+~".contains(*c))) {
            return Err(bad(&format!("the revision contains {c:?}")));
        }
        Ok(Self { epoch, upstream: upstream.to_owned(), revision: revision.to_owned() })
    }
}

/// dpkg's character weight: `~` lowest (below end of string), letters by ASCII, other
/// symbols after all letters.
fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`, transcribed from lib/dpkg/version.c.
fn dpkg_verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let at = |s: &[u8], k: usize| s.get(k).copied();
    let digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(at(a, i))) || (j < b.len() && !digit(at(b, j))) {
            let (ac, bc) = (dpkg_order(at(a, i)), dpkg_order(at(b, j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == Some(b'0') {
            i += 1;
        }
        while at(b, j) == Some(b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(at(a, i)) && digit(at(b, j)) {
            if first_diff == Ordering::Equal {
                first_diff = at(a, i).cmp(&at(b, j));
            }
            i += 1;
            j += 1;
        }
        if digit(at(a, i)) {
            return Ordering::Greater;
        }
        if digit(at(b, j)) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// `[epoch:]main[-revision]` ordering (epoch numerically, then `main`, then `revision`
/// with the format's comparator) and printing, for both formats.
macro_rules! epoch_version_impls {
    ($ty:ty, $main:ident, $revision:ident, $compare:path, $compare_revision:path) => {
        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> Ordering {
                self.epoch
                    .cmp(&other.epoch)
                    .then_with(|| $compare(&self.$main, &other.$main))
                    .then_with(|| $compare_revision(&self.$revision, &other.$revision))
            }
        }

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.epoch != 0 {
                    write!(f, "{}:", self.epoch)?;
                }
                f.write_str(&self.$main)?;
                if !self.$revision.is_empty() {
                    write!(f, "-{}", self.$revision)?;
                }
                Ok(())
            }
        }
    };
}

epoch_version_impls!(DebVersion, upstream, revision, dpkg_verrevcmp, dpkg_verrevcmp);

impl RpmVersion {
    pub fn parse(input: &str) -> Result<Self, CoreError> {
        let bad = |why: &str| CoreError::InvalidPackageVersion { input: input.to_owned(), reason: why.to_owned() };
        let (epoch, version, release) = split_evr(input, "release", &bad)?;
        if version.is_empty() {
            return Err(bad("the version is empty"));
        }
        if version.contains('-') {
            return Err(bad("the version part may not contain '-'"));
        }
        Ok(Self { epoch, version: version.to_owned(), release: release.to_owned() })
    }
}

/// rpm's `rpmvercmp`, transcribed from rpmio/rpmvercmp.c (rpm >= 4.15, with `~` and `^`).
fn rpm_vercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && separator(a[i]) {
            i += 1;
        }
        while j < b.len() && separator(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(first), Some(_)) = (ca, cb) else { break };
        let numeric = first.is_ascii_digit();
        let class = |c: &u8| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() };
        let end_a = i + a[i..].iter().take_while(|c| class(c)).count();
        let end_b = j + b[j..].iter().take_while(|c| class(c)).count();
        if end_b == j {
            // Segments of different types: a number is newer than letters.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (mut seg_a, mut seg_b) = (&a[i..end_a], &b[j..end_b]);
        if numeric {
            while seg_a.first() == Some(&b'0') {
                seg_a = &seg_a[1..];
            }
            while seg_b.first() == Some(&b'0') {
                seg_b = &seg_b[1..];
            }
            match seg_a.len().cmp(&seg_b.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match seg_a.cmp(seg_b) {
            Ordering::Equal => {}
            other => return other,
        }
        i = end_a;
        j = end_b;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

epoch_version_impls!(RpmVersion, version, release, rpm_vercmp, rpm_release_cmp);

/// rpm's `compare_values` for the release (lib/rpmvercmp.c, rpm 4.18): a missing release
/// sorts before any release - even one starting with `~`, which `rpmvercmp` would put
/// before the end of a string.
fn rpm_release_cmp(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => rpm_vercmp(a, b),
    }
}

impl PackageVersion {
    /// Compare two versions of the same format; `None` across formats.
    pub fn compare(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Deb(a), Self::Deb(b)) => Some(a.cmp(b)),
            (Self::Rpm(a), Self::Rpm(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl fmt::Display for PackageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deb(v) => v.fmt(f),
            Self::Rpm(v) => v.fmt(f),
        }
    }
}

/// Package format of a node's package manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageFormat {
    /// apt/dpkg.
    Deb,
    /// yum/dnf/rpm.
    Rpm,
}

/// A node's package manager. The same vocabulary for the nodes kubeladder drives and the
/// simulated hosts that imitate them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    #[default]
    Apt,
    Yum,
    Dnf,
    /// dnf 5 (Fedora 41+): `--setopt=disable_excludes=...` instead of `--disableexcludes`.
    Dnf5,
}

impl PackageManager {
    pub const ALL: [Self; 4] = [Self::Apt, Self::Yum, Self::Dnf, Self::Dnf5];

    pub fn format(self) -> PackageFormat {
        match self {
            Self::Apt => PackageFormat::Deb,
            Self::Yum | Self::Dnf | Self::Dnf5 => PackageFormat::Rpm,
        }
    }

    /// The command name on the node.
    pub fn program(self) -> &'static str {
        match self {
            Self::Apt => "apt-get",
            Self::Yum => "yum",
            Self::Dnf | Self::Dnf5 => "dnf",
        }
    }

    /// `apt` (or `apt-get`), `yum`, `dnf`, `dnf5`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "apt" | "apt-get" => Some(Self::Apt),
            "yum" => Some(Self::Yum),
            "dnf" => Some(Self::Dnf),
            "dnf5" => Some(Self::Dnf5),
            _ => None,
        }
    }
}

impl fmt::Display for PackageManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Apt => "apt",
            Self::Yum => "yum",
            Self::Dnf => "dnf",
            Self::Dnf5 => "dnf5",
        })
    }
}

/// The Kubernetes packages kubeladder installs, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KubePackage {
    Kubeadm,
    Kubelet,
    Kubectl,
}

impl KubePackage {
    pub const ALL: [Self; 3] = [Self::Kubeadm, Self::Kubelet, Self::Kubectl];

    pub fn name(self) -> &'static str {
        match self {
            Self::Kubeadm => "kubeadm",
            Self::Kubelet => "kubelet",
            Self::Kubectl => "kubectl",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == text)
    }
}

impl fmt::Display for KubePackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which Kubernetes package repository a node installs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Repository {
    /// `apt.kubernetes.io` / `yum.kubernetes.io`: one repository for every minor; frozen
    /// 2023-09-13 and removed 2024-03-04.
    #[serde(rename = "legacy")]
    Legacy,
    /// `pkgs.k8s.io/core:/stable:/v1.y/{deb,rpm}/`: one repository per minor, from 1.24.
    #[serde(rename = "pkgs.k8s.io")]
    PkgsK8sIo,
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Legacy => "legacy",
            Self::PkgsK8sIo => "pkgs.k8s.io",
        })
    }
}

/// A repository and a package format: what decides the package version string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoStyle {
    pub repository: Repository,
    pub format: PackageFormat,
}

impl RepoStyle {
    pub const LEGACY_APT: Self = Self { repository: Repository::Legacy, format: PackageFormat::Deb };
    pub const LEGACY_YUM: Self = Self { repository: Repository::Legacy, format: PackageFormat::Rpm };
    pub const PKGS_DEB: Self = Self { repository: Repository::PkgsK8sIo, format: PackageFormat::Deb };
    pub const PKGS_RPM: Self = Self { repository: Repository::PkgsK8sIo, format: PackageFormat::Rpm };
    pub const ALL: [Self; 4] = [Self::LEGACY_APT, Self::LEGACY_YUM, Self::PKGS_DEB, Self::PKGS_RPM];

    /// The package revision (deb) or release (rpm) this style appends.
    pub fn revision(self) -> &'static str {
        match (self.repository, self.format) {
            (Repository::Legacy, PackageFormat::Deb) => "00",
            (Repository::Legacy, PackageFormat::Rpm) => "0",
            (Repository::PkgsK8sIo, PackageFormat::Deb) => "1.1",
            (Repository::PkgsK8sIo, PackageFormat::Rpm) => "150500.1.1",
        }
    }

    /// Whether a published revision belongs to this style. pkgs.k8s.io rebuilds bump the
    /// build number (`1.28.14-2.1`, `1.36.2-150500.2.1`), so only the shape is fixed.
    pub fn accepts_revision(self, revision: &str) -> bool {
        let numbers = |s: &str, parts: usize| {
            let split: Vec<&str> = s.split('.').collect();
            split.len() == parts && split.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        match (self.repository, self.format) {
            (Repository::Legacy, PackageFormat::Deb) => revision == "00",
            (Repository::Legacy, PackageFormat::Rpm) => numbers(revision, 1),
            (Repository::PkgsK8sIo, PackageFormat::Deb) => numbers(revision, 2),
            (Repository::PkgsK8sIo, PackageFormat::Rpm) => {
                revision.strip_prefix("150500.").is_some_and(|rest| numbers(rest, 2))
            }
        }
    }

    /// The package version for a released Kubernetes version, e.g. `1.28.15-1.1`.
    /// Pre-releases use `~` so they sort before the release (`1.30.0~rc.1-1.1`).
    pub fn package_version(self, version: &KubeVersion) -> Result<PackageVersion, CoreError> {
        let Some(patch) = version.patch else {
            return Err(CoreError::InvalidVersion {
                input: version.to_string(),
                reason: "a package version needs an exact patch version".to_owned(),
            });
        };
        let mut upstream = format!("{}.{}.{}", version.major, version.minor, patch);
        if let Some(pre) = version.pre {
            upstream.push('~');
            upstream.push_str(&pre.to_string());
        }
        let revision = self.revision().to_owned();
        Ok(match self.format {
            PackageFormat::Deb => PackageVersion::Deb(DebVersion { epoch: 0, upstream, revision }),
            PackageFormat::Rpm => PackageVersion::Rpm(RpmVersion { epoch: 0, version: upstream, release: revision }),
        })
    }

    /// The Kubernetes version and repository style a package version came from:
    /// `1.19.16-00` -> (v1.19.16, legacy apt), `1.28.15-1.1` -> (v1.28.15, pkgs.k8s.io deb).
    pub fn parse_package(format: PackageFormat, input: &str) -> Result<(KubeVersion, Self), CoreError> {
        let not_k8s = |why: &str| CoreError::NotAKubernetesPackage { input: input.to_owned(), reason: why.to_owned() };
        let (upstream, revision) = match format {
            PackageFormat::Deb => {
                let v = DebVersion::parse(input)?;
                (v.upstream, v.revision)
            }
            PackageFormat::Rpm => {
                let v = RpmVersion::parse(input)?;
                (v.version, v.release)
            }
        };
        let style =
            Self::ALL.into_iter().find(|s| s.format == format && s.accepts_revision(&revision)).ok_or_else(|| {
                not_k8s(&format!(
                    "revision {revision:?} is none of the known styles ({})",
                    Self::ALL
                        .iter()
                        .filter(|s| s.format == format)
                        .map(|s| format!("{} {:?}", s.repository, s.revision()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let (core, pre) = match upstream.split_once('~') {
            Some((core, pre)) => (core, Some(pre)),
            None => (upstream.as_str(), None),
        };
        let mut version = KubeVersion::parse(core).map_err(|e| not_k8s(&e.to_string()))?;
        if version.patch.is_none() {
            return Err(not_k8s("the upstream version has no patch number"));
        }
        if let Some(pre) = pre {
            let parsed = KubeVersion::parse(&format!("{core}-{pre}")).map_err(|e| not_k8s(&e.to_string()))?;
            version.pre = parsed.pre;
        }
        Ok((version, style))
    }
}

impl fmt::Display for RepoStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.format {
            PackageFormat::Deb => "deb",
            PackageFormat::Rpm => "rpm",
        };
        write!(f, "{} {}", self.repository, format)
    }
}

impl FromStr for DebVersion {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl FromStr for RpmVersion {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deb(s: &str) -> DebVersion {
        DebVersion::parse(s).unwrap()
    }
    fn rpm(s: &str) -> RpmVersion {
        RpmVersion::parse(s).unwrap()
    }

    #[test]
    fn dpkg_ordering_known_cases() {
        let ascending = ["1.0~rc1", "1.0", "1.0-0.1", "1.0-1", "1.0a", "1.0+b1", "1.0.1", "1.2", "1.10", "1:0.1"];
        for pair in ascending.windows(2) {
            assert!(deb(pair[0]) < deb(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(deb("1.0").cmp(&deb("1.0-0")), Ordering::Equal);
        assert!(deb("1.29.0-1.1") < deb("1.29.10-1.1"));
        assert!(deb("1.28.15-00") < deb("1.28.15-1.1"));
        assert!(deb("1.30.0~rc.1-1.1") < deb("1.30.0-1.1"));
    }

    #[test]
    fn rpm_ordering_known_cases() {
        let ascending = ["1.0~rc1", "1.0", "1.0^post1", "1.0a", "1.0.1", "1.10", "2"];
        for pair in ascending.windows(2) {
            assert!(rpm(pair[0]) < rpm(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(rpm("1.01").cmp(&rpm("1.1")), Ordering::Equal);
        assert!(rpm("1.28.15-0") < rpm("1.28.15-150500.1.1"));
        assert!(rpm("1:1.0") > rpm("2.0"));
    }

    #[test]
    fn rejects_malformed_package_versions() {
        for bad in ["", "a1.0", "1.0-", ":1.0", "x:1.0", "1.0 -1", "1.0-a-b$", "1.0-1_1"] {
            assert!(DebVersion::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(RpmVersion::parse("").is_err());
        // rpm 4.18: a missing release sorts before any, even a `~` one.
        assert_eq!(rpm("5rc").cmp(&rpm("0:5rc-~rc")), Ordering::Less);
        assert_eq!(rpm("5rc-1").cmp(&rpm("5rc")), Ordering::Greater);
        assert!(RpmVersion::parse("1.0-").is_err());
    }

    #[test]
    fn maps_kubernetes_versions_to_each_style_and_back() {
        let cases = [
            (RepoStyle::LEGACY_APT, "v1.19.16", "1.19.16-00"),
            (RepoStyle::LEGACY_YUM, "v1.19.16", "1.19.16-0"),
            (RepoStyle::PKGS_DEB, "v1.28.15", "1.28.15-1.1"),
            (RepoStyle::PKGS_RPM, "v1.28.15", "1.28.15-150500.1.1"),
            (RepoStyle::PKGS_DEB, "v1.30.0-rc.1", "1.30.0~rc.1-1.1"),
        ];
        // Rebuilds bump the build number but keep the style.
        for (style, package) in [(RepoStyle::PKGS_DEB, "1.28.14-2.1"), (RepoStyle::PKGS_RPM, "1.36.2-150500.2.1")] {
            assert_eq!(RepoStyle::parse_package(style.format, package).unwrap().1, style);
        }
        for (style, kube, package) in cases {
            let kube = KubeVersion::parse(kube).unwrap();
            assert_eq!(style.package_version(&kube).unwrap().to_string(), package);
            assert_eq!(RepoStyle::parse_package(style.format, package).unwrap(), (kube, style));
        }
    }

    #[test]
    fn back_mapping_refuses_foreign_packages() {
        let err = RepoStyle::parse_package(PackageFormat::Deb, "1.19.16-2ubuntu1").unwrap_err();
        assert!(err.to_string().contains("\"2ubuntu1\""), "{err}");
        assert!(RepoStyle::parse_package(PackageFormat::Deb, "1.19-00").is_err());
        assert!(RepoStyle::package_version(RepoStyle::PKGS_DEB, &KubeVersion::parse("1.19").unwrap()).is_err());
    }
}
