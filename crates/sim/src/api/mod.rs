//! The HTTPS API: TLS accept loop, bearer-token auth, routing and the REST verbs.

pub mod discovery;
pub mod patch;
mod protobuf;
pub mod selectors;
pub mod state;
pub mod table;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use kubeladder_core::release::ReleaseData;
use kubeladder_core::{KubeVersion, Minor};

use crate::convert;
use crate::host::exec_api::{self, DropConnection};
use crate::lifecycle::{self, Propagation};
use crate::resources::{self, ResourceDef};
use crate::status::ApiError;
use crate::store::{Store, StoreInner, name_of, namespace_of, rv_of};
use crate::util::{get_path, str_at};
use selectors::{FieldSelector, LabelSelector};
pub use state::{ApiState, RequestCounts};
pub(crate) use state::{Body, full, percent_decode};

fn json_response(code: u16, value: &Value) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response.headers_mut().insert("audit-id", header::HeaderValue::from_static("00000000-0000-0000-0000-000000000000"));
    response
}

fn error_response(err: &ApiError) -> Response<Body> {
    json_response(err.code, &err.to_status())
}

/// Serve HTTPS on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, acceptor: TlsAcceptor, state: Arc<ApiState>) {
    let mut shutdown = state.shutdown.clone();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let state = state.clone();
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { handle(&state, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// A request aimed at a resource.
#[derive(Debug)]
struct Target {
    def: &'static ResourceDef,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_target(surface: Surface, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let Surface { data, minor } = surface;
    let namespaced_path = rest.len() >= 3
        && rest[0] == "namespaces"
        && resources::find(data, minor, group, version, rest[2]).is_some_and(|d| d.namespaced);
    let (namespace, rest) = if namespaced_path { (Some(rest[1].to_owned()), &rest[2..]) } else { (None, rest) };
    let def = resources::find(data, minor, group, version, rest.first()?)?;
    Some(Target {
        def,
        namespace,
        name: rest.get(1).map(|s| (*s).to_owned()),
        sub: rest.get(2).map(|s| (*s).to_owned()),
    })
}

fn current_apiserver_version(store: &Store) -> String {
    crate::host::apiserver_version(&store.lock())
}

/// What the apiserver answering now serves: core's release data at its minor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Surface {
    pub data: &'static ReleaseData,
    pub minor: Minor,
}

/// The served API surface of the apiserver that answers: the one [`crate::host::apiserver_version`]
/// names. The simulator has one endpoint; while apiservers of two versions run (during a
/// control-plane hop) it answers as the first control-plane node's apiserver by name - the
/// one kubeadm upgrades first - so discovery and requests change together, at the moment
/// that node's kube-apiserver manifest names the new version. A version outside the data's
/// range is served as the nearest known minor.
pub(crate) fn surface(inner: &StoreInner) -> Result<Surface, ApiError> {
    let data = ReleaseData::embedded()
        .map_err(|e| ApiError::new(500, "InternalError", format!("release data does not load: {e}")))?;
    let version = crate::host::apiserver_version(inner);
    let minor = KubeVersion::parse(&version).map_or(data.oldest().minor, |v| v.minor());
    let minor = minor.clamp(data.oldest().minor, data.newest().minor);
    Ok(Surface { data, minor })
}

async fn handle(state: &ApiState, req: Request<Incoming>) -> Result<Response<Body>, DropConnection> {
    let path = req.uri().path().to_owned();
    let query = parse_query(req.uri().query());
    let open = matches!(path.as_str(), "/healthz" | "/livez" | "/readyz" | "/version");
    if !open {
        let authorized = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|token| token.trim() == state.token);
        if !authorized {
            return Ok(error_response(&ApiError::new(401, "Unauthorized", "Unauthorized")));
        }
    }
    if path.starts_with("/sim/v1/") {
        return exec_api::handle(state, req).await;
    }
    let fault = state.store.lock().faults.take_api();
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    if let Some(status) = fault.status {
        return Ok(fault_response(status));
    }
    Ok(serve_api(state, req, &path, query).await)
}

