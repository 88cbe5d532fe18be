//! A real etcd 3.4 member on loopback with TLS, its certificates made with rcgen at
//! kubeadm's paths (`pki/etcd/{ca,server,healthcheck-client}.{crt,key}`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType};

/// kubeadm's etcd PKI layout: ca, server, healthcheck-client.
pub fn write_pki(dir: &Path) {
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

/// One etcd member: its name, URLs, PKI and data directory. Started and stopped at will,
/// always with the same flags (as a static pod's manifest would).
#[derive(Debug)]
pub struct Etcd {
    pub name: String,
    pub endpoint: String,
    pub peer_url: String,
    pub pki: PathBuf,
    pub data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Etcd {
    /// A member named `name` serving TLS on a free loopback port, with `pki` (see
    /// [`write_pki`]) and `data_dir`; not started.
    pub fn new(name: &str, pki: &Path, data_dir: &Path, log: &Path) -> Self {
        super::require("etcd", "etcd-server");
        super::require("etcdctl", "etcd-client");
        let (client, peer) = (super::free_port("127.0.0.1"), super::free_port("127.0.0.1"));
        Self {
            name: name.to_owned(),
            endpoint: format!("https://127.0.0.1:{client}"),
            peer_url: format!("http://127.0.0.1:{peer}"),
            pki: pki.to_owned(),
            data_dir: data_dir.to_owned(),
            log: log.to_owned(),
            child: None,
        }
    }

    /// Start the member and wait until it answers (20 s at most).
    pub fn start(&mut self) {
        self.stop();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let pki = &self.pki;
        let child = Command::new("etcd")
            .arg(format!("--name={}", self.name))
            .arg(format!("--data-dir={}", self.data_dir.display()))
            .arg(format!("--listen-client-urls={}", self.endpoint))
            .arg(format!("--advertise-client-urls={}", self.endpoint))
            .arg(format!("--listen-peer-urls={}", self.peer_url))
            .arg(format!("--initial-advertise-peer-urls={}", self.peer_url))
            .arg(format!("--initial-cluster={}={}", self.name, self.peer_url))
            .arg(format!("--cert-file={}", pki.join("server.crt").display()))
            .arg(format!("--key-file={}", pki.join("server.key").display()))
            .arg(format!("--trusted-ca-file={}", pki.join("ca.crt").display()))
            .arg("--client-cert-auth")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.etcdctl().args(["endpoint", "health"]).output().unwrap();
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "etcd did not answer within 20 s: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kill the member (as the kubelet does when its manifest goes away).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `etcdctl` against this member with the healthcheck client's certificate.
    pub fn etcdctl(&self) -> Command {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoint))
            .arg(format!("--cacert={}", self.pki.join("ca.crt").display()))
            .arg(format!("--cert={}", self.pki.join("healthcheck-client.crt").display()))
            .arg(format!("--key={}", self.pki.join("healthcheck-client.key").display()));
        cmd
    }

    pub fn put(&self, key: &str, value: &str) {
        super::run(self.etcdctl().args(["put", key, value]));
    }

    /// The value of `key`, `None` when absent.
    pub fn get(&self, key: &str) -> Option<String> {
        let out = super::run(self.etcdctl().args(["get", "--print-value-only", key]));
        let value = out.trim_end_matches('\n');
        (!value.is_empty()).then(|| value.to_owned())
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
    }
}
