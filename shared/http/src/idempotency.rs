//! `Idempotency-Key` on POSTs that create something: the same key from the
//! same caller within 24 h gets the first response and the work is done
//! once; the same key with a different request is a 422.

use std::future::Future;

use evently_store::Begin;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::{ApiError, App};

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_CHARS: usize = 255;

fn request_hash(req: &Request) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b" ");
    hasher.update(req.uri().path());
    hasher.update(b"\n");
    match req.body() {
        Body::Text(t) => hasher.update(t.as_bytes()),
        Body::Binary(b) => hasher.update(b),
        _ => {}
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn body_text(resp: &Response<Body>) -> String {
    match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

fn replay(status: u16, body: String) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if status >= 400 {
        "application/problem+json"
    } else {
        "application/json"
    };
    resp.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static(content_type),
    );
    resp.headers_mut().insert(
        "idempotent-replayed",
        lambda_http::http::HeaderValue::from_static("true"),
    );
    resp
}

/// Runs `work` under the request's Idempotency-Key, if it has one. `scope`
/// is whose keys these are (the user id; "register" before there is one).
pub async fn idempotent<Fut>(
    app: &App,
    req: &Request,
    scope: &str,
    work: Fut,
) -> Result<Response<Body>, ApiError>
where
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let Some(key) = req.headers().get(HEADER) else {
        return work.await;
    };
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.chars().count() <= MAX_KEY_CHARS)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters"
            ))
        })?
        .to_owned();
    match app
        .store
        .begin_idempotent(scope, &key, &request_hash(req), app.clock.now())
        .await?
    {
        Begin::Started => {}
        Begin::Replay { status, body } => return Ok(replay(status, body)),
        Begin::Mismatch => {
            return Err(ApiError::Unprocessable {
                field: "Idempotency-Key".into(),
                message: "this key was already used for a different request".into(),
            })
        }
        Begin::InProgress => {
            return Err(ApiError::conflict(
                "a request with this Idempotency-Key is still in progress; retry shortly",
            ))
        }
    }
    let resp = work.await.unwrap_or_else(ApiError::into_response);
    let status = resp.status().as_u16();
    if status >= 500 {
        // Our failure: let a retry do the work.
        app.store.abandon_idempotent(scope, &key).await?;
    } else {
        app.store
            .finish_idempotent(scope, &key, status, &body_text(&resp))
            .await?;
    }
    Ok(resp)
}