/// The `Status` an `api_errors` fault answers with.
fn fault_response(status: u16) -> Response<Body> {
    let (reason, message) = match status {
        429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
        503 => ("ServiceUnavailable", "the server is currently unable to handle the request"),
        500 => ("InternalError", "an error on the server (\"\") has prevented the request from succeeding"),
        504 => (
            "Timeout",
            "the server was unable to return a response in the time allotted, but may still be processing the request",
        ),
        s if s < 500 => ("BadRequest", "the server rejected our request for an unknown reason"),
        _ => ("InternalError", "an error on the server has prevented the request from succeeding"),
    };
    let mut response = error_response(&ApiError::new(status, reason, message));
    if status == 429 || status == 503 {
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}

async fn serve_api(
    state: &ApiState,
    req: Request<Incoming>,
    path: &str,
    query: HashMap<String, String>,
) -> Response<Body> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let surface = match surface(&state.store.lock()) {
        Ok(surface) => surface,
        Err(err) => return error_response(&err),
    };
    let Surface { data, minor } = surface;
    match segments.as_slice() {
        ["healthz" | "livez" | "readyz"] => {
            let mut response = Response::new(full("ok"));
            response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
            return response;
        }
        ["version"] => return json_response(200, &discovery::version(&current_apiserver_version(&state.store))),
        ["api"] => return json_response(200, &discovery::core_versions(&state.address.to_string())),
        ["apis"] => return json_response(200, &discovery::group_list(data, minor)),
        ["api", "v1"] => {
            return discovery::resource_list(data, minor, "", "v1")
                .map_or_else(not_found_path, |v| json_response(200, &v));
        }
        ["apis", group] => {
            return discovery::group(data, minor, group).map_or_else(not_found_path, |v| json_response(200, &v));
        }
        ["apis", group, version] => {
            return discovery::resource_list(data, minor, group, version)
                .map_or_else(not_found_path, |v| json_response(200, &v));
        }
        _ => {}
    }
    let target = match segments.as_slice() {
        ["api", "v1", rest @ ..] => parse_target(surface, "", "v1", rest),
        ["apis", group, version, rest @ ..] => parse_target(surface, group, version, rest),
        _ => None,
    };
    let Some(target) = target else { return not_found_path() };
    let method = req.method().clone();
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let manager = field_manager(&query, &user_agent);
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error_response(&ApiError::bad_request("cannot read the request body")),
    };
    let as_table = table::wants_table(&accept);
    let request = RequestInfo { surface, content_type: &content_type, manager: &manager, as_table };
    let result = route(state, &method, &target, &query, &body, &request);
    let mut response = match result {
        Ok(response) => response,
        Err(err) => error_response(&err),
    };
    if let Some(warning) = deprecation_warning(surface, target.def)
        && let Ok(value) = header::HeaderValue::from_str(&warning)
    {
        response.headers_mut().insert(header::WARNING, value);
    }
    response
}

/// The `Warning: 299` header kube-apiserver (1.19+) adds to every request through a
/// deprecated API, worded as upstream's
/// `staging/src/k8s.io/apiserver/pkg/endpoints/deprecation/deprecation.go` (KEP-1693);
/// kubectl prints it on stderr.
fn deprecation_warning(surface: Surface, def: &ResourceDef) -> Option<String> {
    if surface.minor < Minor::new(1, 19) {
        return None;
    }
    let api_version = def.api_version();
    let api = surface.data.apis().iter().find(|a| a.group_version == api_version && a.kind == def.kind)?;
    let deprecated = api.deprecated.filter(|d| *d <= surface.minor)?;
    let mut text = format!("{api_version} {} is deprecated in v{deprecated}+", def.kind);
    if let Some(removed) = api.removed {
        text += &format!(", unavailable in v{removed}+");
    }
    if let Some(replacement) = &api.replacement {
        text += &format!("; use {replacement} {}", def.kind);
    }
    Some(format!("299 - {text:?}"))
}

/// What a handler needs to know about the request besides its target and body.
struct RequestInfo<'a> {
    surface: Surface,
    content_type: &'a str,
    /// The field manager writes are recorded under.
    manager: &'a str,
    as_table: bool,
}

/// The field manager of a write: `?fieldManager=`, else the User-Agent up to its first `/`
/// (kube-apiserver `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go`,
/// `prefixFromUserAgent`).
fn field_manager(query: &HashMap<String, String>, user_agent: &str) -> String {
    if let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()) {
        return manager.clone();
    }
    let prefix = user_agent.split('/').next().unwrap_or_default();
    if prefix.is_empty() { "unknown".to_owned() } else { prefix.to_owned() }
}

