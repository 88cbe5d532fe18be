//! Scenario files: a built-in shape plus knobs, in YAML.
//!
//! ```yaml
//! shape: ha                  # small | ha | large (default small)
//! nodes: 60                  # large only (default 1000)
//! pods_per_node: 10          # large only (default 30)
//! version: v1.18.20
//! container_runtime: docker://19.3.15
//! package_manager: apt       # apt | yum | dnf | dnf5
//! repository: legacy         # legacy | pkgs.k8s.io (default: legacy before 1.29)
//! cgroup: v2                 # v1 | v2: the hosts' cgroup hierarchy (default v2)
//! legacy_repositories: gone  # gone | available: apt.kubernetes.io and packages.cloud.google.com
//!                            # (default gone, as since 2024-03-04)
//! mirror: mirror.sim.kubeladder.test   # host of a mirror of both layouts, or `none`
//! rebuilt:                   # pkgs.k8s.io versions published at another revision (deb)
//!   v1.30.14: "2.1"
//! node_versions:             # nodes caught at another version
//!   worker-1: v1.17.17
//! objects:                   # created after the built-in ones
//!   - apiVersion: v1
//!     kind: ConfigMap
//!     metadata: {name: settings, namespace: default}
//!     data: {mode: fast}
//! ```
//!
//! Unknown keys, malformed values, nodes the shape does not have and kinds the simulator
//! does not serve are refused with the line and column.

use std::collections::BTreeMap;
use std::path::Path;

use kubeladder_core::KubeVersion;
use kubeladder_core::package::Repository;
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::{Location, MessageFormatter as _, Spanned};

use crate::error::SimError;
use crate::host::PackageManager;
use crate::resources;
use crate::scenario::{Scenario, ScenarioKind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    shape: Option<Spanned<String>>,
    nodes: Option<Spanned<usize>>,
    pods_per_node: Option<Spanned<usize>>,
    version: Option<Spanned<String>>,
    container_runtime: Option<String>,
    package_manager: Option<Spanned<String>>,
    repository: Option<Spanned<String>>,
    cgroup: Option<Spanned<String>>,
    legacy_repositories: Option<Spanned<String>>,
    mirror: Option<Spanned<String>>,
    #[serde(default)]
    rebuilt: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    node_versions: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    objects: Vec<Spanned<Value>>,
}

fn at(location: &Location, message: impl Into<String>) -> SimError {
    SimError::ScenarioFile {
        line: usize::try_from(location.line()).unwrap_or(usize::MAX),
        column: usize::try_from(location.column()).unwrap_or(usize::MAX),
        message: message.into(),
    }
}

fn version(value: &Spanned<String>) -> Result<KubeVersion, SimError> {
    match KubeVersion::parse(&value.value) {
        Ok(v) if v.patch.is_some() && !v.is_prerelease() => Ok(v),
        Ok(_) => Err(at(&value.referenced, format!("{:?} is not a released version such as v1.18.20", value.value))),
        Err(e) => Err(at(&value.referenced, e.to_string())),
    }
}

/// The scenario's package repositories: `repository`, `legacy_repositories`, `mirror`,
/// `rebuilt`.
fn package_world(raw: &RawScenario, scenario: &mut Scenario) -> Result<(), SimError> {
    if let Some(repository) = &raw.repository {
        scenario.repository = Some(match repository.value.as_str() {
            "legacy" => Repository::Legacy,
            "pkgs.k8s.io" => Repository::PkgsK8sIo,
            other => {
                return Err(at(
                    &repository.referenced,
                    format!("unknown repository {other:?} (known: legacy, pkgs.k8s.io)"),
                ));
            }
        });
    }
    let world = &mut scenario.package_world;
    if let Some(legacy) = &raw.legacy_repositories {
        world.legacy_upstream = match legacy.value.as_str() {
            "gone" => false,
            "available" => true,
            other => {
                return Err(at(
                    &legacy.referenced,
                    format!("unknown legacy_repositories {other:?} (known: gone, available)"),
                ));
            }
        };
    }
    if let Some(mirror) = &raw.mirror {
        let host = mirror.value.trim();
        if host.is_empty() || host.contains(['/', ':', ' ']) {
            return Err(at(&mirror.referenced, format!("mirror {host:?} is not a host name (or `none`)")));
        }
        world.mirror = (host != "none").then(|| host.to_owned());
    }
    for (v, revision) in &raw.rebuilt {
        let parsed = KubeVersion::parse(v)
            .ok()
            .filter(|k| k.patch.is_some())
            .ok_or_else(|| at(&revision.referenced, format!("rebuilt: {v:?} is not a version such as v1.30.14")))?;
        let numeric = revision.value.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !numeric || revision.value.split('.').count() != 2 {
            return Err(at(
                &revision.referenced,
                format!("rebuilt: revision {:?} is not a pkgs.k8s.io revision such as \"2.1\"", revision.value),
            ));
        }
        world.rebuilt.insert(parsed, revision.value.clone());
    }
    Ok(())
}

