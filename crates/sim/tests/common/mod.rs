//! Shared helpers: start a simulated cluster in-process and run real kubectl against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use kubeladder_sim::{RunningSim, Scenario, SimCluster, SimConfig, Timings};

pub const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// `NodeOp::EtcdSnapshot`'s etcdctl prefix with kubeadm's certificates.
pub const ETCDCTL: [&str; 7] = [
    "env",
    "ETCDCTL_API=3",
    "etcdctl",
    "--endpoints=https://127.0.0.1:2379",
    "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
    "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
    "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
];

/// The versioned kubectl binaries present on this machine (`kubectl.1.27` ... `kubectl.1.33`).
pub fn kubectls() -> Vec<(u32, PathBuf)> {
    (20..=40)
        .map(|minor| (minor, Path::new(KUBECTL_DIR).join(format!("kubectl.1.{minor}"))))
        .filter(|(_, path)| path.exists())
        .collect()
}

/// The newest and the oldest kubectl available (the same one when only one is there).
pub fn newest_and_oldest() -> Vec<(u32, PathBuf)> {
    let all = kubectls();
    let mut picked = Vec::new();
    if let Some(last) = all.last() {
        picked.push(last.clone());
    }
    if let Some(first) = all.first()
        && all.len() > 1
    {
        picked.push(first.clone());
    }
    picked
}

/// A running sim plus a private HOME with its kubeconfig.
pub struct Env {
    pub sim: RunningSim,
    pub home: tempfile::TempDir,
}

impl Env {
    pub async fn start(scenario: Scenario) -> Self {
        let config = SimConfig {
            speed: 20.0,
            timings: Timings { pod_start_secs: 2.0, pod_ready_secs: 2.0, pod_termination_secs: 2.0 },
            ..SimConfig::new(scenario)
        };
        let sim = SimCluster::start(config).await.expect("sim starts");
        let home = tempfile::tempdir().expect("tempdir");
        sim.write_kubeconfig(&home.path().join("kubeconfig")).expect("kubeconfig written");
        Self { sim, home }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.home.path().join("kubeconfig")
    }

    /// Run kubectl with its own HOME and KUBECONFIG, bounded by `timeout`.
    pub async fn kubectl_timeout(&self, kubectl: &Path, args: &[&str], timeout: Duration) -> Output {
        let child = tokio::process::Command::new(kubectl)
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("KUBECONFIG", self.kubeconfig())
            .env("PATH", "/usr/bin:/bin")
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(timeout, child)
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in {timeout:?}"))
            .expect("kubectl runs")
    }

    pub async fn kubectl(&self, kubectl: &Path, args: &[&str]) -> Output {
        self.kubectl_timeout(kubectl, args, Duration::from_secs(60)).await
    }

    /// Run kubectl and insist on success; returns stdout.
    pub async fn ok(&self, kubectl: &Path, args: &[&str]) -> String {
        let out = self.kubectl(kubectl, args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\nstdout: {}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl create -f` a manifest (the simulator serves no `OpenAPI` document, so without
    /// client-side validation); returns stdout.
    pub async fn create(&self, kubectl: &Path, manifest: &str) -> String {
        let file = self.home.path().join(format!("manifest-{}.yaml", manifest.len()));
        std::fs::write(&file, manifest).expect("manifest written");
        self.ok(kubectl, &["create", "--validate=false", "-f", file.to_str().expect("utf-8 path")]).await
    }

    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

/// Split a kubectl table into rows of whitespace-separated cells (header first).
pub fn rows(table: &str) -> Vec<Vec<String>> {
    table.lines().filter(|l| !l.trim().is_empty()).map(|l| l.split_whitespace().map(str::to_owned).collect()).collect()
}

/// Wait (bounded) until `check` holds.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// One HTTPS request to the simulator, trusting only its CA: (status, body), or the
/// transport error (a dropped connection).
pub async fn https(
    sim: &RunningSim,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    use http_body_util::{BodyExt, Full};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(sim.ca_pem().as_bytes()) {
        roots.add(cert.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(sim.address()).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let tls = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<bytes::Bytes>>(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let mut request = http::Request::builder().method(method).uri(path).header("host", sim.address().to_string());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body.unwrap_or_default().to_owned())))
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    driver.abort();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Run argv on a host through `POST /sim/v1/hosts/{node}/exec`: (exit code, stdout, stderr).
pub async fn exec(sim: &RunningSim, node: &str, argv: &[&str]) -> (i32, String, String) {
    let body = serde_json::json!({"argv": argv, "timeout_ms": 120_000}).to_string();
    let (status, text) = https(sim, "POST", &format!("/sim/v1/hosts/{node}/exec"), Some(sim.token()), Some(&body))
        .await
        .unwrap_or_else(|e| panic!("exec {argv:?} on {node}: {e}"));
    assert_eq!(status, 200, "exec {argv:?} on {node}: {text}");
    let answer: serde_json::Value = serde_json::from_str(&text).expect("exec answers JSON");
    (
        i32::try_from(answer["exit_code"].as_i64().expect("exit_code")).expect("exit code fits"),
        answer["stdout"].as_str().expect("stdout").to_owned(),
        answer["stderr"].as_str().expect("stderr").to_owned(),
    )
}

/// Like [`exec`], insisting on exit 0; returns stdout.
pub async fn exec_ok(sim: &RunningSim, node: &str, argv: &[&str]) -> String {
    let (code, stdout, stderr) = exec(sim, node, argv).await;
    assert_eq!(code, 0, "{argv:?} on {node} failed:\nstdout: {stdout}\nstderr: {stderr}");
    stdout
}