/// The stored (hub) object `name`, or 404 as the request's resource names it.
fn stored(inner: &StoreInner, def: &ResourceDef, namespace: &str, name: &str) -> Result<Value, ApiError> {
    inner.get(&def.key(), namespace, name).cloned().ok_or_else(|| ApiError::not_found(def.plural, def.group, name))
}

/// Store `next` (already in the hub version) over `current` for a PUT or PATCH: the status
/// kept or taken as the subresource says, the write recorded in `managedFields` with the
/// request's group/version, the resourceVersion checked when the request gave one.
#[allow(clippy::too_many_arguments)]
fn write_update(
    inner: &mut StoreInner,
    def: &'static ResourceDef,
    namespace: &str,
    name: &str,
    current: &Value,
    next: Value,
    sub: Option<&str>,
    manager: &str,
    expected: Option<u64>,
) -> Result<std::sync::Arc<Value>, ApiError> {
    let hub = def.hub();
    let mut next = split_status(hub, current, next, sub.is_some());
    let now = inner.clock().now_rfc3339();
    record_write(&mut next, Some(current), manager, &def.api_version(), sub.unwrap_or(""), &now);
    inner.update(hub, namespace, name, next, expected)
}

/// Record a write in `metadata.managedFields` the way kube-apiserver's field manager does
/// for an `Update` operation: one entry per manager, operation and subresource, carrying
/// the group/version the write came through (what the removed-API scan reads; the fields
/// owned are not tracked: `fieldsV1` is empty). The time changes only when the entry does, so
/// a write that changes nothing stays a no-op. Source:
/// <https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management>.
fn record_write(obj: &mut Value, current: Option<&Value>, manager: &str, api_version: &str, sub: &str, now: &str) {
    // Entries the request sets are taken as they are; a request without any keeps the live
    // object's (k8s.io/apimachinery `managedfields/internal/fieldmanager.go`: clients that do
    // not know managedFields cannot drop them).
    let sent = get_path(obj, "metadata.managedFields").and_then(Value::as_array).filter(|a| !a.is_empty()).cloned();
    let mut entries: Vec<Value> = sent
        .or_else(|| current.and_then(|c| get_path(c, "metadata.managedFields")).and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let same = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(manager)
            && e.get("operation").and_then(Value::as_str) == Some("Update")
            && e.get("subresource").and_then(Value::as_str).unwrap_or("") == sub
    };
    match entries.iter_mut().find(|e| same(e)) {
        Some(entry) if entry.get("apiVersion").and_then(Value::as_str) == Some(api_version) => {}
        Some(entry) => {
            entry["apiVersion"] = Value::from(api_version);
            entry["time"] = Value::from(now);
        }
        None => {
            let mut entry = json!({"manager": manager, "operation": "Update", "apiVersion": api_version,
                "time": now, "fieldsType": "FieldsV1", "fieldsV1": {}});
            if !sub.is_empty() {
                entry["subresource"] = Value::from(sub);
            }
            entries.push(entry);
        }
    }
    crate::util::object_entry(obj, "metadata").insert("managedFields".to_owned(), Value::Array(entries));
}

fn not_found_path() -> Response<Body> {
    error_response(&ApiError::new(404, "NotFound", "the server could not find the requested resource"))
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if protobuf::is_protobuf(body) {
        return protobuf::decode(body);
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({e}); only JSON bodies are accepted: {:?}",
                String::from_utf8_lossy(&body[..body.len().min(40)])
            ),
        )
    })
}

