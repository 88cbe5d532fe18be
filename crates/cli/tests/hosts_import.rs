//! `kubeladder hosts import --from-ansible` on inventories in kubespray's sample layout (INI
//! and YAML, current and pre-2.15 group names): the real binary writes a hosts file that
//! `kubeladder_node::hosts` reads back to the same connection settings, and says what it left out.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use kubeladder_node::hosts::{Hosts, Transport};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubespray/inventory").join(path)
}

fn import(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubeladder")).args(["hosts", "import"]).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn kubespray_ini_sample_becomes_a_hosts_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hosts.yaml");
    let inventory = fixture("mycluster/inventory.ini");
    let (code, stdout, stderr) =
        import(&["--from-ansible", inventory.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let hosts = Hosts::load(&out).unwrap();
    assert_eq!(hosts.nodes(), ["node1", "node2", "node3", "node4", "node5", "node6"]);
    let node1 = hosts.resolve("node1", Some("10.3.0.1")).unwrap();
    assert_eq!((node1.address.as_str(), node1.port, node1.user.as_str()), ("95.54.0.12", 22, "ubuntu"));
    assert!(node1.sudo && node1.needs_sudo());
    assert_eq!(node1.identity_file, Some(PathBuf::from("~/.ssh/kubespray_ed25519")));
    assert_eq!(node1.transport, Transport::Ssh);
    let node5 = hosts.resolve("node5", None).unwrap();
    assert_eq!((node5.address.as_str(), node5.port), ("95.54.0.16", 2222));
    // What was left out is named, one line each; the password is never copied.
    assert!(stderr.contains("not mapped: node6: ansible_ssh_pass: passwords are not used"), "{stderr}");
    assert!(stderr.contains("not mapped: bastion: in no node group (bastion)"), "{stderr}");
    assert!(stderr.contains("imported 6 node(s) (3 control plane, 3 worker)"), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("hunter2") && !text.contains("203.0.113.7"), "{text}");
    assert!(text.contains("- node: \"node1\"   # control plane"), "{text}");

    // An existing file is not replaced without --force, and stays as it was.
    std::fs::write(&out, "precious\n").unwrap();
    let (code, stdout, stderr) =
        import(&["--from-ansible", inventory.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty() && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
    let (code, _, stderr) =
        import(&["--from-ansible", inventory.to_str().unwrap(), "--out", out.to_str().unwrap(), "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn kubespray_yaml_sample_goes_to_stdout() {
    let inventory = fixture("mycluster/hosts.yaml");
    let (code, stdout, stderr) = import(&["--from-ansible", inventory.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let hosts = Hosts::parse("stdout", &stdout).unwrap();
    // Control planes first; node1 is in both groups and listed once.
    assert_eq!(hosts.nodes(), ["node1", "node2", "node3"]);
    let node1 = hosts.resolve("node1", None).unwrap();
    assert_eq!((node1.address.as_str(), node1.port, node1.user.as_str()), ("10.10.1.3", 2200, "root"));
    let node3 = hosts.resolve("node3", None).unwrap();
    assert_eq!((node3.user.as_str(), node3.port, node3.sudo), ("admin", 2200, false));
    assert!(stderr.contains("imported 3 node(s) (2 control plane, 1 worker)"), "{stderr}");
}

#[test]
fn pre_2_15_group_names_and_unmappable_variables_are_reported() {
    let inventory = fixture("legacy/inventory.ini");
    let (code, stdout, stderr) = import(&["--from-ansible", inventory.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let hosts = Hosts::parse("stdout", &stdout).unwrap();
    let master = hosts.resolve("master1", None).unwrap();
    assert_eq!((master.address.as_str(), master.user.as_str()), ("192.0.2.10", "centos"));
    assert!(stderr.contains("group kube-master: read as kube_control_plane"), "{stderr}");
    assert!(
        stderr.contains("worker1: ansible_ssh_common_args=-o ProxyJump=bastion: no hosts-file equivalent"),
        "{stderr}"
    );
}

#[test]
fn bad_inventories_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("inventory.ini");
    std::fs::write(&bad, "[kube_node]\nnode1 ansible_port=22\nnode2 ansible_port\n").unwrap();
    let (code, stdout, stderr) = import(&["--from-ansible", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains(&format!("{}:3: ", bad.display())) && stderr.contains("key=value"), "{stderr}");
    std::fs::write(&bad, "[etcd]\nnode1\n").unwrap();
    let (code, _, stderr) = import(&["--from-ansible", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no hosts in kube_control_plane or kube_node"), "{stderr}");
    let (code, _, stderr) = import(&["--from-ansible", dir.path().join("missing.ini").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read the inventory"), "{stderr}");
}
