//! Release data: one record per Kubernetes minor, shipped in `data/releases.toml` and
//! embedded at build time. Validated on load (no gaps, monotonic dates, well-formed
//! versions and API names), so every consumer can rely on its shape.

use std::sync::OnceLock;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::package::Repository;
use crate::version::{KubeVersion, Minor};

const EMBEDDED: &str = include_str!("../data/releases.toml");

/// An API (group/version + kind) whose serving stops at a minor, as the plan's check reads
/// it: derived from the [`ServedApi`] table's `removed` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovedApi {
    /// `extensions/v1beta1`, or `v1` for the core group.
    pub group_version: String,
    pub kind: String,
    /// The group/version to migrate to, e.g. `networking.k8s.io/v1`; `None` when the API
    /// is gone without a successor (`PodSecurityPolicy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

impl RemovedApi {
    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        self.group_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

/// What is known about one minor release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub minor: Minor,
    pub released: Date,
    pub end_of_life: Date,
    pub latest_patch: KubeVersion,
    /// etcd version kubeadm at `latest_patch` deploys, e.g. `3.5.24-0`.
    pub etcd: String,
    /// etcd version kubeadm at `v1.y.0` deployed (history).
    pub etcd_at_dot_zero: String,
    pub coredns: String,
    pub pause: String,
    pub repositories: Vec<Repository>,
    /// APIs whose serving stops at this minor, sorted by group/version and kind: derived from
    /// the `[[api]]` table ([`ReleaseData::apis`]), which is their one home.
    pub removed_apis: Vec<RemovedApi>,
    /// kubeadm configuration API versions (`kubeadm.k8s.io/v1beta2`) kubeadm stops reading
    /// at this minor.
    pub kubeadm_config_removed: Vec<String>,
    pub checklist: Vec<String>,
    pub sources: Vec<String>,
}

impl Release {
    /// Whether the minor receives patches on `date` (released and not past end of life).
    pub fn supported_on(&self, date: Date) -> bool {
        self.released <= date && date <= self.end_of_life
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    release: Vec<RawRelease>,
    #[serde(default)]
    api: Vec<RawApi>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    group_version: String,
    kind: String,
    introduced: Option<String>,
    deprecated: Option<String>,
    removed: Option<String>,
    replacement: Option<String>,
    sources: Vec<String>,
}

/// One group/version + kind and the minors that serve it: the one table both the plan's
/// removed-API check and the simulator's served API surface read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedApi {
    /// `policy/v1beta1`, or `v1` for the core group.
    pub group_version: String,
    pub kind: String,
    /// First minor that serves it; `None`: served by the oldest minor the data knows.
    pub introduced: Option<Minor>,
    /// Minor that marks it deprecated (informational).
    pub deprecated: Option<Minor>,
    /// First minor that no longer serves it; `None`: still served by the newest minor known.
    pub removed: Option<Minor>,
    /// Group/version to migrate to once it is removed.
    pub replacement: Option<String>,
    pub sources: Vec<String>,
}

impl ServedApi {
    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        self.group_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// The version (`v1beta1`).
    pub fn version(&self) -> &str {
        self.group_version.rsplit_once('/').map_or(self.group_version.as_str(), |(_, v)| v)
    }

    /// Whether an apiserver at `minor` serves it.
    pub fn served_at(&self, minor: Minor) -> bool {
        self.introduced.is_none_or(|i| i <= minor) && self.removed.is_none_or(|r| minor < r)
    }
}

