//! POST /api/v1/auth/login — exchange email and password for an access token.
//! Failed attempts are counted per account and per source address; over
//! the limit the answer is 429 (see `evently_http::throttle`).

use evently_core::user::normalize_email;
use evently_http::auth::{burn_password_check, verify_password};
use evently_http::request::json_body;
use evently_http::response::ok;
use evently_http::throttle::{self, login_limits, source_ip};
use evently_http::views::Session;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(login(app, req))
}

async fn login(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let creds: Credentials = json_body(&req)?;
    let email = normalize_email(&creds.email).ok();
    let limits = login_limits(app, &source_ip(app, &req).await, email.as_deref());
    throttle::check(app, &limits).await?;
    // One answer for every failure, so the endpoint does not reveal which
    // addresses have accounts.
    let refused = || ApiError::Unauthorized("email or password is wrong".into());
    let account = match &email {
        Some(email) if creds.password.len() <= evently_core::user::MAX_PASSWORD_BYTES => {
            app.store.find_login(email).await?
        }
        _ => None,
    };
    match account {
        Some(account) if verify_password(&creds.password, &account.password_hash) => {
            ok(&Session::issue(app, account.user, account.token_version).await?)
        }
        other => {
            if other.is_none() {
                burn_password_check(&creds.password);
            }
            throttle::failed(app, &limits).await;
            Err(refused())
        }
    }
}
