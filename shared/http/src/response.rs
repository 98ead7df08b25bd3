use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::ApiError;

pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<Response<Body>, ApiError> {
    let text = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut resp = Response::new(Body::Text(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

pub fn ok<T: Serialize>(body: &T) -> Result<Response<Body>, ApiError> {
    json(StatusCode::OK, body)
}

pub fn created<T: Serialize>(body: &T) -> Result<Response<Body>, ApiError> {
    json(StatusCode::CREATED, body)
}

/// 204: done, nothing to say.
pub fn no_content() -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// `resp` made cacheable: a strong `ETag` from its body and the given
/// `Cache-Control`; when the request's `If-None-Match` names that tag, a
/// 304 without a body instead (the client's copy is current).
pub fn with_etag(
    req: &lambda_http::Request,
    mut resp: Response<Body>,
    cache_control: &'static str,
) -> Response<Body> {
    use sha2::{Digest, Sha256};
    let digest = match resp.body() {
        Body::Text(t) => Sha256::digest(t.as_bytes()),
        Body::Binary(b) => Sha256::digest(b),
        Body::Empty => Sha256::digest(b""),
        _ => return resp,
    };
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    let tag = format!("\"{hex}\"");
    let matches = req
        .headers()
        .get_all("if-none-match")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*");
    let headers = resp.headers_mut();
    headers.insert(
        "cache-control",
        lambda_http::http::HeaderValue::from_static(cache_control),
    );
    if let Ok(value) = lambda_http::http::HeaderValue::from_str(&tag) {
        headers.insert("etag", value);
    }
    if matches {
        let mut not_modified = Response::new(Body::Empty);
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        for name in ["cache-control", "etag"] {
            if let Some(v) = resp.headers().get(name) {
                not_modified.headers_mut().insert(name, v.clone());
            }
        }
        return not_modified;
    }
    resp
}