/// Kubernetes' version priority within a group (apimachinery's
/// `version.CompareKubeAwareVersionStrings`, which orders a group's versions in discovery):
/// GA before beta before alpha, then the higher number first. `Ordering::Less` means `a` is
/// preferred. Versions that do not parse sort last, by name.
pub fn compare_version_priority(a: &str, b: &str) -> std::cmp::Ordering {
    fn rank(v: &str) -> Option<(u8, u32, u32)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, tail) = rest.split_at(digits);
        let major: u32 = number.parse().ok()?;
        if tail.is_empty() {
            return Some((0, major, 0));
        }
        for (stage, level) in [("beta", 1), ("alpha", 2)] {
            if let Some(n) = tail.strip_prefix(stage) {
                return Some((level, major, n.parse().ok()?));
            }
        }
        None
    }
    match (rank(a), rank(b)) {
        (Some((sa, ma, na)), Some((sb, mb, nb))) => sa.cmp(&sb).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    minor: String,
    released: String,
    end_of_life: String,
    latest_patch: String,
    etcd: String,
    etcd_at_dot_zero: String,
    coredns: String,
    pause: String,
    repositories: Vec<Repository>,
    #[serde(default)]
    kubeadm_config_removed: Vec<String>,
    checklist: Vec<String>,
    sources: Vec<String>,
}

/// The whole release table, sorted by minor, contiguous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseData {
    releases: Vec<Release>,
    apis: Vec<ServedApi>,
}