/// One request against a resource. `def` is the group/version the request names; the store
/// keeps `hub`, its stored form: bodies are converted to it, answers from it.
#[allow(clippy::too_many_lines)]
fn route(
    state: &ApiState,
    method: &Method,
    target: &Target,
    query: &HashMap<String, String>,
    body: &[u8],
    request: &RequestInfo<'_>,
) -> Result<Response<Body>, ApiError> {
    let RequestInfo { surface, content_type, manager, as_table } = *request;
    let def = target.def;
    let hub = def.hub();
    let key = def.key();
    let served = |obj: &Value| convert::from_hub(def, obj);
    let namespace = target.namespace.clone().unwrap_or_default();
    if def.namespaced && target.name.is_some() && target.namespace.is_none() {
        return Err(ApiError::new(404, "NotFound", "the server could not find the requested resource"));
    }
    match (method, target.name.as_deref(), target.sub.as_deref()) {
        (&Method::GET, None, None) => {
            if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
                state.count("watch", &key);
                return Ok(watch::start(state, def, target.namespace.as_deref(), query, as_table));
            }
            state.count("list", &key);
            list(state, def, target.namespace.as_deref(), query, as_table)
        }
        (&Method::GET, Some(name), None | Some("status")) => {
            state.count("get", &key);
            let obj = state
                .store
                .get(&key, &namespace, name)
                .ok_or_else(|| ApiError::not_found(def.plural, def.group, name))?;
            let obj = served(&obj);
            if as_table {
                let now = state.store.lock().clock().now();
                let meta = json!({"resourceVersion": str_at(&obj, "metadata.resourceVersion")});
                return Ok(json_response(200, &table::render(def, &[&obj], now, &meta)));
            }
            Ok(json_response(200, &obj))
        }
        (&Method::POST, None, None) => {
            state.count("create", &key);
            let mut obj = convert::to_hub(def, parse_body(body)?)?;
            if def.namespaced {
                let body_ns = namespace_of(&obj).to_owned();
                if !body_ns.is_empty() && body_ns != namespace {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                crate::util::object_entry(&mut obj, "metadata")
                    .insert("namespace".to_owned(), Value::from(namespace.clone()));
            }
            prepare_create(hub, &mut obj);
            if query.get("dryRun").is_some_and(|d| d == "All") {
                return Ok(json_response(201, &served(&obj)));
            }
            let mut inner = state.store.lock();
            record_write(&mut obj, None, manager, &def.api_version(), "", &inner.clock().now_rfc3339());
            let created = inner.create(hub, obj)?;
            Ok(json_response(201, &served(&created)))
        }
        (&Method::POST, Some(name), Some("eviction")) if def.kind == "Pod" => {
            let eviction = parse_body(body).unwrap_or(Value::Null);
            // Counted per body version, so a run can be seen switching from policy/v1beta1 to
            // policy/v1; a body without apiVersion counts as the version discovery names.
            let version = eviction
                .get("apiVersion")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .or_else(|| resources::eviction_version(surface.data, surface.minor))
                .unwrap_or_default();
            state.count("eviction", &format!("{key} ({version})"));
            check_eviction_version(surface, &eviction)?;
            let grace = get_path(&eviction, "deleteOptions.gracePeriodSeconds").and_then(Value::as_i64);
            let status = lifecycle::evict(&mut state.store.lock(), &namespace, name, grace)?;
            Ok(json_response(201, &status))
        }
        (&Method::POST, Some(name), Some("binding")) if def.kind == "Pod" => {
            state.count("binding", &key);
            let binding = parse_body(body)?;
            let node = str_at(&binding, "target.name").to_owned();
            let mut inner = state.store.lock();
            inner.get(&key, &namespace, name).ok_or_else(|| ApiError::not_found(def.plural, def.group, name))?;
            inner.modify(&key, &namespace, name, |pod| {
                crate::util::object_entry(pod, "spec").insert("nodeName".to_owned(), Value::from(node));
            });
            Ok(json_response(201, &crate::status::success_status(&json!({"name": name, "kind": "pods"}))))
        }
        (&Method::PUT, Some(name), sub @ (None | Some("status"))) => {
            state.count("update", &key);
            let obj = convert::to_hub(def, parse_body(body)?)?;
            if !name_of(&obj).is_empty() && name_of(&obj) != name {
                return Err(ApiError::bad_request("the name of the object does not match the name on the URL"));
            }
            let expected = Some(rv_of(&obj)).filter(|rv| *rv != 0);
            let mut inner = state.store.lock();
            let current = stored(&inner, def, &namespace, name)?;
            let updated = write_update(&mut inner, def, &namespace, name, &current, obj, sub, manager, expected)?;
            Ok(json_response(200, &served(&updated)))
        }
        (&Method::PATCH, Some(name), sub @ (None | Some("status"))) => {
            state.count("patch", &key);
            let kind = patch::PatchType::from_content_type(content_type).ok_or_else(|| {
                ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {content_type})"))
            })?;
            let patch_body = parse_body(body)?;
            let mut inner = state.store.lock();
            let current = stored(&inner, def, &namespace, name)?;
            // The patch applies to the object as the request's group/version serves it.
            let mut patched = served(&current);
            patch::apply(kind, &mut patched, &patch_body)?;
            let patched = convert::to_hub(def, patched)?;
            let expected = get_path(&patch_body, "metadata.resourceVersion")
                .and_then(Value::as_str)
                .and_then(|rv| rv.parse::<u64>().ok());
            let updated = write_update(&mut inner, def, &namespace, name, &current, patched, sub, manager, expected)?;
            Ok(json_response(200, &served(&updated)))
        }
        (&Method::DELETE, Some(name), None) => {
            state.count("delete", &key);
            let options = if body.is_empty() { Value::Null } else { parse_body(body).unwrap_or(Value::Null) };
            let grace = query
                .get("gracePeriodSeconds")
                .and_then(|g| g.parse::<i64>().ok())
                .or_else(|| options.get("gracePeriodSeconds").and_then(Value::as_i64));
            let propagation = query
                .get("propagationPolicy")
                .map(String::as_str)
                .or_else(|| options.get("propagationPolicy").and_then(Value::as_str))
                .map_or(Propagation::Background, |p| {
                    if p == "Orphan" { Propagation::Orphan } else { Propagation::Background }
                });
            let mut inner = state.store.lock();
            let current =
                inner.get(&key, &namespace, name).ok_or_else(|| ApiError::not_found(def.plural, def.group, name))?;
            if let Some(uid) = get_path(&options, "preconditions.uid").and_then(Value::as_str)
                && uid != str_at(current, "metadata.uid")
            {
                return Err(ApiError::conflict(def.plural, def.group, name));
            }
            let deleted = lifecycle::delete_object(&mut inner, &key, &namespace, name, grace, propagation)
                .ok_or_else(|| ApiError::not_found(def.plural, def.group, name))?;
            Ok(json_response(200, &served(&deleted)))
        }
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )),
    }
}

