//! DELETE /api/v1/waitlist/{event_id} — leave the line.

use evently_core::EntryStatus;
use evently_http::request::path_param;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use lambda_http::http::StatusCode;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(leave(app, req))
}

async fn leave(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.tokens.authenticate(&req)?;
    let event_id = path_param(&req, "event_id")?;
    let missing = || ApiError::NotFound("you are not waiting for this event".into());
    if !evently_core::ids::is_ulid(&event_id) {
        return Err(missing());
    }
    let entry = app
        .store
        .user_entry(&claims.sub, &event_id)
        .await?
        .ok_or_else(missing)?;
    match entry.status {
        EntryStatus::Waiting => {
            if !app
                .store
                .set_entry_status(&entry, EntryStatus::Waiting, EntryStatus::Left)
                .await?
            {
                return Err(ApiError::conflict(
                    "your entry changed meanwhile; check its status",
                ));
            }
        }
        // Offers (and passing an open offer on when leaving) come with the
        // waitlist worker; until then an entry is never offered.
        EntryStatus::Offered => {
            return Err(ApiError::conflict(
                "you hold an offer for this event; let it expire or book it",
            ))
        }
        _ => return Err(missing()),
    }
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}
