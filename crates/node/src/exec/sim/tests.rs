//! The request and answer handling against a tiny HTTPS server speaking the contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::*;
use crate::exec::{OpOutcome, run_op};
use crate::ops::NodeOp;
use kubeladder_core::package::PackageManager;

const TOKEN: &str = "s3cret";

/// A CA (PEM) and a rustls server config for 127.0.0.1 signed by it.
fn tls(dir: &Path, name: &str) -> (PathBuf, Arc<rustls::ServerConfig>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let ca_file = dir.join(format!("{name}.ca.pem"));
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.subject_alt_names.push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let cert = params.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (ca_file, Arc::new(config))
}

/// What the server saw: (path, authorization, body).
type Seen = Arc<Mutex<Vec<(String, String, serde_json::Value)>>>;

async fn answer(req: Request<Incoming>, seen: Seen) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = req.uri().path().to_owned();
    let auth = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = req.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Ok(reply(400, r#"{"error":"malformed body"}"#));
    };
    seen.lock().unwrap().push((path.clone(), auth.clone(), json.clone()));
    if auth != format!("Bearer {TOKEN}") {
        return Ok(reply(
            401,
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#,
        ));
    }
    let Some(node) = path.strip_prefix("/sim/v1/hosts/").and_then(|p| p.strip_suffix("/exec")) else {
        return Ok(reply(404, r#"{"error":"not found"}"#));
    };
    if node != "cp-1" {
        return Ok(reply(404, &format!(r#"{{"error":"no host named {node}"}}"#)));
    }
    let argv: Vec<String> = serde_json::from_value(json["argv"].clone()).unwrap();
    let argv: Vec<&str> = argv.iter().map(String::as_str).skip_while(|a| ["sudo", "-n", "--"].contains(a)).collect();
    match argv.as_slice() {
        ["drop"] => Err(std::io::Error::other("dropping the connection")),
        ["sleep"] => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(reply(200, r#"{"exit_code":0,"stdout":"","stderr":""}"#))
        }
        ["garbage"] => Ok(reply(200, "not json")),
        ["fail"] => Ok(reply(200, r#"{"exit_code":100,"stdout":"Reading\n","stderr":"E: one\nE: two\n"}"#)),
        _ => {
            let stdout = format!("{}\nsecond line", argv.join(" "));
            Ok(reply(200, &serde_json::json!({"exit_code": 0, "stdout": stdout, "stderr": ""}).to_string()))
        }
    }
}

fn reply(status: u16, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

struct Server {
    address: SocketAddr,
    ca_file: PathBuf,
    seen: Seen,
    _dir: tempfile::TempDir,
}

async fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (ca_file, config) = tls(dir.path(), "sim");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let server_seen = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, seen) = (acceptor.clone(), server_seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = service_fn(move |req| answer(req, seen.clone()));
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    Server { address, ca_file, seen, _dir: dir }
}

impl Server {
    fn target(&self) -> SimTarget {
        SimTarget { url: format!("https://{}", self.address), token: TOKEN.to_owned(), ca_file: self.ca_file.clone() }
    }
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn posts_argv_with_the_token_and_streams_the_answer_lines() {
    let server = serve().await;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink_lines = lines.clone();
    let exec = SimExecutor::new("cp-1", &server.target()).unwrap().with_sink(Arc::new(move |node, stream, line| {
        sink_lines.lock().unwrap().push(format!("{node} {stream:?} {line}"));
    }));
    let out = exec.run(&args(&["apt-get", "install", "kubeadm=1.19.16-00"]), T).await.unwrap();
    assert_eq!((out.exit_code, out.stdout.as_str()), (0, "apt-get install kubeadm=1.19.16-00\nsecond line"));
    let (path, auth, body) = server.seen.lock().unwrap()[0].clone();
    assert_eq!(path, "/sim/v1/hosts/cp-1/exec");
    assert_eq!(auth, "Bearer s3cret");
    assert_eq!(body, serde_json::json!({"argv": ["apt-get", "install", "kubeadm=1.19.16-00"], "timeout_ms": 10000}));
    assert_eq!(*lines.lock().unwrap(), ["cp-1 Stdout apt-get install kubeadm=1.19.16-00", "cp-1 Stdout second line"]);

    // A failing command is a result with its exit code and stderr tail; run_op reports it.
    let out = exec.run(&args(&["fail"]), T).await.unwrap();
    assert_eq!((out.exit_code, out.stderr.as_str()), (100, "E: one\nE: two\n"));
    let e = run_op(&exec, &NodeOp::KubeadmUpgradeNode, PackageManager::Apt, T).await.unwrap();
    assert!(matches!(e, OpOutcome::Done(_)));

    // sudo: the prefix goes over the wire, the simulator strips it.
    let sudo = SimExecutor::new("cp-1", &server.target()).unwrap().with_sudo(true);
    assert_eq!(sudo.run(&args(&["id"]), T).await.unwrap().stdout, "id\nsecond line");
    let (_, _, body) = server.seen.lock().unwrap().last().unwrap().clone();
    assert_eq!(body["argv"], serde_json::json!(["sudo", "-n", "--", "id"]));
}

#[tokio::test]
async fn refusals_name_node_address_and_reason() {
    let server = serve().await;
    let bad_token = SimTarget { token: "wrong".to_owned(), ..server.target() };
    let e = SimExecutor::new("cp-1", &bad_token).unwrap().run(&args(&["true"]), T).await.unwrap_err();
    assert!(matches!(e, NodeError::Auth { .. }), "{e}");
    let message = e.to_string();
    assert!(message.contains("cp-1") && message.contains("401") && message.contains("Unauthorized"), "{message}");
    assert!(message.contains(&server.address.to_string()) && !message.contains("wrong"), "{message}");

    let e = SimExecutor::new("cp-9", &server.target()).unwrap().run(&args(&["true"]), T).await.unwrap_err();
    assert!(matches!(e, NodeError::Sim { .. }), "{e}");
    assert!(e.to_string().contains("404 Not Found: no host named cp-9"), "{e}");
    assert!(e.to_string().contains(&format!("https://{}/sim/v1/hosts/cp-9/exec", server.address)), "{e}");

    let exec = SimExecutor::new("cp-1", &server.target()).unwrap();
    let e = exec.run(&args(&["drop"]), T).await.unwrap_err();
    assert!(e.to_string().contains("closed without an answer"), "{e}");
    let e = exec.run(&args(&["garbage"]), T).await.unwrap_err();
    assert!(e.to_string().contains("not json"), "{e}");
    // The answer is awaited for the command's timeout plus the connect timeout and a grace.
    let exec = exec.with_connect_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let e = exec.run(&args(&["sleep"]), Duration::from_millis(100)).await.unwrap_err();
    assert!(matches!(e, NodeError::CommandTimeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn only_the_simulators_ca_is_trusted() {
    let server = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let (other_ca, _) = tls(dir.path(), "other");
    let target = SimTarget { ca_file: other_ca, ..server.target() };
    let e = SimExecutor::new("cp-1", &target).unwrap().run(&args(&["true"]), T).await.unwrap_err();
    assert!(matches!(e, NodeError::Connect { .. }), "{e}");
    assert!(e.to_string().contains("TLS") && e.to_string().contains("cp-1"), "{e}");
    assert!(server.seen.lock().unwrap().is_empty(), "nothing was sent");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let e = SimExecutor::new("cp-1", &SimTarget { ca_file: empty, ..server.target() }).unwrap_err();
    assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
    let missing = SimTarget { ca_file: dir.path().join("missing.pem"), ..server.target() };
    assert!(matches!(SimExecutor::new("cp-1", &missing).unwrap_err(), NodeError::Io { .. }));
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let server = serve().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let target = SimTarget { url: format!("https://127.0.0.1:{port}"), ..server.target() };
    let e = SimExecutor::new("cp-1", &target).unwrap().run(&args(&["true"]), T).await.unwrap_err();
    assert!(matches!(e, NodeError::Connect { .. }), "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[test]
fn parses_sim_urls() {
    assert_eq!(parse_sim_url("https://127.0.0.1:6443"), Ok(("127.0.0.1".to_owned(), 6443)));
    assert_eq!(parse_sim_url("https://127.0.0.1:6443/"), Ok(("127.0.0.1".to_owned(), 6443)));
    assert_eq!(parse_sim_url("https://[::1]:8443"), Ok(("::1".to_owned(), 8443)));
    assert_eq!(parse_sim_url("https://localhost"), Ok(("localhost".to_owned(), 443)));
    assert!(parse_sim_url("http://127.0.0.1:6443").is_err());
    assert!(parse_sim_url("https://127.0.0.1:6443/api").is_err());
    assert!(parse_sim_url("https://127.0.0.1:99999").is_err());
    assert!(parse_sim_url("https://:80").is_err());
    assert_eq!(path_segment("cp-1.example"), "cp-1.example");
    assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
}
