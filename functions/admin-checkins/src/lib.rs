//! POST /api/v1/admin/events/{event_id}/check-ins `{code}` — the door
//! scans a ticket. 200 the first time; 409 (with when it was first
//! scanned) every later time; 410 for a ticket whose booking was
//! cancelled; 422 for a code we did not sign or a ticket of another event.
//! The event's organizer (or an admin) and its door staff may scan. One
//! conditional write decides: of two doors scanning one ticket at once,
//! exactly one lets it in.

use evently_core::TicketRef;
use evently_http::admin::door_event;
use evently_http::request::{json_body, path_param};
use evently_http::response::ok;
use evently_http::tickets::TicketView;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::CheckIn;
use serde::Deserialize;
use serde_json::{json, Map};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scan {
    code: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(check_in(app, req))
}

fn not_ours() -> ApiError {
    ApiError::Unprocessable {
        field: "code".into(),
        message: "this is not a ticket for this event".into(),
    }
}

/// The scanned ticket as the door sees it.
fn ticket_of(booking: &evently_core::Booking, at: &TicketRef) -> Result<TicketView, ApiError> {
    booking
        .tickets()
        .into_iter()
        .find(|t| t.at == *at)
        .map(|t| TicketView::from(&t))
        .ok_or_else(not_ours)
}

async fn check_in(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let event_id = path_param(&req, "event_id")?;
    let (_, event) = door_event(app, &req, &event_id).await?;
    let scan: Scan = json_body(&req)?;
    let code = scan.code.trim();
    if code.is_empty() || code.len() > 200 {
        return Err(ApiError::Unprocessable {
            field: "code".into(),
            message: "scan a ticket's code".into(),
        });
    }
    let Some(at) = app.tokens.read_ticket_code(code).await? else {
        return Err(not_ours());
    };
    match app.store.check_in(&event.id, &at, app.clock.now()).await? {
        CheckIn::Admitted(booking) => {
            let ticket = ticket_of(&booking, &at)?;
            let at_time = ticket.checked_in_at.clone();
            ok(&json!({ "ticket": ticket, "checked_in_at": at_time }))
        }
        CheckIn::Again(booking) => {
            let ticket = ticket_of(&booking, &at)?;
            let mut extras = Map::new();
            extras.insert("checked_in_at".into(), json!(ticket.checked_in_at));
            extras.insert("ticket".into(), json!(ticket));
            Err(ApiError::Conflict(
                "this ticket was already checked in".into(),
                extras,
            ))
        }
        CheckIn::Void(_) => Err(ApiError::Gone(
            "this ticket's booking was cancelled; the ticket is void".into(),
        )),
        CheckIn::NotHere => Err(not_ours()),
    }
}
