//! `kubeladder path`: the hop sequence between two versions, with what each hop brings.

use kubeladder_core::package::RepoStyle;
use kubeladder_core::path::{self, PathOptions, UpgradePath};
use kubeladder_core::release::ReleaseData;

use crate::Outcome;
use crate::args::PathArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: &PathArgs) -> Result<Outcome, CliError> {
    let data = ReleaseData::embedded()?;
    let options = PathOptions { allow_prerelease: args.allow_prerelease, allow_downgrade: args.allow_downgrade };
    // A --from typed by hand must be a patch that exists (v1.19.99 never did).
    if !args.from.is_minor_only() {
        path::Target::Version(args.from).resolve(data, options)?;
    }
    let path = path::upgrade_path(data, args.from, args.to, options)?;
    output::emit(args.output, &path, || render(data, &path))?;
    Ok(Outcome::Ok)
}

pub fn render(data: &ReleaseData, path: &UpgradePath) -> String {
    if path.hops.is_empty() {
        return format!("Already at {}: nothing to upgrade.\n", path.from);
    }
    let count = path.hops.len();
    let mut out = format!(
        "Upgrade path {} -> {}: {count} hop{}, one minor at a time.\n\n",
        path.from,
        path.to,
        if count == 1 { "" } else { "s" }
    );
    out += &output::table(
        &["HOP", "FROM", "TO", "ETCD", "COREDNS", "PAUSE", "APT PACKAGE", "YUM PACKAGE"],
        path.hops.iter().enumerate().map(|(i, hop)| {
            let release = data.get(hop.to.minor());
            let field = |f: fn(&kubeladder_core::release::Release) -> &str| release.map_or("?", f).to_owned();
            let (apt, yum) = package_styles(release);
            vec![
                (i + 1).to_string(),
                hop.from.to_string(),
                hop.to.to_string(),
                field(|r| &r.etcd),
                field(|r| &r.coredns),
                field(|r| &r.pause),
                package(apt, hop.to),
                package(yum, hop.to),
            ]
        }),
    );
    for (i, hop) in path.hops.iter().enumerate() {
        out += &format!("\nHop {}: {} -> {}\n", i + 1, hop.from, hop.to);
        if hop.is_downgrade() {
            out += "  - Downgrade: kubeadm allows one minor down; restore from backups if this fails.\n";
        } else if hop.is_patch_only() {
            out += "  - Patch upgrade within the same minor.\n";
            continue;
        }
        let Some(release) = data.get(hop.to.minor()) else {
            out += "  - No release data for this minor (pre-release target).\n";
            continue;
        };
        for item in &release.checklist {
            out += &format!("  - {item}\n");
        }
        if !release.removed_apis.is_empty() {
            let apis: Vec<String> =
                release.removed_apis.iter().map(|a| format!("{} {}", a.group_version, a.kind)).collect();
            out += &format!("  - No longer served: {}.\n", apis.join(", "));
        }
    }
    out
}

/// The styles to show for a minor: legacy while the legacy repository carried it, pkgs.k8s.io after.
fn package_styles(release: Option<&kubeladder_core::release::Release>) -> (RepoStyle, RepoStyle) {
    use kubeladder_core::package::Repository;
    match release {
        Some(r) if !r.repositories.contains(&Repository::PkgsK8sIo) => (RepoStyle::LEGACY_APT, RepoStyle::LEGACY_YUM),
        _ => (RepoStyle::PKGS_DEB, RepoStyle::PKGS_RPM),
    }
}

fn package(style: RepoStyle, version: kubeladder_core::KubeVersion) -> String {
    style.package_version(&version).map_or_else(|_| "-".to_owned(), |v| v.to_string())
}