/// The eviction body's group/version must be one the apiserver accepts for `pods/eviction`:
/// policy/v1 only from 1.22 (kubernetes/kubernetes#100724), policy/v1beta1 throughout (the
/// data's `Eviction` entries). A body without `apiVersion` is taken as the served one.
fn check_eviction_version(surface: Surface, eviction: &Value) -> Result<(), ApiError> {
    let api_version = eviction.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if api_version.is_empty() || surface.data.serves(surface.minor, api_version, "Eviction") {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "no kind \"Eviction\" is registered for version \"{api_version}\" in scheme \"pkg/api/legacyscheme/scheme.go:30\""
    )))
}

/// Defaults set on create (status reset for pods, phase for namespaces).
fn prepare_create(def: &ResourceDef, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else { return };
    match def.kind {
        "Pod" => {
            map.insert("status".to_owned(), json!({"phase": "Pending", "qosClass": "BestEffort"}));
        }
        "Namespace" => {
            map.insert("status".to_owned(), json!({"phase": "Active"}));
            map.entry("spec").or_insert_with(|| json!({"finalizers": ["kubernetes"]}));
        }
        "Secret" => {
            map.entry("type").or_insert_with(|| Value::from("Opaque"));
        }
        _ => {}
    }
    if let Some(data) = map.get_mut("stringData").map(Value::take) {
        map.remove("stringData");
        let encoded = map.entry("data").or_insert_with(|| json!({}));
        if let (Some(target), Some(source)) = (encoded.as_object_mut(), data.as_object()) {
            for (k, v) in source {
                let text = v.as_str().unwrap_or("");
                target.insert(k.clone(), Value::from(base64::engine::general_purpose::STANDARD.encode(text)));
            }
        }
    }
}

/// Main-resource writes keep the stored status; status writes change only the status.
fn split_status(def: &ResourceDef, current: &Value, mut next: Value, status_only: bool) -> Value {
    if status_only {
        let mut out = current.clone();
        if let (Some(map), Some(status)) = (out.as_object_mut(), next.get("status")) {
            map.insert("status".to_owned(), status.clone());
        }
        return out;
    }
    if def.has_status
        && let Some(map) = next.as_object_mut()
    {
        match current.get("status") {
            Some(status) => map.insert("status".to_owned(), status.clone()),
            None => map.remove("status"),
        };
    }
    next
}

