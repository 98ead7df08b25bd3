//! An event's door staff, managed by its organizer:
//! - GET /api/v1/admin/events/{event_id}/staff — who they are, in the
//!   order they were added (200 `{staff: [...]}`);
//! - POST /api/v1/admin/events/{event_id}/staff `{email}` — lets that
//!   existing account check tickets in and read the attendee list of this
//!   event only (201; adding someone again changes nothing but the date);
//! - DELETE /api/v1/admin/events/{event_id}/staff/{user_id} — takes it
//!   away (204; 404 when they were not staff).

use evently_http::admin::{organizer, owned_event};
use evently_http::request::{json_body, path_param};
use evently_http::response::{created, ok};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::StaffMember;
use lambda_http::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Add {
    email: String,
}

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(route(app, req))
}

async fn route(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = organizer(app, &req).await?;
    let event = owned_event(app, &claims, &path_param(&req, "event_id")?).await?;
    match *req.method() {
        Method::POST => {
            let body: Add = json_body(&req)?;
            let email = evently_core::user::normalize_email(&body.email)?;
            let Some(user) = app.store.user_by_email(&email).await? else {
                return Err(ApiError::Unprocessable {
                    field: "email".into(),
                    message: "no account has this email; they register first".into(),
                });
            };
            let member = StaffMember {
                event_id: event.id.clone(),
                user_id: user.id.clone(),
                email: user.email.clone(),
                name: user.name.clone(),
                added_at: app.clock.now(),
            };
            app.store.add_staff(&member).await?;
            created(&json!({ "staff": view(&member) }))
        }
        Method::GET => {
            let staff = app.store.event_staff(&event.id).await?;
            ok(&json!({ "staff": staff.iter().map(view).collect::<Vec<_>>() }))
        }
        Method::DELETE => {
            let user_id = path_param(&req, "user_id")?;
            if !evently_core::ids::is_ulid(&user_id)
                || !app.store.remove_staff(&event.id, &user_id).await?
            {
                return Err(ApiError::NotFound(format!(
                    "`{user_id}` is not door staff of this event"
                )));
            }
            let mut resp = Response::new(Body::Empty);
            *resp.status_mut() = StatusCode::NO_CONTENT;
            Ok(resp)
        }
        _ => Err(ApiError::MethodNotAllowed("GET, POST or DELETE".into())),
    }
}

fn view(member: &StaffMember) -> serde_json::Value {
    json!({
        "user_id": member.user_id,
        "email": member.email,
        "name": member.name,
        "event_id": member.event_id,
        "added_at": evently_core::clock::rfc3339(member.added_at),
    })
}
