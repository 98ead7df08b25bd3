//! DELETE /api/v1/waitlist/{event_id} — leave the line.

use evently_core::{EntryStatus, OfferStatus};
use evently_http::request::path_param;
use evently_http::views::own_entry;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use lambda_http::http::StatusCode;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(leave(app, req))
}

async fn leave(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.authenticate(&req).await?;
    let entry = own_entry(app, &path_param(&req, "event_id")?, &claims.sub).await?;
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
        // Leaving with an open offer passes it on: its seats become reserved
        // again and the stream hands them to the next in line.
        EntryStatus::Offered => {
            let offer = match &entry.claim_token {
                Some(token) => app.store.get_offer(token).await?,
                None => None,
            };
            let Some(offer) = offer else {
                return Err(ApiError::Internal(format!(
                    "offered entry {} without its offer",
                    entry.id
                )));
            };
            if !app
                .store
                .end_offer(
                    &offer,
                    OfferStatus::Withdrawn,
                    EntryStatus::Left,
                    app.clock.now(),
                )
                .await?
            {
                return Err(ApiError::conflict(
                    "your offer changed meanwhile; check its status",
                ));
            }
        }
        _ => {
            return Err(ApiError::NotFound(
                "you are not waiting for this event".into(),
            ))
        }
    }
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}
