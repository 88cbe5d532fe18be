//! The simulator's own endpoints, on the API's listener and bearer token:
//!
//! - `POST /sim/v1/hosts/{node}/exec` `{"argv": [...], "timeout_ms": N}` -> 200
//!   `{"exit_code", "stdout", "stderr"}` (a failing command is still 200; past `timeout_ms`
//!   the command is killed: exit 124). 404 `{"error"}` for an unknown host, 400 for a
//!   malformed body. A `drop_exec` fault closes the connection without an answer.
//! - `GET /sim/v1/hosts` -> `[{"node", "address", "package_manager"}]`.
//! - `GET|POST|DELETE /sim/v1/faults`: list, add (a JSON fault), clear.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::CommandOutput;
use super::exec::{self, ExecError};
use crate::api::state::{ApiState, Body, full, percent_decode};
use crate::faults::Fault;

/// Close the connection without answering (a `drop_exec` fault).
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a drop_exec fault")
    }
}

impl std::error::Error for DropConnection {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecRequest {
    argv: Vec<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

fn answer(code: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(full(serde_json::to_vec(value).unwrap_or_default()));
    *response.status_mut() = code;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

fn error(code: StatusCode, message: impl Into<String>) -> Response<Body> {
    answer(code, &json!({"error": message.into()}))
}

/// Handle a request under `/sim/v1/` (already authorized).
pub(crate) async fn handle(
    state: &ApiState,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let segments: Vec<String> =
        path.trim_start_matches("/sim/v1/").split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(error(StatusCode::BAD_REQUEST, "cannot read the request body")),
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, ["hosts"]) => Ok(answer(StatusCode::OK, &json!(state.store.lock().hosts.infos()))),
        (&Method::GET, ["hosts", node]) => match state.store.lock().hosts.state(node) {
            Some(host) => Ok(answer(StatusCode::OK, &json!(host))),
            None => Ok(error(StatusCode::NOT_FOUND, format!("no host named {node}"))),
        },
        (&Method::POST, ["hosts", node, "exec"]) => exec_request(state, node, &body).await,
        (&Method::GET, ["faults"]) => Ok(answer(StatusCode::OK, &json!(state.store.lock().faults.list()))),
        (&Method::POST, ["faults"]) => {
            let fault: Fault = match serde_json::from_slice(&body) {
                Ok(fault) => fault,
                Err(e) => return Ok(error(StatusCode::BAD_REQUEST, format!("malformed fault: {e}"))),
            };
            match state.add_fault(fault.clone()) {
                Ok(()) => Ok(answer(StatusCode::CREATED, &json!(fault))),
                Err(e) => Ok(error(StatusCode::BAD_REQUEST, e.to_string())),
            }
        }
        (&Method::DELETE, ["faults"]) => {
            let cleared = state.clear_faults();
            Ok(answer(StatusCode::OK, &json!({"cleared": cleared})))
        }
        _ => Ok(error(StatusCode::NOT_FOUND, format!("no simulator endpoint {method} {path}"))),
    }
}

/// Counts a running command for as long as it lives (also when its future is dropped).
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn exec_request(state: &ApiState, node: &str, body: &Bytes) -> Result<Response<Body>, DropConnection> {
    let request: ExecRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                format!("malformed exec request ({e}); expected {{\"argv\": [\"cmd\", ...], \"timeout_ms\": N}}"),
            ));
        }
    };
    if request.argv.is_empty() {
        return Ok(error(StatusCode::BAD_REQUEST, "argv is empty"));
    }
    if !state.store.lock().hosts.contains(node) {
        return Ok(error(StatusCode::NOT_FOUND, format!("no host named {node}")));
    }
    let _in_flight = InFlight::enter(&state.exec_in_flight);
    let running = exec::run(&state.store, node, &request.argv);
    let result = match request.timeout_ms {
        Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), running).await {
            Ok(result) => result,
            Err(_) => Ok(CommandOutput::fail(
                124,
                format!("kubeladder-sim: the command ran longer than timeout_ms={ms} and was killed\n"),
            )),
        },
        None => running.await,
    };
    match result {
        Ok(out) => Ok(answer(StatusCode::OK, &json!(out))),
        Err(ExecError::NoSuchHost(node)) => Ok(error(StatusCode::NOT_FOUND, format!("no host named {node}"))),
        Err(ExecError::Dropped) => Err(DropConnection),
    }
}
