//! Throttling of credential guessing: failed logins per account and per
//! source address, failed registrations (taken emails, refused passwords:
//! the way to probe which addresses have accounts) per source address.
//! Counted in the table with TTL; over the limit the answer is 429 with
//! `Retry-After` until the window ends, even for a correct password.

use evently_store::Limit;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::{ApiError, App};

/// The client's address: the viewer's as CloudFront vouched for it (see
/// `crate::edge`), else as API Gateway saw it (the local gateway fills in
/// the TCP peer); "unknown" when there is none.
pub async fn source_ip(app: &App, req: &Request) -> String {
    if let Some(viewer) = app.edge.viewer_ip(req).await {
        return viewer;
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
    .filter(|ip| !ip.is_empty())
    .unwrap_or_else(|| "unknown".into())
}

/// The limits a login for `email` from `ip` counts against.
pub fn login_limits(app: &App, ip: &str, email: Option<&str>) -> Vec<Limit> {
    let c = &app.config;
    let mut limits = vec![Limit {
        subject: format!("login-ip#{ip}"),
        max_failures: c.login_failures_per_ip,
        window_secs: c.throttle_window_secs,
    }];
    if let Some(email) = email {
        limits.push(Limit {
            subject: format!("login-account#{email}"),
            max_failures: c.login_failures_per_account,
            window_secs: c.throttle_window_secs,
        });
    }
    limits
}

/// The limits password reset requests count against, every request (not
/// only failures: each one sends an email): per source address and per
/// address asked for, whether or not it has an account.
pub fn reset_limits(app: &App, ip: &str, email: &str) -> Vec<Limit> {
    let c = &app.config;
    vec![
        Limit {
            subject: format!("reset-ip#{ip}"),
            max_failures: c.login_failures_per_ip,
            window_secs: c.throttle_window_secs,
        },
        Limit {
            subject: format!("reset-account#{email}"),
            max_failures: c.login_failures_per_account,
            window_secs: c.throttle_window_secs,
        },
    ]
}

/// The limit registrations from `ip` count against.
pub fn register_limits(app: &App, ip: &str) -> Vec<Limit> {
    vec![Limit {
        subject: format!("register-ip#{ip}"),
        max_failures: app.config.register_failures_per_ip,
        window_secs: app.config.throttle_window_secs,
    }]
}

/// 429 when any limit is used up.
pub async fn check(app: &App, limits: &[Limit]) -> Result<(), ApiError> {
    match app.store.throttled(limits, app.clock.now()).await? {
        Some(retry_after) => Err(ApiError::TooManyRequests {
            detail: "too many failed attempts; wait before trying again".into(),
            retry_after: retry_after as u64,
        }),
        None => Ok(()),
    }
}

/// Counts a failure; a counter that cannot be written is logged, never
/// turned into a different answer.
pub async fn failed(app: &App, limits: &[Limit]) {
    if let Err(e) = app.store.count_failure(limits, app.clock.now()).await {
        tracing::warn!(error = %e, "failed attempt not counted");
    }
}