impl ReleaseData {
    /// The data shipped with this build.
    pub fn embedded() -> Result<&'static Self, CoreError> {
        static DATA: OnceLock<Result<ReleaseData, CoreError>> = OnceLock::new();
        DATA.get_or_init(|| Self::parse(EMBEDDED)).as_ref().map_err(Clone::clone)
    }

    /// Parse and validate a release data file.
    pub fn parse(text: &str) -> Result<Self, CoreError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| CoreError::ReleaseData(e.to_string()))?;
        let mut releases = raw.release.into_iter().map(Release::from_raw).collect::<Result<Vec<_>, _>>()?;
        let apis = raw.api.into_iter().map(ServedApi::from_raw).collect::<Result<Vec<_>, _>>()?;
        for release in &mut releases {
            release.removed_apis = apis
                .iter()
                .filter(|api| api.removed == Some(release.minor))
                .map(|api| RemovedApi {
                    group_version: api.group_version.clone(),
                    kind: api.kind.clone(),
                    replacement: api.replacement.clone(),
                })
                .collect();
            release.removed_apis.sort_by(|a, b| (&a.group_version, &a.kind).cmp(&(&b.group_version, &b.kind)));
        }
        let data = Self { releases, apis };
        data.validate()?;
        Ok(data)
    }

    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// Every group/version + kind the data knows, with the minors that serve it.
    pub fn apis(&self) -> &[ServedApi] {
        &self.apis
    }

    /// The group/versions + kinds an apiserver at `minor` serves.
    pub fn served_at(&self, minor: Minor) -> impl Iterator<Item = &ServedApi> {
        self.apis.iter().filter(move |api| api.served_at(minor))
    }

    /// Whether an apiserver at `minor` serves `kind` in `group_version`.
    pub fn serves(&self, minor: Minor, group_version: &str, kind: &str) -> bool {
        self.served_at(minor).any(|api| api.group_version == group_version && api.kind == kind)
    }

    /// The versions of `group` an apiserver at `minor` serves (any kind), preferred first.
    pub fn group_versions(&self, minor: Minor, group: &str) -> Vec<&str> {
        let mut versions: Vec<&str> =
            self.served_at(minor).filter(|api| api.group() == group).map(ServedApi::version).collect();
        versions.sort_by(|a, b| compare_version_priority(a, b));
        versions.dedup();
        versions
    }

    pub fn get(&self, minor: Minor) -> Option<&Release> {
        let first = self.releases.first()?.minor;
        let index = usize::try_from(first.minors_until(minor)).ok()?;
        self.releases.get(index).filter(|r| r.minor == minor)
    }

    pub fn oldest(&self) -> &Release {
        &self.releases[0]
    }

    pub fn newest(&self) -> &Release {
        &self.releases[self.releases.len() - 1]
    }

    /// Kubernetes ships a minor about every 15 weeks; past this many days after the newest
    /// known minor's release, a newer one has most likely shipped.
    pub const RELEASE_CADENCE_DAYS: i32 = 120;

    /// Whether, on `date`, newer minors than this data knows have probably been released.
    pub fn probably_stale_on(&self, date: Date) -> bool {
        self.newest().released.checked_add(jiff::Span::new().days(Self::RELEASE_CADENCE_DAYS)).is_ok_and(|d| date > d)
    }

    /// `1.18 .. 1.34`, for messages.
    pub fn known_range(&self) -> String {
        format!("{} .. {}", self.oldest().minor, self.newest().minor)
    }

    /// The record for `minor`, or an error saying which minors are known.
    pub fn require(&self, minor: Minor) -> Result<&Release, CoreError> {
        self.get(minor).ok_or_else(|| CoreError::UnknownMinor {
            minor,
            known: self.known_range(),
            hint: if minor > self.newest().minor {
                "it is newer than this kubeladder knows: upgrade kubeladder, or check the version".to_owned()
            } else {
                format!(
                    "it is older than the oldest minor kubeladder knows: kubeladder starts from clusters at {} or later",
                    self.oldest().minor
                )
            },
        })
    }

    /// The minor whose kubeadm stops reading kubeadm configuration `api_version`
    /// (`kubeadm.k8s.io/v1beta2`), when this data knows one.
    pub fn kubeadm_config_removed_in(&self, api_version: &str) -> Option<Minor> {
        self.releases.iter().find(|r| r.kubeadm_config_removed.iter().any(|v| v == api_version)).map(|r| r.minor)
    }

    /// APIs removed by the minors after `from` up to and including `to`, with the minor
    /// that removes each.
    pub fn removed_between(&self, from: Minor, to: Minor) -> impl Iterator<Item = (Minor, &RemovedApi)> {
        self.releases
            .iter()
            .filter(move |r| r.minor > from && r.minor <= to)
            .flat_map(|r| r.removed_apis.iter().map(move |api| (r.minor, api)))
    }

    fn validate(&self) -> Result<(), CoreError> {
        let fail = |minor: Minor, why: String| Err(CoreError::ReleaseData(format!("{minor}: {why}")));
        if self.releases.is_empty() {
            return Err(CoreError::ReleaseData("the file has no [[release]] records".to_owned()));
        }
        for pair in self.releases.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.minor.next() != b.minor {
                return fail(b.minor, format!("follows {} - minors must be contiguous and ascending", a.minor));
            }
            if b.released <= a.released {
                return fail(b.minor, format!("released {} is not after {}'s {}", b.released, a.minor, a.released));
            }
            if b.end_of_life < a.end_of_life {
                return fail(
                    b.minor,
                    format!("end of life {} is before {}'s {}", b.end_of_life, a.minor, a.end_of_life),
                );
            }
        }
        for r in &self.releases {
            if r.end_of_life <= r.released {
                return fail(r.minor, "end_of_life must be after released".to_owned());
            }
            if r.latest_patch.minor() != r.minor || r.latest_patch.is_minor_only() || r.latest_patch.is_prerelease() {
                return fail(r.minor, format!("latest_patch {} must be a release of {}", r.latest_patch, r.minor));
            }
            for (field, value) in [("etcd", &r.etcd), ("etcd_at_dot_zero", &r.etcd_at_dot_zero)] {
                if !is_image_version(value, true) {
                    return fail(r.minor, format!("{field} {value:?} must look like 3.5.24-0"));
                }
            }
            if !is_image_version(r.coredns.strip_prefix('v').unwrap_or(&r.coredns), false) {
                return fail(r.minor, format!("coredns {:?} must look like v1.11.3 or 1.7.0", r.coredns));
            }
            if !is_dotted_numbers(&r.pause) {
                return fail(r.minor, format!("pause {:?} must look like 3.10", r.pause));
            }
            if r.repositories.is_empty() {
                return fail(r.minor, "repositories must name at least one".to_owned());
            }
            if r.checklist.is_empty() || r.checklist.iter().any(|c| c.trim().is_empty()) {
                return fail(r.minor, "checklist must have non-empty items".to_owned());
            }
            if r.sources.is_empty() {
                return fail(r.minor, "sources must say where the values were checked".to_owned());
            }
            for version in &r.kubeadm_config_removed {
                if !version.strip_prefix("kubeadm.k8s.io/").is_some_and(|v| is_group_version(v) && !v.contains('/')) {
                    return fail(
                        r.minor,
                        format!("kubeadm_config_removed {version:?} must look like kubeadm.k8s.io/v1beta2"),
                    );
                }
            }
        }
        self.validate_apis()
    }

    fn validate_apis(&self) -> Result<(), CoreError> {
        let newest = self.newest().minor;
        for (i, api) in self.apis.iter().enumerate() {
            let fail =
                |why: String| Err(CoreError::ReleaseData(format!("[[api]] {} {}: {why}", api.group_version, api.kind)));
            if !is_group_version(&api.group_version) || !api.replacement.as_deref().is_none_or(is_group_version) {
                return fail("malformed group/version".to_owned());
            }
            if !is_kind(&api.kind) {
                return fail("kind must be UpperCamelCase".to_owned());
            }
            if api.replacement.as_deref() == Some(api.group_version.as_str()) {
                return fail("it is its own replacement".to_owned());
            }
            if api.replacement.is_some() && api.removed.is_none() {
                return fail("a replacement needs `removed`".to_owned());
            }
            if api.sources.is_empty() || api.sources.iter().any(|s| s.trim().is_empty()) {
                return fail("sources must say where the entry was checked".to_owned());
            }
            for (field, minor) in
                [("introduced", api.introduced), ("deprecated", api.deprecated), ("removed", api.removed)]
            {
                if minor.is_some_and(|m| m > newest.next()) {
                    return fail(format!("{field} is after the newest minor known ({newest})"));
                }
            }
            if let (Some(introduced), Some(removed)) = (api.introduced, api.removed)
                && removed <= introduced
            {
                return fail(format!("removed {removed} is not after introduced {introduced}"));
            }
            if let Some(removed) = api.removed
                && self.get(removed).is_none()
            {
                return fail(format!("removed {removed} is not a minor of this file"));
            }
            if self.apis[..i].iter().any(|other| other.group_version == api.group_version && other.kind == api.kind) {
                return fail("listed twice".to_owned());
            }
        }
        Ok(())
    }
}

