//! GET /api/v1/waitlist/me — the caller's waitlist entries, newest first,
//! each as `waitlist/status` shows it (place in line while waiting, the
//! open offer while offered) with its event's name, start and venue, read
//! once per event.

use evently_core::clock::rfc3339;
use evently_http::response::ok;
use evently_http::views::EntryView;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(mine(app, req))
}

async fn mine(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    let mut entries = app.store.user_entries(&claims.sub).await?;
    entries.sort_by(|a, b| b.joined_at.cmp(&a.joined_at).then(b.id.cmp(&a.id)));
    let events = app
        .store
        .events_by_id(entries.iter().map(|e| e.event_id.as_str()))
        .await?;
    let views =
        futures::future::try_join_all(entries.iter().map(|e| EntryView::of(app, e))).await?;
    let listed: Vec<serde_json::Value> = views
        .into_iter()
        .map(|view| {
            let mut out = json!(view);
            if let Some(e) = events.get(view.event_id.as_str()) {
                out["event"] = json!({
                    "id": e.id,
                    "name": e.name,
                    "starts_at": rfc3339(e.starts_at),
                    "status": e.status,
                    "venue": e.venue,
                });
            }
            out
        })
        .collect();
    ok(&json!({ "entries": listed }))
}
