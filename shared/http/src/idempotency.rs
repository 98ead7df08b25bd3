//! `Idempotency-Key` on POSTs that create something: the same key from the
//! same caller within 24 h gets the first response and the work is done
//! once; the same key with a different request is a 422; while the first
//! request is still running, a 503 with `Retry-After` (retry with the same
//! key). A request that died keeps the key for its lease (as long as a
//! request can run); the next retry then takes over and is told it is
//! recovering (`Attempt::recovering`), so the work can find out what its
//! predecessor finished instead of answering "already done".

use std::future::Future;

use evently_store::{Begin, Claim};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::{ApiError, App};

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_CHARS: usize = 255;
/// A claim outlives its request's deadline by this much.
const LEASE_MARGIN_SECS: i64 = 2;
/// Lease when the request has no deadline (never in practice: `run` sets one).
const DEFAULT_LEASE_SECS: i64 = 30;

/// What the work is told about its key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempt {
    /// An earlier request with this key and body started and never
    /// finished: its work may be partly or wholly done.
    pub recovering: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of a request: method, path and body.
pub fn request_hash(req: &Request) -> String {
    let body: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    fingerprint(req, &[body])
}

/// A fingerprint of the request's method and path and the given parts (for
/// requests whose whole body must not be kept, like a password).
pub fn fingerprint(req: &Request, parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b" ");
    hasher.update(req.uri().path());
    for part in parts {
        hasher.update(b"\n");
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

fn body_text(resp: &Response<Body>) -> String {
    match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// The stored answer, as it was first given.
pub fn replay(status: u16, body: String) -> Result<Response<Body>, ApiError> {
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
    mark_replayed(&mut resp);
    Ok(resp)
}

pub fn mark_replayed(resp: &mut Response<Body>) {
    resp.headers_mut().insert(
        "idempotent-replayed",
        lambda_http::http::HeaderValue::from_static("true"),
    );
}

/// The request's key, if it sent one; 400 when it is not a usable key.
fn key_of(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(key) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    key.to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.chars().count() <= MAX_KEY_CHARS)
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters"
            ))
        })
}

/// The answer to a request whose key was used before (see `Begin`).
pub fn used(begin: Begin) -> Result<Response<Body>, ApiError> {
    match begin {
        Begin::Replay { status, body } => replay(status, body),
        Begin::Mismatch => Err(ApiError::Unprocessable {
            field: "Idempotency-Key".into(),
            message: "this key was already used for a different request".into(),
        }),
        Begin::InProgress { retry_after_secs } => Err(ApiError::Unavailable {
            detail:
                "a request with this Idempotency-Key is still in progress; retry with the same key"
                    .into(),
            retry_after: retry_after_secs.max(1) as u64,
        }),
        Begin::Started { .. } => Err(ApiError::Internal(
            "an Idempotency-Key claimed without work to do".into(),
        )),
    }
}

/// A request's Idempotency-Key, for work that is one transaction and
/// records its own answer in it (`evently_store::Answer`): no claim before
/// and no record after, so the key costs no round trip of its own.
#[derive(Debug, Clone)]
pub struct Keyed {
    scope: String,
    key: String,
    fingerprint: String,
}

impl Keyed {
    /// The request's key (fingerprinted as `request_hash`), if it sent one;
    /// 400 when it is not a usable key.
    pub fn of(req: &Request, scope: &str) -> Result<Option<Self>, ApiError> {
        Ok(key_of(req)?.map(|key| Self {
            scope: scope.to_owned(),
            key,
            fingerprint: request_hash(req),
        }))
    }

    pub fn scope(&self) -> &str {
        &self.scope
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The record of `status` and `body` as this key's answer.
    pub fn answer(&self, status: u16, body: String) -> evently_store::Answer<'_> {
        evently_store::Answer {
            scope: &self.scope,
            key: &self.key,
            request_hash: &self.fingerprint,
            status,
            body,
        }
    }
}

/// Runs `work` under the request's Idempotency-Key, if it has one. `scope`
/// is whose keys these are (the user id; "register" before there is one).
pub async fn idempotent<W, Fut>(
    app: &App,
    req: &Request,
    scope: &str,
    work: W,
) -> Result<Response<Body>, ApiError>
where
    W: FnOnce(Attempt) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    idempotent_with(
        app,
        req,
        scope,
        Keeping {
            fingerprint: request_hash(req),
            keep: &|body: &str| body.to_owned(),
        },
        work,
        |status, body| async move { replay(status, body) },
    )
    .await
}

/// How a keyed request is recognised and what of its answer is kept.
pub struct Keeping<'a> {
    /// Identifies the request (see `request_hash`, `fingerprint`).
    pub fingerprint: String,
    /// The part of a successful answer's body kept for replays.
    pub keep: &'a (dyn Fn(&str) -> String + Send + Sync),
}

/// `idempotent` with a chosen fingerprint, kept body and replay: for
/// requests whose body or answer holds secrets (register: the password is
/// not fingerprinted, the access token is not kept, a replay issues a new
/// one).
pub async fn idempotent_with<W, Fut, R, RFut>(
    app: &App,
    req: &Request,
    scope: &str,
    keeping: Keeping<'_>,
    work: W,
    on_replay: R,
) -> Result<Response<Body>, ApiError>
where
    W: FnOnce(Attempt) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
    R: FnOnce(u16, String) -> RFut,
    RFut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let Some(key) = key_of(req)? else {
        return work(Attempt::default()).await;
    };
    let owner = evently_core::new_id();
    let claim = Claim {
        scope,
        key: &key,
        owner: &owner,
        request_hash: &keeping.fingerprint,
    };
    let lease = evently_store::retry::remaining().map_or(DEFAULT_LEASE_SECS, |left| {
        left.as_secs() as i64 + 1 + LEASE_MARGIN_SECS
    });
    let attempt = match app
        .store
        .begin_idempotent(&claim, app.clock.now(), lease)
        .await?
    {
        Begin::Started { recovering } => Attempt { recovering },
        Begin::Replay { status, body } => return on_replay(status, body).await,
        other => return used(other),
    };
    if attempt.recovering {
        tracing::warn!(
            scope,
            "taking over an Idempotency-Key whose request never finished"
        );
    }
    let resp = work(attempt).await.unwrap_or_else(ApiError::into_response);
    let status = resp.status().as_u16();
    // The work is done (or failed on our side): the client gets its answer
    // even if recording it fails; a retry then recovers.
    let recorded = if status >= 500 {
        app.store.abandon_idempotent(&claim).await
    } else {
        let kept = if status < 300 {
            (keeping.keep)(&body_text(&resp))
        } else {
            body_text(&resp)
        };
        app.store.finish_idempotent(&claim, status, &kept).await
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, status, "answer not recorded under its Idempotency-Key; a retry recovers");
    }
    Ok(resp)
}
