//! The local API gateway: matches requests against template.yaml's routes
//! and calls the function's handler in-process with the request API Gateway
//! would send (path and query parameters attached), on 127.0.0.1 only.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use evently_http::{ApiError, App, Handler};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use tokio::net::TcpListener;

use crate::template::Route;

/// Lambda's own request payload limit; the handlers enforce their smaller one.
const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

struct Bound {
    method: String,
    segments: Vec<Segment>,
    handler: Handler,
    function: String,
    literal_count: usize,
    /// The function's timeout from template.yaml: the request's budget.
    timeout: std::time::Duration,
    /// The route's API Gateway throttle from template.yaml.
    bucket: Option<std::sync::Mutex<Bucket>>,
}

/// A token bucket as API Gateway keeps one per route: starts full.
struct Bucket {
    limit: crate::template::Throttle,
    tokens: f64,
    at: std::time::Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = std::time::Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.limit.rate;
        self.tokens = (self.tokens + refill).min(self.limit.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

enum Segment {
    Literal(String),
    Param(String),
}

pub struct Router {
    routes: Vec<Bound>,
}

#[derive(Debug, thiserror::Error)]
#[error("template route {method} {path} names function `{function}`, which the local runtime does not know")]
pub struct UnknownFunction {
    pub method: String,
    pub path: String,
    pub function: String,
}

impl Router {
    pub fn new(
        routes: &[Route],
        handlers: &[(&'static str, Handler)],
        timeouts: &HashMap<String, u64>,
    ) -> Result<Self, UnknownFunction> {
        let by_name: HashMap<&str, Handler> = handlers.iter().copied().collect();
        let mut bound = Vec::new();
        for r in routes {
            let handler = *by_name
                .get(r.function.as_str())
                .ok_or_else(|| UnknownFunction {
                    method: r.method.clone(),
                    path: r.path.clone(),
                    function: r.function.clone(),
                })?;
            let segments: Vec<Segment> = r
                .path
                .trim_matches('/')
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    },
                )
                .collect();
            let literal_count = segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            bound.push(Bound {
                method: r.method.clone(),
                segments,
                handler,
                function: r.function.clone(),
                literal_count,
                timeout: std::time::Duration::from_secs(
                    timeouts.get(&r.function).copied().unwrap_or(3),
                ),
                bucket: r.throttle.map(|limit| {
                    std::sync::Mutex::new(Bucket {
                        limit,
                        tokens: limit.burst,
                        at: std::time::Instant::now(),
                    })
                }),
            });
        }
        Ok(Self { routes: bound })
    }

    /// The most specific route for the path (literal segments beat
    /// parameters, as in API Gateway), or the methods the path does serve:
    /// those of its most specific route template, as an OpenAPI reader
    /// resolves a path (so `/bookings/confirm` allows POST, though a GET there
    /// would reach `/bookings/{booking_id}` and find no such booking).
    fn find(
        &self,
        method: &str,
        path: &str,
    ) -> Result<(&Bound, HashMap<String, String>), Vec<String>> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut best: Option<(&Bound, HashMap<String, String>)> = None;
        let mut allowed: Vec<(usize, String)> = Vec::new();
        for route in &self.routes {
            if route.segments.len() != parts.len() {
                continue;
            }
            let mut params = HashMap::new();
            let matched = route
                .segments
                .iter()
                .zip(&parts)
                .all(|(seg, part)| match seg {
                    Segment::Literal(l) => l == part,
                    Segment::Param(name) => {
                        let value = percent_decode(part);
                        let ok = !value.is_empty();
                        params.insert(name.clone(), value);
                        ok
                    }
                });
            if !matched {
                continue;
            }
            allowed.push((route.literal_count, route.method.clone()));
            if route.method != method && route.method != "ANY" {
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|(b, _)| route.literal_count > b.literal_count)
            {
                best = Some((route, params));
            }
        }
        let specific = allowed.iter().map(|(n, _)| *n).max().unwrap_or(0);
        best.ok_or_else(|| {
            allowed
                .into_iter()
                .filter(|(n, _)| *n == specific)
                .map(|(_, m)| m)
                .collect()
        })
    }
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

type HyperResponse = hyper::Response<Full<Bytes>>;

/// A 405 with the `Allow` header RFC 9110 asks for.
fn with_allow(resp: lambda_http::Response<lambda_http::Body>, allowed: String) -> HyperResponse {
    let mut resp = to_hyper(resp);
    if let Ok(v) = allowed.parse() {
        resp.headers_mut().insert(hyper::header::ALLOW, v);
    }
    resp
}

fn to_hyper(resp: lambda_http::Response<lambda_http::Body>) -> HyperResponse {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// A file of the web app (see `Gateway::web`): GET and HEAD only; a path
/// with no extension is a page of the app (index.html); `..` never leaves
/// the directory.
fn web_file(dir: &std::path::Path, method: &hyper::Method, path: &str) -> HyperResponse {
    if method != hyper::Method::GET && method != hyper::Method::HEAD {
        return with_allow(
            ApiError::MethodNotAllowed(format!("{method} is not served on {path}")).into_response(),
            "GET, HEAD".into(),
        );
    }
    let clean: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .collect();
    let last = clean.last().copied().unwrap_or("");
    let (file, is_page) = match last.rsplit_once('.') {
        Some(_) => (dir.join(clean.join("/")), false),
        None => (dir.join("index.html"), true),
    };
    let content_type = match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    match std::fs::read(&file) {
        Ok(bytes) => {
            let body = if method == hyper::Method::HEAD {
                Bytes::new()
            } else {
                Bytes::from(bytes)
            };
            let mut resp = hyper::Response::new(Full::new(body));
            let headers = resp.headers_mut();
            headers.insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(content_type),
            );
            // Not fingerprinted: always revalidated (CloudFront's
            // behaviour in template.yaml says the same).
            headers.insert(
                hyper::header::CACHE_CONTROL,
                hyper::header::HeaderValue::from_static("no-cache"),
            );
            resp
        }
        Err(_) if is_page => to_hyper(
            ApiError::NotFound(
                "the web app is not built (run scripts/dev, or npm run build in web/)".into(),
            )
            .into_response(),
        ),
        Err(_) => to_hyper(ApiError::NotFound(format!("no file {path}")).into_response()),
    }
}

/// Extra routes under `/_dev/`, served by the runtime itself.
pub type DevRoute =
    Arc<dyn Fn(&'static App) -> futures::future::BoxFuture<'static, HyperResponse> + Send + Sync>;

pub struct Gateway {
    /// The administrator's app (dev routes).
    pub app: &'static App,
    /// Each function's app, by binary name: its clients sign as that
    /// function, so the local endpoint holds it to its IAM policy.
    pub apps: HashMap<String, &'static App>,
    /// Functions served by their real binaries under the Runtime API
    /// (`crate::lambda`), by binary name; the rest run in-process.
    pub lambdas: HashMap<String, Arc<crate::lambda::LocalLambda>>,
    pub router: Router,
    pub dev: HashMap<String, DevRoute>,
    /// The web app's built files (web/dist), served at every path outside
    /// `/api/` and `/_dev/`, as CloudFront serves the S3 bucket in AWS
    /// (template.yaml): a file by its path, any other page path
    /// `index.html` (the app routes it).
    pub web: Option<std::path::PathBuf>,
}

impl Gateway {
    async fn handle(&self, req: hyper::Request<Incoming>, peer: SocketAddr) -> HyperResponse {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_owned();
        if let Some(dev) = self.dev.get(&path) {
            if parts.method != hyper::Method::GET {
                return with_allow(
                    ApiError::MethodNotAllowed(format!("{} is not served on {path}", parts.method))
                        .into_response(),
                    "GET".into(),
                );
            }
            return dev(self.app).await;
        }
        if let Some(dir) = &self.web {
            if !path.starts_with("/api/") && !path.starts_with("/_dev/") {
                return web_file(dir, &parts.method, &path);
            }
        }
        let (route, params) = match self.router.find(parts.method.as_str(), &path) {
            Ok(found) => found,
            Err(allowed) if !allowed.is_empty() => {
                let err =
                    ApiError::MethodNotAllowed(format!("{} is not served on {path}", parts.method));
                return with_allow(err.into_response(), allowed.join(", "));
            }
            Err(_) => {
                return to_hyper(ApiError::NotFound(format!("no route for {path}")).into_response())
            }
        };
        let admitted = route
            .bucket
            .as_ref()
            .is_none_or(|b| b.lock().unwrap_or_else(|e| e.into_inner()).take());
        if !admitted {
            // API Gateway's own answer, before any function runs.
            let mut resp = hyper::Response::new(Full::new(Bytes::from_static(
                br#"{"message":"Too Many Requests"}"#,
            )));
            *resp.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
            resp.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            return resp;
        }
        let bytes = match Limited::new(body, LAMBDA_PAYLOAD_LIMIT).collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => {
                return to_hyper(
                    ApiError::PayloadTooLarge {
                        limit: LAMBDA_PAYLOAD_LIMIT,
                    }
                    .into_response(),
                );
            }
        };
        if let Some(lambda) = self.lambdas.get(&route.function) {
            let event = apigw_event(&parts, &path, &params, &bytes, peer);
            return match lambda.invoke(&event).await {
                Ok(answer) => from_apigw(&answer),
                // API Gateway's own answers when the integration fails.
                Err(crate::lambda::InvokeError::Timeout(_)) => to_hyper(
                    ApiError::Unavailable {
                        detail: "the function timed out".into(),
                        retry_after: 1,
                    }
                    .into_response(),
                ),
                Err(e) => {
                    tracing::error!(function = %route.function, error = %e, "invocation failed");
                    to_hyper(ApiError::Internal(e.to_string()).into_response())
                }
            };
        }
        let body = if bytes.is_empty() {
            lambda_http::Body::Empty
        } else {
            match String::from_utf8(bytes.to_vec()) {
                Ok(t) => lambda_http::Body::Text(t),
                Err(e) => lambda_http::Body::Binary(e.into_bytes()),
            }
        };
        let mut query: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            query
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
        // What API Gateway tells a function about the caller.
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.method = parts.method.clone();
        context.http.path = Some(path.clone());
        context.http.source_ip = Some(peer.ip().to_string());
        let req = lambda_http::Request::from_parts(parts, body)
            .with_path_parameters(params)
            .with_query_string_parameters(query)
            .with_request_context(RequestContext::ApiGatewayV2(context));
        let app = self.apps.get(&route.function).copied().unwrap_or(self.app);
        to_hyper(evently_http::runtime::run(app, route.handler, req, route.timeout).await)
    }
}

/// Adds `value` under `key`, joined to what is there with a comma: how
/// API Gateway's payload 2.0 carries repeated headers and query parameters.
fn append_joined(map: &mut serde_json::Map<String, serde_json::Value>, key: &str, value: &str) {
    match map.get_mut(key) {
        Some(serde_json::Value::String(joined)) => {
            joined.push(',');
            joined.push_str(value);
        }
        _ => {
            map.insert(key.to_owned(), value.into());
        }
    }
}

/// The API Gateway HTTP API (payload 2.0) event of a request.
fn apigw_event(
    parts: &hyper::http::request::Parts,
    path: &str,
    params: &HashMap<String, String>,
    body: &Bytes,
    peer: SocketAddr,
) -> serde_json::Value {
    use base64::Engine as _;
    let mut headers = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = value.to_str().unwrap_or_default().to_owned();
        if name == hyper::header::COOKIE {
            cookies.extend(value.split("; ").map(str::to_owned));
            continue;
        }
        append_joined(&mut headers, name.as_str(), &value);
    }
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut query = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        append_joined(&mut query, &k, &v);
    }
    let (text, encoded) = match std::str::from_utf8(body) {
        Ok(t) => (t.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let now = chrono::Utc::now();
    let route_key = format!("{} {path}", parts.method);
    serde_json::json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "cookies": if cookies.is_empty() { serde_json::Value::Null } else { cookies.into() },
        "headers": headers,
        "queryStringParameters": if query.is_empty() { serde_json::Value::Null } else { query.into() },
        "pathParameters": if params.is_empty() { serde_json::Value::Null } else { serde_json::json!(params) },
        "requestContext": {
            "accountId": crate::iam::ACCOUNT,
            "apiId": "local",
            "domainName": parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": evently_core::new_id(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": if body.is_empty() { serde_json::Value::Null } else { text.into() },
        "isBase64Encoded": encoded,
    })
}

/// A function's payload-2.0 answer as the HTTP response API Gateway sends.
fn from_apigw(answer: &serde_json::Value) -> HyperResponse {
    use base64::Engine as _;
    let status = answer["statusCode"].as_u64().unwrap_or(200) as u16;
    let body = match answer["body"].as_str() {
        Some(b) if answer["isBase64Encoded"] == true => base64::engine::general_purpose::STANDARD
            .decode(b)
            .map(Bytes::from)
            .unwrap_or_default(),
        Some(b) => Bytes::from(b.to_owned()),
        None => Bytes::new(),
    };
    let mut resp = hyper::Response::new(Full::new(body));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    let headers = resp.headers_mut();
    for (k, v) in answer["headers"].as_object().into_iter().flatten() {
        if let (Ok(k), Some(Ok(v))) = (
            k.parse::<hyper::header::HeaderName>(),
            v.as_str().map(str::parse::<hyper::header::HeaderValue>),
        ) {
            headers.insert(k, v);
        }
    }
    for (k, vs) in answer["multiValueHeaders"]
        .as_object()
        .into_iter()
        .flatten()
    {
        for v in vs.as_array().into_iter().flatten() {
            if let (Ok(k), Some(Ok(v))) = (
                k.parse::<hyper::header::HeaderName>(),
                v.as_str().map(str::parse::<hyper::header::HeaderValue>),
            ) {
                headers.append(k, v);
            }
        }
    }
    for c in answer["cookies"].as_array().into_iter().flatten() {
        if let Some(Ok(v)) = c.as_str().map(str::parse::<hyper::header::HeaderValue>) {
            headers.append(hyper::header::SET_COOKIE, v);
        }
    }
    resp
}

/// Serves until the task is dropped. Each connection gets its own task, so
/// concurrent clients really run concurrently, as separate Lambda instances
/// would.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let gateway = gateway.clone();
                async move {
                    let (method, path) = (req.method().clone(), loggable(req.uri().path()));
                    let started = Instant::now();
                    let resp = gateway.handle(req, peer).await;
                    tracing::info!(%method, %path, status = resp.status().as_u16(),
                        ms = started.elapsed().as_secs_f64() * 1e3, "request");
                    Ok::<_, Infallible>(resp)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new();
            if let Err(e) = conn.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
}

/// The path as it may be logged: a claim link's token is a credential (on
/// the API's route and on the web app's offer page).
fn loggable(path: &str) -> String {
    for claim in ["/api/v1/waitlist/offers/", "/offers/"] {
        if path.starts_with(claim) {
            return format!("{claim}<claim token>");
        }
    }
    path.to_owned()
}

pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
