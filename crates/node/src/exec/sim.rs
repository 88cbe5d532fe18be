//! Commands on the simulator's hosts: `POST {sim_url}/sim/v1/hosts/{node}/exec` with the
//! bearer token, over HTTPS trusting only the simulator's CA. One HTTP/1.1 request per
//! command on a fresh TLS connection (the endpoint answers when the command is done); the
//! output lines reach the sink after the answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::{Deserialize, Serialize};
use tokio_rustls::TlsConnector;

use super::{BoxFuture, Collector, Executor, LineSink, Stream, shell_join, with_sudo};
use crate::error::NodeError;
use crate::hosts::{SimTarget, parse_sim_url};
use crate::output::CommandOutput;

/// Most bytes of an answer read (stdout is kept up to 8 MiB, stderr's tail is short).
const MAX_ANSWER: usize = 32 << 20;
/// How long past the command's own timeout the answer may take to arrive.
const ANSWER_GRACE: Duration = Duration::from_secs(2);

/// Percent-encode a path segment (node names are DNS names; anything else is escaped).
fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Serialize)]
struct ExecRequest<'a> {
    argv: &'a [String],
    timeout_ms: u64,
}

#[derive(Deserialize)]
struct ExecAnswer {
    exit_code: i32,
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
}

/// The reason in an error answer: a Status' `message`, the contract's `error`, else the body.
fn answer_reason(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    json.as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("error")))
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| text.trim().to_owned(), str::to_owned)
}

/// Runs argv on one simulated host through the simulator's exec endpoint.
pub struct SimExecutor {
    node: String,
    sudo: bool,
    base: String,
    host: String,
    port: u16,
    token: String,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    connect_timeout: Duration,
    sink: Option<LineSink>,
}

impl std::fmt::Debug for SimExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimExecutor").field("node", &self.node).field("url", &self.base).finish_non_exhaustive()
    }
}

impl SimExecutor {
    /// An executor for `node` at the simulator `target`: reads and trusts only its CA file.
    pub fn new(node: impl Into<String>, target: &SimTarget) -> Result<Self, NodeError> {
        let node = node.into();
        let base = target.url.trim_end_matches('/').to_owned();
        let sim_error = |reason: String| NodeError::Sim { node: node.clone(), address: base.clone(), reason };
        let (host, port) = parse_sim_url(&target.url).map_err(|reason| sim_error(format!("sim_url: {reason}")))?;
        let pem =
            std::fs::read(&target.ca_file).map_err(|source| NodeError::Io { path: target.ca_file.clone(), source })?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| sim_error(format!("{}: {e}", target.ca_file.display())))?;
            roots.add(cert).map_err(|e| sim_error(format!("{}: {e}", target.ca_file.display())))?;
        }
        if roots.is_empty() {
            return Err(sim_error(format!("{} holds no PEM certificate", target.ca_file.display())));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| sim_error(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let server_name =
            ServerName::try_from(host.clone()).map_err(|e| sim_error(format!("sim_url host {host:?}: {e}")))?;
        Ok(Self {
            node,
            sudo: false,
            base,
            host,
            port,
            token: target.token.clone(),
            server_name,
            tls: TlsConnector::from(Arc::new(config)),
            connect_timeout: Duration::from_secs(10),
            sink: None,
        })
    }

    /// Prefix every command with `sudo -n --` (the simulator strips it).
    #[must_use]
    pub fn with_sudo(mut self, sudo: bool) -> Self {
        self.sudo = sudo;
        self
    }

    #[must_use]
    pub fn with_sink(mut self, sink: LineSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Budget for TCP connect and TLS handshake together.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The endpoint this executor posts to.
    pub fn exec_url(&self) -> String {
        format!("{}/sim/v1/hosts/{}/exec", self.base, path_segment(&self.node))
    }

    fn sim_error(&self, reason: impl Into<String>) -> NodeError {
        NodeError::Sim { node: self.node.clone(), address: self.exec_url(), reason: reason.into() }
    }

    async fn connect(&self) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, NodeError> {
        let connect_error =
            |reason: String| NodeError::Connect { node: self.node.clone(), address: self.base.clone(), reason };
        let open = async {
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| connect_error(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            self.tls.connect(self.server_name.clone(), tcp).await.map_err(|e| connect_error(format!("TLS: {e}")))
        };
        tokio::time::timeout(self.connect_timeout, open).await.map_err(|_| NodeError::ConnectTimeout {
            node: self.node.clone(),
            address: self.base.clone(),
            timeout: self.connect_timeout,
        })?
    }

    /// Post the command; the status and the body of the answer.
    async fn post(&self, body: Vec<u8>) -> Result<(StatusCode, Bytes), NodeError> {
        let tls = self.connect().await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tls))
            .await
            .map_err(|e| self.sim_error(format!("HTTP: {e}")))?;
        let driver = AbortOnDrop(tokio::spawn(connection));
        let authority = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let request = hyper::Request::post(format!("/sim/v1/hosts/{}/exec", path_segment(&self.node)))
            .header(HOST, authority)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| self.sim_error(format!("HTTP: {e}")))?;
        let response = sender.send_request(request).await.map_err(|e| {
            self.sim_error(format!(
                "the connection closed without an answer ({e}); the command may or may not have run"
            ))
        })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| self.sim_error(format!("reading the answer: {e}")))?
            .to_bytes();
        drop(driver);
        Ok((status, body))
    }

    async fn run_inner(&self, argv: &[String], timeout: Duration) -> Result<CommandOutput, NodeError> {
        let argv = if self.sudo { with_sudo(argv) } else { argv.to_vec() };
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let body = serde_json::to_vec(&ExecRequest { argv: &argv, timeout_ms })
            .map_err(|e| self.sim_error(format!("encoding the request: {e}")))?;
        let answer = tokio::time::timeout(timeout + self.connect_timeout + ANSWER_GRACE, self.post(body)).await;
        let Ok(answer) = answer else {
            return Err(NodeError::CommandTimeout { node: self.node.clone(), command: shell_join(&argv), timeout });
        };
        let (status, body) = answer?;
        match status {
            StatusCode::OK => {
                let answer: ExecAnswer = serde_json::from_slice(&body).map_err(|e| {
                    self.sim_error(format!(
                        "the answer is not {{exit_code, stdout, stderr}}: {e}: {}",
                        answer_reason(&body)
                    ))
                })?;
                let mut collector = Collector::new(&self.node, self.sink.clone());
                collector.push(Stream::Stdout, answer.stdout.as_bytes());
                collector.push(Stream::Stderr, answer.stderr.as_bytes());
                Ok(collector.finish(answer.exit_code))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(NodeError::Auth {
                node: self.node.clone(),
                user: "the bearer token (sim_token)".to_owned(),
                address: self.exec_url(),
                reason: format!("HTTP {status}: {}", answer_reason(&body)),
            }),
            _ => Err(self.sim_error(format!("HTTP {status}: {}", answer_reason(&body)))),
        }
    }
}

/// Stops the connection task when the request is done or abandoned.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Executor for SimExecutor {
    fn node(&self) -> &str {
        &self.node
    }

    fn run<'a>(&'a self, argv: &'a [String], timeout: Duration) -> BoxFuture<'a, Result<CommandOutput, NodeError>> {
        Box::pin(self.run_inner(argv, timeout))
    }
}

#[cfg(test)]
mod tests;
