//! Fixtures shared by the unit tests.

use crate::path::{PathOptions, Target, UpgradePath, upgrade_path};
use crate::release::ReleaseData;
use crate::version::KubeVersion;

pub fn kv(s: &str) -> KubeVersion {
    KubeVersion::parse(s).unwrap()
}

/// The default path from an exact version to a target (`1.29`, `latest`, `v1.29.3`).
pub fn path(from: &str, to: &str) -> UpgradePath {
    upgrade_path(ReleaseData::embedded().unwrap(), kv(from), Target::parse(to).unwrap(), PathOptions::default())
        .unwrap()
}
