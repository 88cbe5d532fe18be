//! The etcd gate: whether the etcd cluster is fit for the next change, judged from what
//! `etcdctl member list -w json` and `etcdctl endpoint status --cluster -w json` report.
//!
//! The rule (peers do the same: talos refuses to upgrade with an unhealthy member, stale
//! members blocked Cluster API rollouts, kubernetes-sigs/cluster-api#5509): every member
//! answers, none is a learner, every member belongs to a control-plane node (its peer URL's
//! host is one of their addresses), and a leader is present. A stacked kubeadm member runs
//! on its node's address (kubeadm `cmd/kubeadm/app/phases/etcd/local.go`: peer URL
//! `https://<advertise address>:2380`).

use serde::{Deserialize, Serialize};

/// One member as `member list` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: u64,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

/// One endpoint's answer to `endpoint status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointStatus {
    pub endpoint: String,
    pub member_id: u64,
    pub leader: u64,
    pub db_size: u64,
    pub version: String,
}

/// A member and what the gate found about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberReport {
    pub name: String,
    pub peer_url: String,
    /// The control-plane node it belongs to (by address), if any.
    pub node: Option<String>,
    pub healthy: bool,
    pub leader: bool,
    pub learner: bool,
    pub db_size: Option<u64>,
}

/// The gate's verdict: the members and every reason the cluster is not fit (empty: pass).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub members: Vec<MemberReport>,
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The host part of a URL: `https://10.0.0.1:2380` -> `10.0.0.1` (`[::1]` -> `::1`).
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Judge the cluster: `control_planes` are (node name, address) pairs (address may be
/// empty when unknown; the member's name then decides).
pub fn gate(members: &[Member], statuses: &[EndpointStatus], control_planes: &[(String, String)]) -> Verdict {
    let mut problems = Vec::new();
    let mut reports = Vec::new();
    let leader = statuses.iter().map(|s| s.leader).find(|l| *l != 0);
    for m in members {
        let peer_url = m.peer_urls.first().cloned().unwrap_or_default();
        // kubeadm names a stacked member after its node (`--name=<node>`) on the node's address.
        let node = control_planes
            .iter()
            .find(|(name, ip)| *name == m.name || (!ip.is_empty() && ip == url_host(&peer_url)))
            .map(|(n, _)| n.clone());
        let status = statuses.iter().find(|s| s.member_id == m.id);
        let label =
            if m.name.is_empty() { format!("{:x} ({peer_url})", m.id) } else { format!("{} ({peer_url})", m.name) };
        if status.is_none() {
            problems.push(format!("etcd member {label} is not healthy: it did not answer `endpoint status`"));
        }
        if m.is_learner {
            problems.push(format!("etcd member {label} is a learner: promote it or remove it before upgrading"));
        }
        if node.is_none() {
            problems.push(format!(
                "etcd member {label} matches no control-plane node (a stale member): remove it with `etcdctl member remove {:x}` if its machine is gone",
                m.id
            ));
        }
        reports.push(MemberReport {
            name: m.name.clone(),
            peer_url,
            node,
            healthy: status.is_some(),
            leader: leader == Some(m.id),
            learner: m.is_learner,
            db_size: status.map(|s| s.db_size),
        });
    }
    if members.is_empty() {
        problems.push("etcd reported no members".to_owned());
    } else if leader.is_none_or(|l| !members.iter().any(|m| m.id == l)) {
        problems.push("etcd has no leader".to_owned());
    }
    Verdict { members: reports, problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, name: &str, ip: &str) -> Member {
        Member {
            id,
            name: name.to_owned(),
            peer_urls: vec![format!("https://{ip}:2380")],
            client_urls: vec![format!("https://{ip}:2379")],
            is_learner: false,
        }
    }

    fn status(id: u64, leader: u64) -> EndpointStatus {
        EndpointStatus { endpoint: String::new(), member_id: id, leader, db_size: 4096, version: "3.5.21".into() }
    }

    fn cps() -> Vec<(String, String)> {
        vec![("cp-1".into(), "10.0.0.1".into()), ("cp-2".into(), "10.0.0.2".into())]
    }

    #[test]
    fn healthy_members_pass_and_report_leader_and_size() {
        let v = gate(
            &[member(1, "cp-1", "10.0.0.1"), member(2, "cp-2", "10.0.0.2")],
            &[status(1, 2), status(2, 2)],
            &cps(),
        );
        assert!(v.passed(), "{v:?}");
        assert!(v.members[1].leader && !v.members[0].leader);
        assert_eq!(v.members[0].node.as_deref(), Some("cp-1"));
        assert_eq!(v.members[0].db_size, Some(4096));
    }

    #[test]
    fn unhealthy_stale_learner_and_leaderless_are_named() {
        let mut learner = member(3, "cp-3", "10.0.0.9");
        learner.is_learner = true;
        let v = gate(&[member(1, "cp-1", "10.0.0.1"), member(2, "cp-2", "10.0.0.2"), learner], &[status(1, 0)], &cps());
        let all = v.problems.join("\n");
        assert!(all.contains("cp-2 (https://10.0.0.2:2380) is not healthy"), "{all}");
        assert!(all.contains("cp-3 (https://10.0.0.9:2380) is a learner"), "{all}");
        assert!(all.contains("cp-3 (https://10.0.0.9:2380) matches no control-plane node"), "{all}");
        assert!(all.contains("no leader"), "{all}");
        assert_eq!(url_host("https://[fd00::1]:2380"), "fd00::1");
    }
}
