//! Venue templates, one function for the resource (ARCHITECTURE.md lets
//! admin routes share one per resource):
//! - POST /api/v1/admin/venues — create a template
//! - GET /api/v1/admin/venues — the caller's templates
//! - GET /api/v1/admin/venues/{venue_id} — one, with every seat's position
//! - PUT /api/v1/admin/venues/{venue_id} — replace it (events already
//!   created from it keep their own copy and never change)

use evently_core::admin::VenueInput;
use evently_core::new_id;
use evently_http::admin::{organizer, owned_venue, stamp, VenueView};
use evently_http::idempotency::idempotent;
use evently_http::request::json_body;
use evently_http::response::{created, ok};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use lambda_http::http::Method;
use lambda_http::RequestExt;
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(route(app, req))
}

async fn route(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let venue_id = req.path_parameters().first("venue_id").map(str::to_owned);
    match (req.method().clone(), venue_id) {
        (Method::POST, None) => create(app, req).await,
        (Method::GET, None) => list(app, req).await,
        (Method::GET, Some(id)) => get(app, req, &id).await,
        (Method::PUT, Some(id)) => replace(app, req, &id).await,
        (method, _) => Err(ApiError::MethodNotAllowed(format!(
            "{method} is not served here"
        ))),
    }
}

async fn create(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = organizer(app, &req).await?;
    // A retried POST with the same Idempotency-Key makes one template.
    idempotent(app, &req, &claims.sub, |_| make(app, &req, &claims.sub)).await
}

async fn make(app: &App, req: &Request, owner: &str) -> Result<Response<Body>, ApiError> {
    let input: VenueInput = json_body(req)?;
    let venue = input.into_template(new_id(), owner.to_owned(), stamp(app.clock.now()))?;
    app.store.put_venue(&venue).await?;
    created(&json!({ "venue": VenueView::of(&venue, false) }))
}

async fn list(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = organizer(app, &req).await?;
    let venues = app.store.owner_venues(&claims.sub).await?;
    let views: Vec<VenueView> = venues.iter().map(|v| VenueView::of(v, false)).collect();
    ok(&json!({ "venues": views }))
}

async fn get(app: &App, req: Request, id: &str) -> Result<Response<Body>, ApiError> {
    let claims = organizer(app, &req).await?;
    let venue = owned_venue(app, &claims, id).await?;
    ok(&json!({ "venue": VenueView::of(&venue, true) }))
}

async fn replace(app: &App, req: Request, id: &str) -> Result<Response<Body>, ApiError> {
    let claims = organizer(app, &req).await?;
    let current = owned_venue(app, &claims, id).await?;
    let input: VenueInput = json_body(&req)?;
    let venue = input.into_template(
        current.id.clone(),
        current.owner_id.clone(),
        current.created_at.clone(),
    )?;
    if !app.store.replace_venue(&venue).await? {
        // Deleted or handed over between the read and the write.
        return Err(ApiError::conflict("the venue changed meanwhile; retry"));
    }
    ok(&json!({ "venue": VenueView::of(&venue, false) }))
}
