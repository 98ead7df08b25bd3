//! DELETE /api/v1/seats/hold/{hold_id} — give back your own hold's seats.
//! Releasing a hold that already ended (released or expired) is a no-op.

use evently_core::HoldStatus;
use evently_http::request::path_param;
use evently_http::views::own_hold;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use lambda_http::http::StatusCode;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(release(app, req))
}

fn no_content() -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

async fn release(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = app.tokens.authenticate(&req).await?;
    let hold_id = path_param(&req, "hold_id")?;
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
            HoldStatus::Released => return Ok(no_content()),
            HoldStatus::Active if !hold.is_live(app.clock.now()) => {
                app.store.retire_hold(&hold).await?;
                return Ok(no_content());
            }
            HoldStatus::Active => {
                if app.store.release_hold(&hold).await? {
                    return Ok(no_content());
                }
            }
        }
    }
    Err(ApiError::conflict(
        "the hold is changing right now; try again",
    ))
}
