//! POST /api/v1/auth/register — create a customer account and log it in.

use evently_core::user::{normalize_email, normalize_name, validate_password};
use evently_core::{new_id, Role, User};
use evently_http::auth::hash_password;
use evently_http::idempotency::idempotent;
use evently_http::request::json_body;
use evently_http::response::created;
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
    // No user yet: the keys of registrations share one scope, and a replay
    // needs the same body, password included.
    idempotent(app, &req, "register", create(app, &req)).await
}

async fn create(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    let body: Registration = json_body(req)?;
    let email = normalize_email(&body.email)?;
    let name = normalize_name(&body.name)?;
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
        Ok(()) => created(&Session::issue(app, user)?),
        Err(StoreError::EmailTaken) => Err(ApiError::conflict(
            "that email address is already registered",
        )),
        Err(e) => Err(e.into()),
    }
}