/// Where the next page starts: after the object `namespace/name`, in the store's order
/// (namespace, then name), with how many items earlier pages served.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    namespace: String,
    name: String,
    served: usize,
}

fn list(
    state: &ApiState,
    def: &ResourceDef,
    namespace: Option<&str>,
    query: &HashMap<String, String>,
    as_table: bool,
) -> Result<Response<Body>, ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?;
    let filtered = query.get("labelSelector").is_some_and(|s| !s.is_empty())
        || query.get("fieldSelector").is_some_and(|s| !s.is_empty());
    let limit = query.get("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    let start_after = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<ContinueToken>(&bytes).ok())
                .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
            Some(decoded)
        }
        None => None,
    };
    let inner = state.store.lock();
    let key = def.key();
    let rv = start_after.as_ref().map_or(inner.resource_version(), |t| t.rv);
    let served = start_after.as_ref().map_or(0, |t| t.served);
    // Each page seeks to where the last one ended: paging through N objects costs O(N).
    let objects = match &start_after {
        Some(t) => inner.list_after(&key, namespace, (t.namespace.clone(), t.name.clone())),
        None => inner.list(&key, namespace),
    };
    let mut matching = objects.filter(|o| labels.matches(o) && fields.matches(o));
    let page: Vec<&Value> = matching.by_ref().take(limit.unwrap_or(usize::MAX)).collect();
    let more = limit.is_some() && matching.next().is_some();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if more && let Some(last) = page.last() {
        let token = ContinueToken {
            rv,
            namespace: namespace_of(last).to_owned(),
            name: name_of(last).to_owned(),
            served: served + page.len(),
        };
        let encoded =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default());
        meta["continue"] = Value::from(encoded);
        // As the API server: only for unfiltered lists, and an estimate if objects changed.
        if !filtered {
            let total = match namespace {
                None => inner.count(&key),
                Some(ns) => inner.list(&key, Some(ns)).count(),
            };
            meta["remainingItemCount"] = Value::from(total.saturating_sub(served + page.len()));
        }
    }
    let items: Vec<Value> = page.into_iter().map(|o| convert::from_hub(def, o)).collect();
    if as_table {
        let now = inner.clock().now();
        let rows: Vec<&Value> = items.iter().collect();
        return Ok(json_response(200, &table::render(def, &rows, now, &meta)));
    }
    Ok(json_response(
        200,
        &json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": meta, "items": items}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecated_apis_warn_from_1_19_as_kube_apiserver_words_it() {
        let data = ReleaseData::embedded().expect("shipped release data");
        let at = |minor: u32| Surface { data, minor: Minor::new(1, minor) };
        let find = |group: &str, version: &str, plural: &str| {
            resources::all()
                .find(|d| d.group == group && d.version == version && d.plural == plural)
                .expect("implemented")
        };
        let beta_pdb = find("policy", "v1beta1", "poddisruptionbudgets");
        assert_eq!(
            deprecation_warning(at(21), beta_pdb).as_deref(),
            Some(
                "299 - \"policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; use policy/v1 PodDisruptionBudget\""
            )
        );
        assert_eq!(deprecation_warning(at(20), beta_pdb), None);
        assert_eq!(deprecation_warning(at(21), find("policy", "v1", "poddisruptionbudgets")), None);
        // Warnings arrived in 1.19: a 1.18 apiserver sends none.
        assert_eq!(deprecation_warning(at(18), find("extensions", "v1beta1", "ingresses")), None);
        assert!(deprecation_warning(at(19), find("extensions", "v1beta1", "ingresses")).is_some());
    }

    #[test]
    fn field_manager_is_the_query_or_the_user_agent_prefix() {
        let mut query = HashMap::new();
        assert_eq!(field_manager(&query, "kubectl/v1.20.2 (linux/amd64) kubernetes/faecb19"), "kubectl");
        assert_eq!(field_manager(&query, ""), "unknown");
        query.insert("fieldManager".to_owned(), "helm".to_owned());
        assert_eq!(field_manager(&query, "kubectl/v1.20.2"), "helm");
    }
}
