//! The waiting room as the API shows it: a ticket's standing, admission
//! tokens, and the check a hold makes (rules in evently_core's queue.rs).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use evently_core::{Event, QueueState, QueueTicket, Standing};
use lambda_http::Request;
use serde_json::{json, Value};

use crate::auth::{AdmissionClaims, ADMISSION_AUDIENCE, ISSUER};
use crate::{ApiError, App};

/// The header a hold carries while an event has a waiting room.
pub const ADMISSION_HEADER: &str = "admission-token";

/// The admitter's state of `event_id`'s line, from this function's copy
/// when fresh enough (`Config::queue_cache_ms`): every waiting person polls
/// it, and the admitter changes it once a step.
pub async fn queue_state(app: &App, event_id: &str) -> Result<Arc<QueueState>, ApiError> {
    let max_age = std::time::Duration::from_millis(app.config.queue_cache_ms);
    let read = async { Ok::<_, ApiError>(app.store.queue_state(event_id, false).await?) };
    app.queues.get_or_load(event_id, max_age, read).await
}

/// The ticket as its owner sees it at `now`; an admitted ticket carries a
/// signed admission token valid until its window ends.
pub async fn ticket_view(
    app: &App,
    event: &Event,
    ticket: &QueueTicket,
    state: &QueueState,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let Some(admission) = &event.admission else {
        return Err(ApiError::conflict(
            "this event no longer has a waiting room",
        ));
    };
    let mut view = json!({
        "id": ticket.id,
        "event_id": event.id,
        "joined_at": evently_core::clock::rfc3339(ticket.joined_at),
    });
    match state.standing(ticket, admission, now) {
        Standing::Waiting {
            position,
            estimated_wait_seconds,
        } => {
            view["status"] = json!("waiting");
            view["position"] = json!(position);
            view["estimated_wait_seconds"] = json!(estimated_wait_seconds);
        }
        Standing::Admitted { until } => {
            let token = app
                .tokens
                .issue_admission(&AdmissionClaims {
                    sub: ticket.user_id.clone(),
                    evt: event.id.clone(),
                    tkt: ticket.id.clone(),
                    iat: now.timestamp(),
                    exp: until.timestamp(),
                    iss: ISSUER.into(),
                    aud: ADMISSION_AUDIENCE.into(),
                })
                .await?;
            view["status"] = json!("admitted");
            view["position"] = json!(0);
            view["estimated_wait_seconds"] = json!(0);
            view["admission_token"] = json!(token);
            view["admitted_until"] = json!(evently_core::clock::rfc3339(until));
        }
        Standing::Expired => {
            view["status"] = json!("expired");
            view["position"] = json!(0);
            view["estimated_wait_seconds"] = json!(0);
        }
    }
    Ok(view)
}

/// While `event` has a waiting room, a hold must carry an admission of
/// `user_id` to this event that has not run out: 403 otherwise. Checked
/// from the token alone (signed, bound to user and event, with its window
/// as expiry): no read on the hold's path.
pub async fn require_admission(
    app: &App,
    req: &Request,
    event: &Event,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if event.admission.is_none() {
        return Ok(());
    }
    let Some(token) = req
        .headers()
        .get(ADMISSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(ApiError::Forbidden(format!(
            "this on-sale has a waiting room: join it (POST /api/v1/events/{}/queue) and \
             send the admission token it gives you as Admission-Token",
            event.id
        )));
    };
    match app.tokens.verify_admission(token).await? {
        Some(c) if c.sub == user_id && c.evt == event.id => {
            if c.exp <= now.timestamp() {
                Err(ApiError::Forbidden(
                    "your admission has expired; join the waiting room again".into(),
                ))
            } else {
                Ok(())
            }
        }
        _ => Err(ApiError::Forbidden(
            "this Admission-Token is not an admission of yours to this event".into(),
        )),
    }
}
