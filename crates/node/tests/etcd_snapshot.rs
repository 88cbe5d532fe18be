#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A real etcd 3.4 member on loopback with TLS (rcgen-made certificates at kubeadm's paths
//! under the host's `/etc/kubernetes/pki/etcd`): the snapshot operation, run over real SSH,
//! produces a file `etcdctl snapshot status` accepts, and a rerun is skipped.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kubeladder_node::exec::{OpOutcome, run_op};
use kubeladder_node::ops::{EtcdTls, NodeOp, PackageManager};
use kubeladder_node::{SshExecutor, SshOptions};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType};
use support::SshHost;

struct Etcd(Child);

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// kubeadm's etcd PKI layout: ca, server, healthcheck-client.
fn write_pki(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "etcd-ca");
    std::fs::write(dir.join("ca.crt"), ca.self_signed(&ca_key).unwrap().pem()).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    for (name, usage) in
        [("server", ExtendedKeyUsagePurpose::ServerAuth), ("healthcheck-client", ExtendedKeyUsagePurpose::ClientAuth)]
    {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.subject_alt_names.push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
}

fn etcdctl(pki: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new("etcdctl");
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .arg(format!("--cacert={}", pki.join("ca.crt").display()))
        .arg(format!("--cert={}", pki.join("healthcheck-client.crt").display()))
        .arg(format!("--key={}", pki.join("healthcheck-client.key").display()));
    cmd
}

#[tokio::test]
async fn snapshot_over_ssh_is_accepted_by_etcdctl() {
    support::require("etcd", "etcd-server");
    support::require("etcdctl", "etcd-client");
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let pki = host.dir.join("kubernetes/pki/etcd");
    write_pki(&pki);

    let (client, peer) = (support::free_port("127.0.0.1"), support::free_port("127.0.0.1"));
    let endpoint = format!("https://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let log = std::fs::File::create(tmp.path().join("etcd.log")).unwrap();
    let _etcd = Etcd(
        Command::new("etcd")
            .arg("--name=kubeladder-test")
            .arg(format!("--data-dir={}", tmp.path().join("etcd-data").display()))
            .arg(format!("--listen-client-urls={endpoint}"))
            .arg(format!("--advertise-client-urls={endpoint}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=kubeladder-test={peer_url}"))
            .arg(format!("--cert-file={}", pki.join("server.crt").display()))
            .arg(format!("--key-file={}", pki.join("server.key").display()))
            .arg(format!("--trusted-ca-file={}", pki.join("ca.crt").display()))
            .arg("--client-cert-auth")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = etcdctl(&pki, &endpoint).args(["put", "/registry/kubeladder", "before-the-hop"]).output().unwrap();
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "etcd did not answer within 20 s: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(tmp.path().join("etcd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let exec = SshExecutor::new(host.host(), SshOptions::default());
    // kubeadm's certificate paths (the defaults), through the host's /etc/kubernetes.
    let op = NodeOp::EtcdSnapshot {
        path: "/etc/kubernetes/snapshots/h1.db".into(),
        tls: EtcdTls { endpoint: endpoint.clone(), ..EtcdTls::default() },
        etcdctl: "etcdctl".into(),
    };
    let pm = PackageManager::Apt;
    let t = Duration::from_secs(60);
    assert!(matches!(run_op(&exec, &op, pm, t).await.unwrap(), OpOutcome::Done(_)));
    let file = host.dir.join("kubernetes/snapshots/h1.db");
    let status = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args(["snapshot", "status", "-w", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["totalKey"].as_u64().unwrap() >= 1, "{status}");
    assert_eq!(run_op(&exec, &op, pm, t).await.unwrap(), OpOutcome::AlreadyDone, "a valid snapshot is not retaken");

    // A corrupt file is not "done".
    std::fs::write(&file, b"not a snapshot").unwrap();
    assert!(matches!(run_op(&exec, &op, pm, t).await.unwrap(), OpOutcome::Done(_)));
}
