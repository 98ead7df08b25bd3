//! DELETE /api/v1/seats/hold/{hold_id} — give back your own hold's seats.
//! Releasing a hold that already ended (released or expired) is a no-op.

use evently_core::HoldStatus;
use evently_http::request::path_param;
use evently_http::response::no_content;
use evently_http::views::own_hold;
use evently_http::{reply, ApiError, App, Body, Claims, Reply, Request, Response};

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(release(app, req))
}

async fn release(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    // The session's token version is checked in the release's transaction
    // (two requests in all); an answer without a write checks it by a read.
    let claims = app.tokens.authenticate(&req).await?;
    let done = app
        .session_checked(&claims, release_as(app, &req, &claims).await)
        .await?;
    if !done.wrote {
        app.session_current(&claims).await?;
    }
    Ok(no_content())
}

/// How a release ended: `wrote` when its transaction committed (and so
/// checked the session).
struct Released {
    wrote: bool,
}

async fn release_as(app: &App, req: &Request, claims: &Claims) -> Result<Released, ApiError> {
    let hold_id = path_param(req, "hold_id")?;
    // Two rounds: if the hold changes under us (it expired, or a confirm won
    // the race), read it again and answer for what it became.
    for _ in 0..2 {
        let hold = own_hold(app, &hold_id, &claims.sub).await?;
        match hold.status {
            HoldStatus::Confirmed => {
                return Err(ApiError::conflict(
                    "this hold was confirmed into a booking; cancel the booking instead",
                ))
            }
            HoldStatus::Released => return Ok(Released { wrote: false }),
            HoldStatus::Active if !hold.is_live(app.clock.now()) => {
                let wrote = app.store.retire_hold(&hold, Some(claims.ver)).await?;
                return Ok(Released { wrote });
            }
            HoldStatus::Active => {
                if app.store.release_hold(&hold, Some(claims.ver)).await? {
                    return Ok(Released { wrote: true });
                }
            }
        }
    }
    Err(ApiError::conflict(
        "the hold is changing right now; try again",
    ))
}
