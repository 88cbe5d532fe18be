//! Kubernetes versions: `KubeVersion` (`v1.19.3`, `v1.30.0-rc.1`, or a bare minor `1.19`)
//! and `Minor` (`1.19`), the unit every skew and path rule works in.
//!
//! Kubernetes versions are not semver in practice: the pre-release kinds are exactly
//! `alpha`, `beta` and `rc`, each with a number, and a version may be given without a
//! patch to mean "that minor line". Parsing is strict; every error names the value.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CoreError;

/// A minor release line such as `1.19`. Ordering is numeric (`1.9 < 1.10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minor {
    pub major: u32,
    pub minor: u32,
}

impl Minor {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// The minor `n` releases later (`n` may be negative). `None` when that would fall
    /// below `x.0` — Kubernetes has never crossed a major, so arithmetic stays in one major.
    pub fn offset(self, n: i64) -> Option<Self> {
        let minor = i64::from(self.minor).checked_add(n)?;
        u32::try_from(minor).ok().map(|minor| Self { major: self.major, minor })
    }

    /// The next minor (`1.19` -> `1.20`).
    #[must_use]
    pub fn next(self) -> Self {
        Self { major: self.major, minor: self.minor.saturating_add(1) }
    }

    /// Signed number of minors from `self` to `other` (`1.18.minors_until(1.23) == 5`).
    /// Minors of different majors are treated as far apart (`i64::MAX`/`MIN`).
    pub fn minors_until(self, other: Self) -> i64 {
        match self.major.cmp(&other.major) {
            Ordering::Equal => i64::from(other.minor) - i64::from(self.minor),
            Ordering::Less => i64::MAX,
            Ordering::Greater => i64::MIN,
        }
    }

    /// Parse `1.19`, `v1.19`, or a full version (`v1.19.3`, whose minor is taken).
    pub fn parse(text: &str) -> Result<Self, CoreError> {
        KubeVersion::parse(text).map(|v| v.minor())
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Minor {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Pre-release kinds Kubernetes publishes, in release order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreKind {
    Alpha,
    Beta,
    Rc,
}

impl PreKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Alpha => "alpha",
            Self::Beta => "beta",
            Self::Rc => "rc",
        }
    }
}

/// A pre-release tag such as `rc.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PreRelease {
    pub kind: PreKind,
    pub number: u32,
}

impl fmt::Display for PreRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.as_str(), self.number)
    }
}

/// A Kubernetes version. `patch == None` means the minor line itself (`v1.19`), which
/// sorts before every patch of that line. Pre-releases sort before their release:
/// `v1.30.0-alpha.2 < v1.30.0-beta.0 < v1.30.0-rc.1 < v1.30.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
    pub pre: Option<PreRelease>,
}

impl KubeVersion {
    /// A released version `vMAJOR.MINOR.PATCH`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self { major, minor, patch: Some(patch), pre: None }
    }

    /// Parse `v1.19.3`, `1.19.3`, `1.19`, `v1.30.0-rc.1`, `v1.30.0-alpha.2`, `v1.30.0-beta.0`.
    pub fn parse(text: &str) -> Result<Self, CoreError> {
        let bad = |why: &str| CoreError::InvalidVersion { input: text.to_owned(), reason: why.to_owned() };
        let trimmed = text.trim();
        let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
        if body.is_empty() {
            return Err(bad("it is empty"));
        }
        let (core, pre) = match body.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (body, None),
        };
        let mut parts = core.split('.');
        let major = parse_number(parts.next(), "major").map_err(|e| bad(&e))?;
        let minor = parse_number(parts.next(), "minor").map_err(|e| bad(&e))?;
        let patch = match parts.next() {
            None => None,
            Some(p) => Some(parse_number(Some(p), "patch").map_err(|e| bad(&e))?),
        };
        if parts.next().is_some() {
            return Err(bad("it has more than three numeric parts"));
        }
        let pre = match pre {
            None => None,
            Some(pre) => {
                if patch.is_none() {
                    return Err(bad("a pre-release needs a patch number, as in v1.30.0-rc.1"));
                }
                Some(parse_pre(pre).map_err(|e| bad(&e))?)
            }
        };
        Ok(Self { major, minor, patch, pre })
    }

    pub fn minor(&self) -> Minor {
        Minor::new(self.major, self.minor)
    }

    /// True for `v1.19` (no patch given).
    pub fn is_minor_only(&self) -> bool {
        self.patch.is_none()
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }

    /// The version without its `v` prefix, as package versions spell it (`1.19.3`).
    pub fn bare(&self) -> String {
        let s = self.to_string();
        s.strip_prefix('v').map(str::to_owned).unwrap_or(s)
    }

    fn sort_key(&self) -> (u32, u32, Option<u32>, (u8, Option<PreRelease>)) {
        // A release sorts after all its pre-releases: map "no pre-release" to the top.
        let pre = match self.pre {
            Some(p) => (0, Some(p)),
            None => (1, None),
        };
        (self.major, self.minor, self.patch, pre)
    }
}

fn parse_number(part: Option<&str>, what: &str) -> Result<u32, String> {
    let part = part.ok_or_else(|| format!("the {what} number is missing (expected MAJOR.MINOR[.PATCH])"))?;
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the {what} part {part:?} is not a number"));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(format!("the {what} part {part:?} has a leading zero"));
    }
    part.parse().map_err(|_| format!("the {what} part {part:?} is too large"))
}

