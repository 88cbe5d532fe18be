//! The table of resources the simulator implements. It drives discovery, routing and the
//! store's keys; *which* of them an apiserver serves at its minor comes from core's release
//! data (`[[api]]` in `releases.toml`, [`kubeladder_core::release::ServedApi`]), the one table
//! the plan's removed-API check reads too.
//!
//! Every kind is stored once, in its hub form ([`RESOURCES`], the newest group/version the
//! simulator implements), and served in every group/version an apiserver of that minor
//! serves ([`ALTERNATES`] name the others; `crate::convert` converts between them), as
//! kube-apiserver stores one object and converts it per request
//! (<https://kubernetes.io/docs/reference/using-api/#api-versioning>: "the API server
//! handles conversion between API versions transparently").

use kubeladder_core::Minor;
use kubeladder_core::release::ReleaseData;

/// One served resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group; "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Whether a `status` subresource exists (status is then kept on main-resource updates).
    pub has_status: bool,
    /// The store key of the hub form this group/version is converted to and stored as;
    /// empty for a hub itself.
    pub stored_as: &'static str,
}

const VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];

impl ResourceDef {
    /// `apiVersion` of the objects (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_owned() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The store key: `pods`, `deployments.apps`; an alternate group/version's is its hub's.
    pub fn key(&self) -> String {
        if !self.stored_as.is_empty() {
            return self.stored_as.to_owned();
        }
        if self.group.is_empty() { self.plural.to_owned() } else { format!("{}.{}", self.plural, self.group) }
    }

    /// The hub this group/version is stored as (itself for a hub).
    pub fn hub(&'static self) -> &'static ResourceDef {
        if self.stored_as.is_empty() { self } else { by_key(self.stored_as).unwrap_or(self) }
    }

    /// Whether an apiserver at `minor` serves this group/version of the kind.
    pub fn served_at(&self, data: &ReleaseData, minor: Minor) -> bool {
        data.serves(minor, &self.api_version(), self.kind)
    }

    pub fn verbs(&self) -> &'static [&'static str] {
        VERBS
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

#[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
const fn def(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    has_status: bool,
) -> ResourceDef {
    ResourceDef { group, version, kind, plural, singular, namespaced, short_names, has_status, stored_as: "" }
}

const fn alternate(hub: &'static str, group: &'static str, version: &'static str, of: &ResourceDef) -> ResourceDef {
    ResourceDef {
        group,
        version,
        kind: of.kind,
        plural: of.plural,
        singular: of.singular,
        namespaced: of.namespaced,
        short_names: of.short_names,
        has_status: of.has_status,
        stored_as: hub,
    }
}

/// Every kind the simulator stores, in its hub group/version.
pub const RESOURCES: &[ResourceDef] = &[
    def("", "v1", "Namespace", "namespaces", "namespace", false, &["ns"], true),
    def("", "v1", "Node", "nodes", "node", false, &["no"], true),
    def("", "v1", "Pod", "pods", "pod", true, &["po"], true),
    def("", "v1", "ConfigMap", "configmaps", "configmap", true, &["cm"], false),
    def("", "v1", "Secret", "secrets", "secret", true, &[], false),
    def("", "v1", "Service", "services", "service", true, &["svc"], true),
    def("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, &["sa"], false),
    def("", "v1", "Event", "events", "event", true, &["ev"], false),
    def("", "v1", "Endpoints", "endpoints", "endpoints", true, &["ep"], false),
    def("apps", "v1", "Deployment", "deployments", "deployment", true, &["deploy"], true),
    def("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, &["rs"], true),
    def("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, &["sts"], true),
    def("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, &["ds"], true),
    def("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", true, &[], false),
    def("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true, &["pdb"], true),
    def("batch", "v1", "Job", "jobs", "job", true, &[], true),
    // Stored and served only (no controller creates Jobs from it): enough for what an
    // upgrade reads - which API version wrote it (managedFields, last-applied).
    def("batch", "v1", "CronJob", "cronjobs", "cronjob", true, &["cj"], true),
    def("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, &[], false),
    // Stored and served only (no ingress controller), so a cluster's Ingresses can be read
    // in every version its apiserver serves.
    def("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", true, &["ing"], true),
];

const PDB_V1: ResourceDef = RESOURCES[14];
const CRONJOB_V1: ResourceDef = RESOURCES[16];
const LEASE_V1: ResourceDef = RESOURCES[17];
const INGRESS_V1: ResourceDef = RESOURCES[18];
const EVENT_V1: ResourceDef = RESOURCES[7];

/// The other group/versions a kind is served in (at the minors core's data says), each
/// converted to and from its hub by `crate::convert`.
pub const ALTERNATES: &[ResourceDef] = &[
    alternate(PDBS, "policy", "v1beta1", &PDB_V1),
    alternate(CRONJOBS, "batch", "v1beta1", &CRONJOB_V1),
    alternate(LEASES, "coordination.k8s.io", "v1beta1", &LEASE_V1),
    alternate(INGRESSES, "extensions", "v1beta1", &INGRESS_V1),
    alternate(INGRESSES, "networking.k8s.io", "v1beta1", &INGRESS_V1),
    alternate(EVENTS, "events.k8s.io", "v1", &EVENT_V1),
    alternate(EVENTS, "events.k8s.io", "v1beta1", &EVENT_V1),
];

/// Every group/version + kind the simulator implements: hubs, then alternates.
pub fn all() -> impl Iterator<Item = &'static ResourceDef> {
    RESOURCES.iter().chain(ALTERNATES)
}

/// What an apiserver at `minor` serves of what the simulator implements.
pub fn served(data: &ReleaseData, minor: Minor) -> impl Iterator<Item = &'static ResourceDef> {
    all().filter(move |d| d.served_at(data, minor))
}

/// Groups an apiserver at `minor` serves, in discovery order (core group excluded), each
/// with its served versions, preferred first (Kubernetes' version priority, as
/// `APIGroup.preferredVersion` reports it).
pub fn groups(data: &ReleaseData, minor: Minor) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for resource in served(data, minor).filter(|r| !r.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == resource.group) {
            Some((_, versions)) if !versions.contains(&resource.version) => versions.push(resource.version),
            Some(_) => {}
            None => out.push((resource.group, vec![resource.version])),
        }
    }
    for (_, versions) in &mut out {
        versions.sort_by(|a, b| kubeladder_core::release::compare_version_priority(a, b));
    }
    out.sort_by_key(|(g, _)| RESOURCES.iter().position(|r| r.group == *g).unwrap_or(usize::MAX));
    out
}

/// Find a resource by group, version and plural among those an apiserver at `minor` serves.
pub fn find(
    data: &ReleaseData,
    minor: Minor,
    group: &str,
    version: &str,
    plural: &str,
) -> Option<&'static ResourceDef> {
    served(data, minor).find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The group/version (`policy/v1`) `pods/eviction` takes at `minor`: the newest served.
pub fn eviction_version(data: &ReleaseData, minor: Minor) -> Option<&'static str> {
    ["policy/v1", "policy/v1beta1"].into_iter().find(|gv| data.serves(minor, gv, "Eviction"))
}

/// Find a resource by kind (the first group that serves it).
pub fn by_kind(kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

/// Look a resource up by its store key (`deployments.apps`).
pub fn by_key(key: &str) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|r| r.key() == key)
}

pub const NODES: &str = "nodes";
pub const PODS: &str = "pods";
pub const NAMESPACES: &str = "namespaces";
pub const CONFIGMAPS: &str = "configmaps";
pub const DEPLOYMENTS: &str = "deployments.apps";
pub const REPLICASETS: &str = "replicasets.apps";
pub const STATEFULSETS: &str = "statefulsets.apps";
pub const DAEMONSETS: &str = "daemonsets.apps";
pub const PDBS: &str = "poddisruptionbudgets.policy";
pub const JOBS: &str = "jobs.batch";
pub const CRONJOBS: &str = "cronjobs.batch";
pub const LEASES: &str = "leases.coordination.k8s.io";
pub const INGRESSES: &str = "ingresses.networking.k8s.io";
pub const EVENTS: &str = "events";

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> &'static ReleaseData {
        ReleaseData::embedded().expect("shipped release data")
    }

