//! GET /api/v1/events — published events by start time, paged by cursor.
//! Query: `limit` (1–100, default 20), `cursor`, `from`/`to` (RFC 3339
//! bounds on the start; `from` defaults to now, so past events drop off),
//! `q` (case-insensitive substring of the name). Availability comes from
//! each event's analytics counters (two reads per event, a stream's lag
//! behind); one event's own page (`events-get`) counts its seats exactly.

use chrono::{DateTime, Utc};
use evently_core::clock::rfc3339;
use evently_http::request::query_param;
use evently_http::response::ok;
use evently_http::views::{futures_join, EventView};
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::{CatalogQuery, Cursor};
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(list(app, req))
}

fn time_param(req: &Request, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    query_param(req, name)
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "`{name}` must be an RFC 3339 time like 2030-01-31T20:00:00Z"
                    ))
                })
        })
        .transpose()
}

async fn list(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let now = app.clock.now();
    let limit = match query_param(&req, "limit") {
        None => 20,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest("`limit` must be a whole number from 1 to 100".into())
            })?,
    };
    let cursor = query_param(&req, "cursor")
        .filter(|c| !c.is_empty())
        .map(|c| {
            Cursor::decode(&c)
                .ok_or_else(|| ApiError::BadRequest("`cursor` is not one this API issued".into()))
        })
        .transpose()?;
    let from = time_param(&req, "from")?.unwrap_or(now);
    let to = time_param(&req, "to")?;
    if to.is_some_and(|to| to < from) {
        return Err(ApiError::BadRequest("`to` is before `from`".into()));
    }
    let q = query_param(&req, "q")
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::BadRequest(
            "`q` is longer than 100 characters".into(),
        ));
    }
    let query = CatalogQuery {
        from: Some(rfc3339(from)),
        to: to.map(rfc3339),
        q,
        limit,
        cursor,
    };
    if query.cursor.as_ref().is_some_and(|c| !c.fits(&query)) {
        // A cursor from another window (or forged): it cannot resume this one.
        return Err(ApiError::BadRequest(
            "`cursor` does not belong to this `from`/`to` window; start again without it".into(),
        ));
    }
    let page = app.store.list_catalog(&query).await?;
    let events = futures_join(
        page.events
            .iter()
            .map(|e| EventView::from_counters(app, e, now)),
    )
    .await?;
    ok(&json!({ "events": events, "next_cursor": page.next.map(|c| c.encode()) }))
}