impl Release {
    fn from_raw(raw: RawRelease) -> Result<Self, CoreError> {
        let minor = Minor::parse(&raw.minor)?;
        let date = |field: &str, text: &str| {
            text.parse::<Date>()
                .map_err(|e| CoreError::ReleaseData(format!("{minor}: {field} {text:?} is not a YYYY-MM-DD date: {e}")))
        };
        Ok(Self {
            minor,
            released: date("released", &raw.released)?,
            end_of_life: date("end_of_life", &raw.end_of_life)?,
            latest_patch: KubeVersion::parse(&raw.latest_patch)?,
            etcd: raw.etcd,
            etcd_at_dot_zero: raw.etcd_at_dot_zero,
            coredns: raw.coredns,
            pause: raw.pause,
            repositories: raw.repositories,
            removed_apis: Vec::new(),
            kubeadm_config_removed: raw.kubeadm_config_removed,
            checklist: raw.checklist,
            sources: raw.sources,
        })
    }
}

impl ServedApi {
    fn from_raw(raw: RawApi) -> Result<Self, CoreError> {
        let minor = |field: &str, text: Option<String>| {
            text.map(|t| {
                Minor::parse(&t).map_err(|e| {
                    CoreError::ReleaseData(format!("[[api]] {} {}: {field} {t:?}: {e}", raw.group_version, raw.kind))
                })
            })
            .transpose()
        };
        Ok(Self {
            introduced: minor("introduced", raw.introduced.clone())?,
            deprecated: minor("deprecated", raw.deprecated.clone())?,
            removed: minor("removed", raw.removed.clone())?,
            group_version: raw.group_version,
            kind: raw.kind,
            replacement: raw.replacement,
            sources: raw.sources,
        })
    }
}