    #[test]
    fn keys_and_lookups_agree() {
        let m = Minor::new(1, 25);
        assert_eq!(find(data(), m, "apps", "v1", "deployments").map(ResourceDef::key).as_deref(), Some(DEPLOYMENTS));
        for key in [PDBS, CRONJOBS, LEASES, INGRESSES, EVENTS, JOBS] {
            assert_eq!(by_key(key).map(ResourceDef::key).as_deref(), Some(key));
        }
        for alt in ALTERNATES {
            assert_eq!(alt.hub().kind, alt.kind);
            assert!(alt.hub().stored_as.is_empty());
            assert_ne!(alt.hub().api_version(), alt.api_version());
        }
    }

    #[test]
    fn every_implemented_group_version_is_in_the_release_data() {
        for def in all() {
            assert!(
                data().apis().iter().any(|a| a.group_version == def.api_version() && a.kind == def.kind),
                "{} {} has no [[api]] entry",
                def.api_version(),
                def.kind
            );
        }
    }

    #[test]
    fn served_groups_follow_the_minor() {
        let at = |m: u32| groups(data(), Minor::new(1, m));
        let policy = |m: u32| at(m).into_iter().find(|(g, _)| *g == "policy").map(|(_, v)| v);
        assert_eq!(policy(18), Some(vec!["v1beta1"]));
        assert_eq!(policy(21), Some(vec!["v1", "v1beta1"]));
        assert_eq!(policy(25), Some(vec!["v1"]));
        assert!(at(18).iter().any(|(g, _)| *g == "extensions"));
        assert!(!at(22).iter().any(|(g, _)| *g == "extensions"));
        assert_eq!(eviction_version(data(), Minor::new(1, 21)), Some("policy/v1beta1"));
        assert_eq!(eviction_version(data(), Minor::new(1, 22)), Some("policy/v1"));
    }
}
