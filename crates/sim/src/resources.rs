//! The table of served resources. It drives discovery, routing and the store's keys.

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
}

const VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];

impl ResourceDef {
    /// `apiVersion` of the objects (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_owned() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The store key: `pods`, `deployments.apps`.
    pub fn key(&self) -> String {
        if self.group.is_empty() { self.plural.to_owned() } else { format!("{}.{}", self.plural, self.group) }
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
    ResourceDef { group, version, kind, plural, singular, namespaced, short_names, has_status }
}

/// Every resource the simulated apiserver serves.
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
];

/// Groups in discovery order (core group excluded).
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for resource in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !out.contains(&(resource.group, resource.version)) {
            out.push((resource.group, resource.version));
        }
    }
    out
}

/// Find a resource by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_lookups_agree() {
        assert_eq!(find("apps", "v1", "deployments").map(ResourceDef::key).as_deref(), Some(DEPLOYMENTS));
        assert!(by_key(PDBS).is_some());
        assert!(groups().contains(&("policy", "v1")));
    }
}