fn is_dotted_numbers(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `3.5.24-0` (with the image revision) or `1.7.0`.
fn is_image_version(s: &str, with_revision: bool) -> bool {
    match (s.split_once('-'), with_revision) {
        (Some((v, rev)), true) => is_dotted_numbers(v) && v.split('.').count() == 3 && is_dotted_numbers(rev),
        (None, false) => is_dotted_numbers(s) && s.split('.').count() == 3,
        _ => false,
    }
}

/// `v1`, `apps/v1`, `extensions/v1beta1`, `flowcontrol.apiserver.k8s.io/v1beta3`.
fn is_group_version(s: &str) -> bool {
    let (group, version) = match s.rsplit_once('/') {
        Some((group, version)) => (Some(group), version),
        None => (None, s),
    };
    let group_ok = group.is_none_or(|group| {
        group.split('.').all(|label| {
            !label.is_empty() && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
    });
    let Some(rest) = version.strip_prefix('v') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (number, tail) = rest.split_at(digits);
    let tail_ok = tail.is_empty()
        || ["alpha", "beta"].iter().any(|stage| {
            tail.strip_prefix(stage).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
    group_ok && !number.is_empty() && !number.starts_with('0') && tail_ok
}

fn is_kind(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> &'static ReleaseData {
        ReleaseData::embedded().expect("the shipped release data must validate")
    }

    #[test]
    fn shipped_data_is_valid_and_starts_at_1_18() {
        let d = data();
        assert_eq!(d.oldest().minor, Minor::new(1, 18));
        assert!(d.newest().minor >= Minor::new(1, 33), "newest known minor is {}", d.newest().minor);
        for r in d.releases() {
            assert_eq!(d.get(r.minor), Some(r));
        }
        assert_eq!(d.get(Minor::new(1, 17)), None);
        assert_eq!(d.get(d.newest().minor.next()), None);
    }

    #[test]
    fn shipped_data_matches_facts_checked_by_hand() {
        let d = data();
        let r118 = d.get(Minor::new(1, 18)).unwrap();
        assert_eq!(r118.latest_patch.to_string(), "v1.18.20");
        assert_eq!(r118.etcd_at_dot_zero, "3.4.3-0");
        let r123 = d.get(Minor::new(1, 23)).unwrap();
        assert_eq!(r123.latest_patch.to_string(), "v1.23.17");
        assert!(r123.repositories.contains(&Repository::Legacy));
        let r129 = d.get(Minor::new(1, 29)).unwrap();
        assert_eq!(r129.repositories, vec![Repository::PkgsK8sIo]);
        let removed_122: Vec<_> = d.removed_between(Minor::new(1, 21), Minor::new(1, 22)).collect();
        assert!(removed_122.iter().any(|(_, a)| a.group_version == "extensions/v1beta1" && a.kind == "Ingress"));
        assert!(
            d.removed_between(Minor::new(1, 24), Minor::new(1, 25))
                .any(|(m, a)| m == Minor::new(1, 25) && a.group_version == "batch/v1beta1" && a.kind == "CronJob")
        );
        // kubeadm's configuration API: v1beta1 gone in 1.22, v1beta2 in 1.27, v1beta3 in 1.37.
        let gone = |v: &str| d.kubeadm_config_removed_in(&format!("kubeadm.k8s.io/{v}"));
        assert_eq!(
            [gone("v1beta1"), gone("v1beta2"), gone("v1beta3"), gone("v1beta4")],
            [Some(Minor::new(1, 22)), Some(Minor::new(1, 27)), Some(Minor::new(1, 37)), None]
        );
        assert_eq!(d.get(Minor::new(1, 30)).unwrap().coredns, "v1.11.3");
    }

    #[test]
    fn staleness_follows_the_release_cadence() {
        let d = data();
        let released = d.newest().released;
        assert!(!d.probably_stale_on(released));
        assert!(!d.probably_stale_on(released.checked_add(jiff::Span::new().days(120)).unwrap()));
        assert!(d.probably_stale_on(released.checked_add(jiff::Span::new().days(121)).unwrap()));
    }

    #[test]
    fn support_status_follows_dates() {
        let r = data().get(Minor::new(1, 18)).unwrap();
        assert!(r.supported_on(r.released));
        assert!(r.supported_on(r.end_of_life));
        assert!(!r.supported_on(r.end_of_life.tomorrow().unwrap()));
        assert!(!r.supported_on(r.released.yesterday().unwrap()));
    }

    const GOOD: &str = r#"
[[release]]
minor = "1.18"
released = "2020-03-25"
end_of_life = "2021-06-18"
latest_patch = "v1.18.20"
etcd = "3.4.3-0"
etcd_at_dot_zero = "3.4.3-0"
coredns = "1.6.7"
pause = "3.2"
repositories = ["legacy"]
checklist = ["Do it."]
sources = ["here"]
"#;

    const API: &str = r#"
[[api]]
group_version = "extensions/v1beta1"
kind = "Ingress"
removed = "1.19"
replacement = "networking.k8s.io/v1"
sources = ["guide"]
"#;

    fn with_second(edit: &str) -> String {
        let second = GOOD
            .replace("\"1.18\"", "\"1.19\"")
            .replace("2020-03-25", "2020-08-26")
            .replace("2021-06-18", "2021-10-28")
            .replace("v1.18.20", "v1.19.16");
        let mut second = second + API;
        for pair in edit.split(';').filter(|p| !p.is_empty()) {
            let (from, to) = pair.split_once("=>").unwrap();
            second = second.replace(from, to);
        }
        format!("{GOOD}{second}")
    }

    #[test]
    fn validation_accepts_a_good_file() {
        assert_eq!(ReleaseData::parse(&with_second("")).unwrap().releases().len(), 2);
    }

    #[test]
    fn validation_rejects_each_kind_of_defect() {
        let cases = [
            ("\"1.19\"=>\"1.20\"", "contiguous"),
            ("2020-08-26=>2020-01-01", "not after"),
            ("2021-10-28=>2021-01-01", "end of life"),
            ("v1.19.16=>v1.20.1", "latest_patch"),
            ("etcd = \"3.4.3-0\"=>etcd = \"3.4\"", "etcd"),
            ("coredns = \"1.6.7\"=>coredns = \"x\"", "coredns"),
            ("pause = \"3.2\"=>pause = \"3.x\"", "pause"),
            ("repositories = [\"legacy\"]=>repositories = []", "repositories"),
            ("checklist = [\"Do it.\"]=>checklist = []", "checklist"),
            ("sources = [\"here\"]=>sources = []", "sources"),
            ("extensions/v1beta1=>extensions/beta1", "group/version"),
            ("removed = \"1.19\"=>removed = \"1.17\"", "not a minor of this file"),
            ("removed = \"1.19\"=>removed = \"1.19\"\nintroduced = \"1.19\"", "not after introduced"),
            ("removed = \"1.19\"\n=>", "needs `removed`"),
            ("sources = [\"guide\"]=>sources = []", "sources must say"),
            ("kind = \"Ingress\"\n=>kind = \"Ingress\"\nbogus = 1\n", "unknown field"),
            ("kind = \"Ingress\"=>kind = \"ingress\"", "UpperCamelCase"),
            ("networking.k8s.io/v1\"=>extensions/v1beta1\"", "own replacement"),
            ("pause = \"3.2\"=>pause = \"3.2\"\nunknown = 1", "unknown field"),
            ("pause = \"3.2\"=>pause = \"3.2\"\nkubeadm_config_removed = [\"v1beta2\"]", "kubeadm.k8s.io/v1beta2"),
            (
                "pause = \"3.2\"=>pause = \"3.2\"\nkubeadm_config_removed = [\"kubeadm.k8s.io/beta2\"]",
                "kubeadm_config_removed",
            ),
        ];
        for (edit, expected) in cases {
            let err = ReleaseData::parse(&with_second(edit)).unwrap_err().to_string();
            assert!(err.contains(expected), "{edit}: {err}");
        }
    }

    #[test]
    fn removed_apis_are_derived_from_the_api_table() {
        let d = ReleaseData::parse(&with_second("")).unwrap();
        assert!(d.releases()[0].removed_apis.is_empty());
        assert_eq!(d.releases()[1].removed_apis.len(), 1);
        assert_eq!(d.releases()[1].removed_apis[0].replacement.as_deref(), Some("networking.k8s.io/v1"));
        assert!(d.serves(Minor::new(1, 18), "extensions/v1beta1", "Ingress"));
        assert!(!d.serves(Minor::new(1, 19), "extensions/v1beta1", "Ingress"));
    }

    #[test]
    fn shipped_served_apis_match_the_deprecation_guide() {
        let d = data();
        let (m118, m121, m122, m125) = (Minor::new(1, 18), Minor::new(1, 21), Minor::new(1, 22), Minor::new(1, 25));
        // 1.18: PDB and Eviction only as policy/v1beta1, CronJob only as batch/v1beta1.
        assert_eq!(d.group_versions(m118, "policy"), ["v1beta1"]);
        assert_eq!(d.group_versions(m118, "batch"), ["v1", "v1beta1"]);
        assert!(!d.serves(m118, "batch/v1", "CronJob"));
        assert!(d.serves(m118, "extensions/v1beta1", "Ingress"));
        assert!(!d.serves(m118, "networking.k8s.io/v1", "Ingress"));
        assert!(d.serves(Minor::new(1, 19), "networking.k8s.io/v1", "Ingress"));
        // 1.21: policy/v1 budgets, Eviction still v1beta1 only.
        assert_eq!(d.group_versions(m121, "policy"), ["v1", "v1beta1"]);
        assert!(!d.serves(m121, "policy/v1", "Eviction"));
        assert!(d.serves(m122, "policy/v1", "Eviction"));
        assert!(!d.serves(m122, "extensions/v1beta1", "Ingress"));
        assert!(!d.serves(m122, "coordination.k8s.io/v1beta1", "Lease"));
        assert!(d.serves(Minor::new(1, 24), "policy/v1beta1", "PodDisruptionBudget"));
        assert!(!d.serves(m125, "policy/v1beta1", "PodDisruptionBudget"));
        assert!(!d.serves(m125, "batch/v1beta1", "CronJob"));
        assert!(d.serves(d.newest().minor, "v1", "Pod"));
    }

    #[test]
    fn version_priority_is_kubernetes_order() {
        let mut versions = vec!["v1beta1", "v1alpha1", "v2", "v1", "v2beta1", "v10beta1", "foo", "v1beta2"];
        versions.sort_by(|a, b| compare_version_priority(a, b));
        assert_eq!(versions, ["v2", "v1", "v10beta1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn group_version_grammar() {
        for ok in ["v1", "apps/v1", "extensions/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta3", "x/v2alpha1"] {
            assert!(is_group_version(ok), "{ok}");
        }
        for bad in ["", "apps/", "apps/1", "apps/v1gamma1", "Apps/v1", "apps/v01", "apps/v1beta", "/v1"] {
            assert!(!is_group_version(bad), "{bad}");
        }
    }
}