impl Scenario {
    /// Read a scenario file (see [`crate::scenario_file`]).
    pub fn from_file(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path)?;
        Self::from_yaml(&text)
    }

    /// Parse a scenario from YAML; errors name the line and column.
    pub fn from_yaml(text: &str) -> Result<Self, SimError> {
        let raw: RawScenario = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            // The message alone: the location is ours to print, once.
            let message = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet());
            let message = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            SimError::ScenarioFile {
                line: usize::try_from(line).unwrap_or(0),
                column: usize::try_from(column).unwrap_or(0),
                message,
            }
        })?;
        let shape = raw.shape.as_ref().map_or("small", |s| s.value.as_str());
        let kind = match shape {
            "small" | "ha" => {
                if let Some(extra) = raw.nodes.as_ref().or(raw.pods_per_node.as_ref()) {
                    return Err(at(
                        &extra.referenced,
                        format!("nodes and pods_per_node are for shape large, not {shape}"),
                    ));
                }
                if shape == "small" { ScenarioKind::Small } else { ScenarioKind::Ha }
            }
            "large" => ScenarioKind::Large {
                nodes: raw.nodes.as_ref().map_or(1000, |n| n.value),
                pods_per_node: raw.pods_per_node.as_ref().map_or(30, |n| n.value),
            },
            other => {
                let message = format!("unknown shape {other:?} (known: small, ha, large)");
                return Err(raw
                    .shape
                    .as_ref()
                    .map_or_else(|| SimError::Scenario(message.clone()), |s| at(&s.referenced, message.clone())));
            }
        };
        let mut scenario = Scenario::new(kind);
        if let Some(v) = &raw.version {
            scenario = scenario.with_version(version(v)?);
        }
        if let Some(runtime) = raw.container_runtime.clone() {
            scenario.container_runtime = runtime;
        }
        if let Some(pm) = &raw.package_manager {
            scenario.package_manager = PackageManager::parse(&pm.value).ok_or_else(|| {
                at(&pm.referenced, format!("unknown package manager {:?} (known: apt, yum, dnf, dnf5)", pm.value))
            })?;
        }
        if let Some(cgroup) = &raw.cgroup {
            scenario.cgroup_v1 = match cgroup.value.as_str() {
                "v1" => true,
                "v2" => false,
                other => return Err(at(&cgroup.referenced, format!("unknown cgroup {other:?} (known: v1, v2)"))),
            };
        }
        package_world(&raw, &mut scenario)?;
        let names = scenario.node_names();
        for (node, v) in &raw.node_versions {
            if !names.contains(node) {
                let known = if names.len() > 6 { format!("{}, ...", names[..6].join(", ")) } else { names.join(", ") };
                return Err(at(
                    &v.referenced,
                    format!("node_versions: the {shape} shape has no node {node:?} (it has {known})"),
                ));
            }
            scenario.node_versions.insert(node.clone(), version(v)?);
        }
        for object in raw.objects {
            let api_version = object.value.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            let kind = object.value.get("kind").and_then(Value::as_str).unwrap_or_default();
            let name = object.value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            if !resources::all().any(|d| d.api_version() == api_version && d.kind == kind) {
                return Err(at(
                    &object.referenced,
                    format!("objects: the simulator does not serve kind {kind:?} in apiVersion {api_version:?}"),
                ));
            }
            // A cluster at this version can hold only what its apiserver serves.
            let data =
                kubeladder_core::release::ReleaseData::embedded().map_err(|e| SimError::Scenario(e.to_string()))?;
            let minor = scenario.version.minor().clamp(data.oldest().minor, data.newest().minor);
            if !data.serves(minor, api_version, kind) {
                return Err(at(
                    &object.referenced,
                    format!("objects: a {minor} apiserver does not serve {kind} in {api_version}"),
                ));
            }
            if name.is_empty() {
                return Err(at(&object.referenced, format!("objects: a {kind} needs metadata.name")));
            }
            scenario.objects.push(object.value);
        }
        Ok(scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_sources_of_the_world() {
        let today = Scenario::from_yaml("version: v1.18.20\n").unwrap();
        assert!(!today.package_world.legacy_upstream);
        assert_eq!(today.package_world.mirror.as_deref(), Some(crate::host::DEFAULT_MIRROR));
        let s = Scenario::from_yaml("legacy_repositories: available\nmirror: none\nrebuilt:\n  v1.30.14: \"2.1\"\n")
            .unwrap();
        assert!(s.package_world.legacy_upstream && s.package_world.mirror.is_none());
        assert_eq!(s.package_world.rebuilt.get(&KubeVersion::new(1, 30, 14)).map(String::as_str), Some("2.1"));
        let e = Scenario::from_yaml("mirror: https://x/\n").unwrap_err().to_string();
        assert!(e.contains("not a host name"), "{e}");
        let e = Scenario::from_yaml("rebuilt:\n  v1.30.14: two\n").unwrap_err().to_string();
        assert!(e.contains("revision"), "{e}");
    }

    #[test]
    fn the_runtime_follows_the_version_unless_named() {
        let old = Scenario::from_yaml("version: v1.23.17\n").unwrap();
        assert_eq!(old.container_runtime, "docker://19.3.15");
        let new = Scenario::from_yaml("version: v1.24.17\n").unwrap();
        assert_eq!(new.container_runtime, "containerd://1.7.27");
        let named = Scenario::from_yaml("version: v1.28.15\ncontainer_runtime: cri-o://1.28.1\n").unwrap();
        assert_eq!(named.container_runtime, "cri-o://1.28.1");
        let kept = Scenario::new(ScenarioKind::Small).with_version(KubeVersion::new(1, 30, 14));
        assert_eq!(kept.container_runtime, "containerd://1.7.27");
    }

    #[test]
    fn reads_every_knob() {
        let text = "shape: large\nnodes: 12\npods_per_node: 3\nversion: v1.28.15\ncontainer_runtime: containerd://1.6.20\npackage_manager: dnf\nrepository: pkgs.k8s.io\ncgroup: v1\nnode_versions:\n  worker-2: v1.27.16\nobjects:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: settings, namespace: default}\n    data: {mode: fast}\n";
        let scenario = Scenario::from_yaml(text).unwrap();
        assert_eq!(scenario.kind, ScenarioKind::Large { nodes: 12, pods_per_node: 3 });
        assert_eq!(scenario.version, KubeVersion::new(1, 28, 15));
        assert_eq!(scenario.container_runtime, "containerd://1.6.20");
        assert_eq!(scenario.package_manager, PackageManager::Dnf);
        assert_eq!(scenario.repository, Some(Repository::PkgsK8sIo));
        assert!(scenario.cgroup_v1);
        assert!(!Scenario::from_yaml("shape: small\n").unwrap().cgroup_v1);
        let (line, _, message) = refused("shape: small\ncgroup: v3\n");
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("unknown cgroup \"v3\""), "{message}");
        assert_eq!(scenario.node_versions["worker-2"], KubeVersion::new(1, 27, 16));
        assert_eq!(scenario.objects[0]["data"]["mode"], "fast");
        assert_eq!(Scenario::from_yaml("{}\n").unwrap(), Scenario::small());
    }

    fn refused(text: &str) -> (usize, usize, String) {
        match Scenario::from_yaml(text) {
            Err(SimError::ScenarioFile { line, column, message }) => (line, column, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_name_line_and_column() {
        let (line, column, message) = refused("shape: ha\nversoin: v1.19.16\n");
        assert_eq!((line, column), (2, 1), "{message}");
        assert!(message.starts_with("unknown field `versoin`"), "the position is ours to print once: {message}");
        assert!(message.contains("versoin"), "{message}");
        let (line, _, message) = refused("shape: ha\nversion: v1.19\n");
        assert_eq!(line, 2, "{message}");
        let (line, column, message) = refused("shape: small\nnode_versions:\n  worker-9: v1.17.17\n");
        assert_eq!((line, column), (3, 13), "{message}");
        assert!(message.contains("worker-9") && message.contains("cp-1, worker-1, worker-2"), "{message}");
        let (line, _, message) = refused("shape: small\nnodes: 3\n");
        assert_eq!(line, 2, "{message}");
        let (line, _, message) = refused("objects:\n  - apiVersion: v1\n    kind: Gadget\n    metadata: {name: g}\n");
        assert_eq!(line, 2, "{message}");
        let pdb =
            "  - apiVersion: policy/v1\n    kind: PodDisruptionBudget\n    metadata: {name: b, namespace: default}\n";
        let (line, _, message) = refused(&format!("version: v1.18.20\nobjects:\n{pdb}"));
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("a 1.18 apiserver does not serve PodDisruptionBudget in policy/v1"), "{message}");
        assert!(Scenario::from_yaml(&format!("version: v1.21.14\nobjects:\n{pdb}")).is_ok());
        let (line, _, message) = refused("shape: huge\n");
        assert_eq!(line, 1, "{message}");
        let (line, _, message) = refused("package_manager: zypper\n");
        assert_eq!(line, 1, "{message}");
    }
}
