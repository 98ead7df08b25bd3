//! GET /api/v1/notifications/me — the emails sent (or being tried) to you.

use evently_http::response::ok;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(mine(app, req))
}

async fn mine(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    let notes = app.store.user_notifications(&claims.sub).await?;
    let list: Vec<_> = notes
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                "kind": n.kind,
                "subject": n.subject,
                "channel": n.channel,
                "status": n.status,
                "attempts": n.attempts,
                "created_at": evently_core::clock::rfc3339(n.created_at),
                "sent_at": n.sent_at.map(evently_core::clock::rfc3339),
                "last_error": n.last_error,
            })
        })
        .collect();
    ok(&json!({ "notifications": list }))
}
