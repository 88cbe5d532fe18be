//! The hop sequence from a cluster version to a target: one minor per hop (kubeadm never
//! skips a minor), each hop to the newest known patch of its minor, the last hop to the
//! exact patch when the target names one.

use serde::Serialize;

use crate::error::CoreError;
use crate::release::ReleaseData;
use crate::version::{KubeVersion, Minor};

/// One `kubeadm upgrade apply` worth of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub from: KubeVersion,
    pub to: KubeVersion,
}

impl Hop {
    pub fn is_patch_only(&self) -> bool {
        self.from.minor() == self.to.minor()
    }

    pub fn is_downgrade(&self) -> bool {
        self.to < self.from
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradePath {
    pub from: KubeVersion,
    pub to: KubeVersion,
    pub hops: Vec<Hop>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathOptions {
    /// Accept alpha/beta/rc targets (kubeadm: `--allow-experimental-upgrades`).
    pub allow_prerelease: bool,
    /// Accept a target up to one minor below the cluster (kubeadm's limit).
    pub allow_downgrade: bool,
}

/// What `--to` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The newest patch of the newest minor in the release data.
    Latest,
    /// A minor (`1.23`: its newest patch) or an exact version (`v1.23.4`).
    Version(KubeVersion),
}

impl Target {
    /// `latest`, `1.23`, `v1.23.4`, `v1.30.0-rc.1`.
    pub fn parse(text: &str) -> Result<Self, CoreError> {
        if text.trim().eq_ignore_ascii_case("latest") {
            Ok(Self::Latest)
        } else {
            KubeVersion::parse(text).map(Self::Version)
        }
    }

    /// The exact version this target means.
    pub fn resolve(self, data: &ReleaseData, options: PathOptions) -> Result<KubeVersion, CoreError> {
        let version = match self {
            Self::Latest => return Ok(data.newest().latest_patch),
            Self::Version(v) => v,
        };
        if version.is_prerelease() {
            if !options.allow_prerelease {
                return Err(CoreError::PreReleaseNotAllowed(version));
            }
            // A pre-release of a released minor or of the next, unreleased one.
            if version.minor() > data.newest().minor.next() {
                data.require(version.minor())?;
            }
            return Ok(version);
        }
        let release = data.require(version.minor())?;
        match version.patch {
            None => Ok(release.latest_patch),
            Some(_) if version > release.latest_patch => {
                Err(CoreError::UnknownPatch { version, minor: release.minor, newest: release.latest_patch })
            }
            Some(_) => Ok(version),
        }
    }
}

/// Compute the hops from `from` (the cluster's exact version) to `target`.
pub fn upgrade_path(
    data: &ReleaseData,
    from: KubeVersion,
    target: Target,
    options: PathOptions,
) -> Result<UpgradePath, CoreError> {
    if from.is_minor_only() {
        return Err(CoreError::FromNotExact(from));
    }
    let to = target.resolve(data, options)?;
    if to < from {
        let minors = to.minor().minors_until(from.minor());
        if !options.allow_downgrade {
            let allowed = from.minor().offset(-1).unwrap_or(from.minor());
            return Err(CoreError::Downgrade { from, to, allowed });
        }
        if minors > 1 {
            return Err(CoreError::DowngradeTooFar { from, to, minors });
        }
        return Ok(UpgradePath { from, to, hops: vec![Hop { from, to }] });
    }
    let mut hops = Vec::new();
    let mut current = from;
    if to.minor() == from.minor() {
        if to != from {
            hops.push(Hop { from, to });
        }
        return Ok(UpgradePath { from, to, hops });
    }
    let mut minor: Minor = from.minor().next();
    while minor < to.minor() {
        let next = data.require(minor)?.latest_patch;
        hops.push(Hop { from: current, to: next });
        current = next;
        minor = minor.next();
    }
    hops.push(Hop { from: current, to });
    Ok(UpgradePath { from, to, hops })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> &'static ReleaseData {
        ReleaseData::embedded().unwrap()
    }
    fn kv(s: &str) -> KubeVersion {
        KubeVersion::parse(s).unwrap()
    }
    fn path(from: &str, to: &str, options: PathOptions) -> Result<UpgradePath, CoreError> {
        upgrade_path(data(), kv(from), Target::parse(to).unwrap(), options)
    }
    fn hops(p: &UpgradePath) -> Vec<String> {
        p.hops.iter().map(|h| format!("{}->{}", h.from, h.to)).collect()
    }

    #[test]
    fn one_minor_per_hop_to_newest_patches() {
        let p = path("v1.18.4", "1.23", PathOptions::default()).unwrap();
        assert_eq!(
            hops(&p),
            vec![
                "v1.18.4->v1.19.16",
                "v1.19.16->v1.20.15",
                "v1.20.15->v1.21.14",
                "v1.21.14->v1.22.17",
                "v1.22.17->v1.23.17"
            ]
        );
        assert_eq!(p.to, kv("v1.23.17"));
        for (hop, next) in p.hops.iter().zip(p.hops.iter().skip(1)) {
            assert_eq!(hop.to, next.from);
            assert_eq!(hop.from.minor().next(), hop.to.minor());
        }
    }

    #[test]
    fn exact_target_patch_is_honoured_on_the_last_hop_only() {
        let p = path("v1.18.4", "v1.20.3", PathOptions::default()).unwrap();
        assert_eq!(hops(&p), vec!["v1.18.4->v1.19.16", "v1.19.16->v1.20.3"]);
    }

    #[test]
    fn patch_only_and_no_op() {
        let p = path("v1.18.4", "1.18", PathOptions::default()).unwrap();
        assert_eq!(hops(&p), vec!["v1.18.4->v1.18.20"]);
        assert!(p.hops[0].is_patch_only());
        assert!(path("v1.18.20", "1.18", PathOptions::default()).unwrap().hops.is_empty());
    }

    #[test]
    fn latest_goes_to_the_newest_known_minor() {
        let p = path("v1.30.1", "latest", PathOptions::default()).unwrap();
        assert_eq!(p.to, data().newest().latest_patch);
        assert_eq!(p.hops.last().unwrap().to.minor(), data().newest().minor);
    }

    #[test]
    fn refuses_downgrades_unless_allowed_and_then_only_one_minor() {
        let err = path("v1.23.4", "1.21", PathOptions::default()).unwrap_err();
        assert!(matches!(err, CoreError::Downgrade { .. }), "{err}");
        assert!(err.to_string().contains("--allow-downgrade"));
        let allow = PathOptions { allow_downgrade: true, ..PathOptions::default() };
        assert!(matches!(path("v1.23.4", "1.21", allow), Err(CoreError::DowngradeTooFar { minors: 2, .. })));
        assert_eq!(hops(&path("v1.23.4", "1.22", allow).unwrap()), vec!["v1.23.4->v1.22.17"]);
        // A lower patch of the same minor is a downgrade too.
        assert!(matches!(path("v1.23.4", "v1.23.2", PathOptions::default()), Err(CoreError::Downgrade { .. })));
    }

    #[test]
    fn refuses_unknown_minors_and_patches() {
        let next = data().newest().minor.next().next();
        let err = path("v1.30.1", &next.to_string(), PathOptions::default()).unwrap_err();
        assert!(matches!(err, CoreError::UnknownMinor { .. }), "{err}");
        let err = path("v1.18.4", "v1.19.99", PathOptions::default()).unwrap_err();
        assert!(err.to_string().contains("newest known: v1.19.16"), "{err}");
        assert!(matches!(path("v1.18", "1.19", PathOptions::default()), Err(CoreError::FromNotExact(_))));
    }

    #[test]
    fn prereleases_need_the_flag() {
        let next = data().newest().minor.next();
        let rc = format!("v{next}.0-rc.1");
        let err = path("v1.30.1", &rc, PathOptions::default()).unwrap_err();
        assert!(matches!(err, CoreError::PreReleaseNotAllowed(_)));
        let from = data().newest().latest_patch.to_string();
        let allow = PathOptions { allow_prerelease: true, ..PathOptions::default() };
        let p = path(&from, &rc, allow).unwrap();
        assert_eq!(hops(&p), vec![format!("{from}->{rc}")]);
    }
}
