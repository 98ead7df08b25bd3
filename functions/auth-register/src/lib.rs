//! POST /api/v1/auth/register — create a customer account and log it in.
//!
//! With an Idempotency-Key, nothing secret is kept: the key's fingerprint
//! covers the email and name but not the password, and the stored answer
//! keeps the user but not the access token. A replay checks the password
//! against the account and issues a fresh token. Failed registrations
//! (taken email, refused password) count against the source address.

use evently_core::user::{normalize_email, normalize_name, validate_password};
use evently_core::{new_id, Role, User};
use evently_http::auth::{hash_password, verify_password};
use evently_http::idempotency::{fingerprint, idempotent_with, mark_replayed, replay, Keeping};
use evently_http::request::json_body;
use evently_http::response::created;
use evently_http::throttle::{self, register_limits, source_ip};
use evently_http::views::Session;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::StoreError;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    email: String,
    password: String,
    name: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(register(app, req))
}

async fn register(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let limits = register_limits(app, &source_ip(app, &req).await);
    throttle::check(app, &limits).await?;
    let outcome = keyed(app, &req).await;
    let status = match &outcome {
        Ok(resp) => resp.status().as_u16(),
        Err(e) => e.status().as_u16(),
    };
    if status == 409 || status == 422 {
        throttle::failed(app, &limits).await;
    }
    outcome
}

async fn keyed(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    let body: Registration = json_body(req)?;
    let email = normalize_email(&body.email)?;
    let name = normalize_name(&body.name)?;
    // No user yet: the keys of registrations share one scope.
    let keeping = Keeping {
        fingerprint: fingerprint(req, &[email.as_bytes(), name.as_bytes()]),
        keep: &keep_user,
    };
    idempotent_with(
        app,
        req,
        "register",
        keeping,
        |attempt| create(app, &body, email.clone(), name.clone(), attempt.recovering),
        |status, stored| replayed(app, status, stored, &email, &body.password),
    )
    .await
}

/// What a successful registration keeps for replays: the user, no token.
fn keep_user(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .map(|v| serde_json::json!({ "user": v["user"] }).to_string())
        .unwrap_or_default()
}

/// A replay of a registration: the same account, a fresh token, and only
/// for the password it was created with.
async fn replayed(
    app: &App,
    status: u16,
    stored: String,
    email: &str,
    password: &str,
) -> Result<Response<Body>, ApiError> {
    if status != 201 {
        return replay(status, stored);
    }
    let mut resp = log_in(app, email, password)
        .await?
        .ok_or_else(|| ApiError::Unprocessable {
            field: "Idempotency-Key".into(),
            message: "this key was already used for a different request".into(),
        })?;
    mark_replayed(&mut resp);
    Ok(resp)
}

/// 201 with a session when `password` is the account's.
async fn log_in(
    app: &App,
    email: &str,
    password: &str,
) -> Result<Option<Response<Body>>, ApiError> {
    match app.store.find_login(email).await? {
        Some(account) if verify_password(password, &account.password_hash) => Ok(Some(created(
            &Session::issue(app, account.user, account.token_version).await?,
        )?)),
        _ => Ok(None),
    }
}

async fn create(
    app: &App,
    body: &Registration,
    email: String,
    name: String,
    recovering: bool,
) -> Result<Response<Body>, ApiError> {
    validate_password(&body.password, &email)?;
    let user = User {
        id: new_id(),
        email,
        name,
        role: Role::Customer,
    };
    let hash = hash_password(&body.password)?;
    let now = evently_core::clock::rfc3339(app.clock.now());
    match app.store.create_user(&user, &hash, &now).await {
        Ok(()) => created(&Session::issue(app, user, 0).await?),
        Err(StoreError::EmailTaken) => {
            // A retry of a registration that died after creating the
            // account finds it: with the same password it is this
            // request's success.
            if recovering {
                if let Some(resp) = log_in(app, &user.email, &body.password).await? {
                    return Ok(resp);
                }
            }
            Err(ApiError::conflict(
                "that email address is already registered",
            ))
        }
        Err(e) => Err(e.into()),
    }
}