fn parse_pre(pre: &str) -> Result<PreRelease, String> {
    let (kind, number) =
        pre.split_once('.').ok_or_else(|| format!("pre-release {pre:?} must look like alpha.N, beta.N or rc.N"))?;
    let kind = match kind {
        "alpha" => PreKind::Alpha,
        "beta" => PreKind::Beta,
        "rc" => PreKind::Rc,
        other => return Err(format!("pre-release kind {other:?} is not one of alpha, beta, rc")),
    };
    let number = parse_number(Some(number), "pre-release")?;
    Ok(PreRelease { kind, number })
}

impl Ord for KubeVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for KubeVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)?;
        if let Some(patch) = self.patch {
            write!(f, ".{patch}")?;
        }
        if let Some(pre) = self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

impl FromStr for KubeVersion {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

macro_rules! serde_as_string {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_string!(KubeVersion);
serde_as_string!(Minor);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> KubeVersion {
        KubeVersion::parse(s).unwrap()
    }

    #[test]
    fn parses_every_spelling_the_issue_names() {
        assert_eq!(v("v1.19.3"), KubeVersion::new(1, 19, 3));
        assert_eq!(v("1.19.3"), KubeVersion::new(1, 19, 3));
        assert_eq!(v("1.19"), KubeVersion { major: 1, minor: 19, patch: None, pre: None });
        assert_eq!(v("v1.30.0-rc.1").pre, Some(PreRelease { kind: PreKind::Rc, number: 1 }));
        assert_eq!(v("v1.30.0-alpha.2").pre, Some(PreRelease { kind: PreKind::Alpha, number: 2 }));
        assert_eq!(v("v1.30.0-beta.0").pre, Some(PreRelease { kind: PreKind::Beta, number: 0 }));
    }

    #[test]
    fn prints_canonically() {
        assert_eq!(v("1.19.3").to_string(), "v1.19.3");
        assert_eq!(v("1.19").to_string(), "v1.19");
        assert_eq!(v(" v1.30.0-rc.1 ").to_string(), "v1.30.0-rc.1");
        assert_eq!(v("1.19.3").bare(), "1.19.3");
    }

    #[test]
    fn rejects_malformed_versions_with_the_value_named() {
        for bad in [
            "",
            "v",
            "1",
            "1.",
            "1.x",
            "v1.19.3.4",
            "1.19.03",
            "1.19.3-",
            "1.19.3-gamma.1",
            "1.19.3-rc",
            "1.19-rc.1",
            "01.19",
            "1.19.3-rc.x",
            "latest",
            "1.-1",
        ] {
            let err = KubeVersion::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{:?}", bad.trim())), "{bad}: {err}");
        }
    }

    #[test]
    fn orders_prereleases_before_the_release_and_minor_only_first() {
        let order = [
            "v1.9.9",
            "v1.10",
            "v1.10.0-alpha.0",
            "v1.10.0-alpha.2",
            "v1.10.0-alpha.10",
            "v1.10.0-beta.0",
            "v1.10.0-rc.1",
            "v1.10.0",
            "v1.10.1",
            "v1.10.10",
            "v1.11.0",
        ];
        for pair in order.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn minor_arithmetic() {
        let m = Minor::new(1, 18);
        assert_eq!(m.offset(5), Some(Minor::new(1, 23)));
        assert_eq!(m.offset(-18), Some(Minor::new(1, 0)));
        assert_eq!(m.offset(-19), None);
        assert_eq!(m.next(), Minor::new(1, 19));
        assert_eq!(m.minors_until(Minor::new(1, 23)), 5);
        assert_eq!(Minor::new(1, 23).minors_until(m), -5);
        assert!(Minor::new(1, 9) < Minor::new(1, 10));
        assert_eq!(Minor::parse("v1.29.4").unwrap(), Minor::new(1, 29));
        assert_eq!(Minor::new(1, 29).to_string(), "1.29");
    }

    #[test]
    fn serde_round_trips_as_strings() {
        let json = serde_json::to_string(&v("1.30.0-rc.1")).unwrap();
        assert_eq!(json, "\"v1.30.0-rc.1\"");
        let back: KubeVersion = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v("v1.30.0-rc.1"));
        assert!(serde_json::from_str::<KubeVersion>("\"1.x\"").is_err());
    }

    fn arb_version() -> impl Strategy<Value = KubeVersion> {
        let pre = prop_oneof![
            Just(None),
            (0..3u8, 0..12u32).prop_map(|(k, n)| Some(PreRelease {
                kind: [PreKind::Alpha, PreKind::Beta, PreKind::Rc][usize::from(k)],
                number: n,
            })),
        ];
        (1..3u32, 0..40u32, proptest::option::of(0..30u32), pre).prop_map(|(major, minor, patch, pre)| KubeVersion {
            major,
            minor,
            patch,
            pre: if patch.is_some() { pre } else { None },
        })
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(ver in arb_version()) {
            prop_assert_eq!(KubeVersion::parse(&ver.to_string()).unwrap(), ver);
            prop_assert_eq!(KubeVersion::parse(&ver.bare()).unwrap(), ver);
        }

        #[test]
        fn order_is_total_and_consistent_with_eq(a in arb_version(), b in arb_version()) {
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        }

        #[test]
        fn minor_order_agrees_with_version_order(a in arb_version(), b in arb_version()) {
            if a.minor() < b.minor() { prop_assert!(a < b); }
        }
    }
}
