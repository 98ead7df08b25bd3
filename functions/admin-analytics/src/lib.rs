//! Analytics, answered from the counters the stream maintains (never by
//! reading seats or bookings):
//! - GET /api/v1/admin/events/{event_id}/analytics — one event
//! - GET /api/v1/admin/analytics — totals over the caller's events (all
//!   events for an admin), with a line per event

use std::collections::BTreeMap;

use evently_analytics::Counter;
use evently_core::{Money, Role};
use evently_http::admin::{organizer, owned_event};
use evently_http::response::ok;
use evently_http::{reply, ApiError, App, Body, Reply, Request, Response};
use evently_store::EventCounters;
use lambda_http::RequestExt;
use serde::Serialize;
use serde_json::json;

pub fn handler(app: &'static App, req: Request) -> Reply {
    reply(route(app, req))
}

#[derive(Debug, Serialize)]
pub struct WaitlistFigures {
    /// Entries waiting now.
    pub waiting: i64,
    /// Offers made, and how many of them were booked / ran out.
    pub offered: i64,
    pub converted: i64,
    pub expired: i64,
    /// Offers taken back (undeliverable email, the user left, the event was
    /// cancelled).
    pub withdrawn: i64,
}

#[derive(Debug, Serialize)]
pub struct Figures {
    pub capacity: i64,
    /// Seats booked now.
    pub sold: i64,
    /// Seats in holds (and waitlist offers) that have not ended or expired.
    pub held: i64,
    /// Seats on their way to the waitlist worker.
    pub reserved: i64,
    /// capacity − sold − held − reserved (0 for a cancelled event).
    pub available: i64,
    /// Confirmed sales minus refunds: what the organizer keeps.
    pub revenue: Money,
    /// Everything ever charged for confirmed bookings.
    pub gross_sales: Money,
    pub bookings: i64,
    pub cancellations: i64,
    pub refunds: Money,
    /// Tickets scanned in at the door.
    pub checked_in: i64,
    /// sold / capacity, 0–1.
    pub utilization: f64,
    pub waitlist: WaitlistFigures,
    /// converted / offered, 0–1 (0 before any offer).
    pub offer_conversion_rate: f64,
}

fn ratio(a: i64, b: i64) -> f64 {
    if b <= 0 {
        0.0
    } else {
        ((a as f64 / b as f64) * 10_000.0).round() / 10_000.0
    }
}

/// Sums counters (one event, or many for the overview) into the figures.
fn figures<'a>(all: impl IntoIterator<Item = &'a EventCounters>) -> Figures {
    let mut sum: BTreeMap<Counter, i64> = BTreeMap::new();
    let (mut capacity, mut held, mut available) = (0, 0, 0);
    for c in all {
        capacity += c.capacity;
        held += c.held;
        available += c.available();
        for (k, v) in &c.counts {
            *sum.entry(*k).or_default() += v;
        }
    }
    let get = |c: Counter| sum.get(&c).copied().unwrap_or(0);
    let sold = get(Counter::Sold);
    let reserved = get(Counter::Reserved);
    let offered = get(Counter::OffersMade);
    let converted = get(Counter::OffersTaken);
    Figures {
        capacity,
        sold,
        held,
        reserved,
        available,
        revenue: Money::from_cents(get(Counter::SalesCents) - get(Counter::RefundsCents)),
        gross_sales: Money::from_cents(get(Counter::SalesCents)),
        bookings: get(Counter::Bookings),
        cancellations: get(Counter::Cancellations),
        refunds: Money::from_cents(get(Counter::RefundsCents)),
        checked_in: get(Counter::CheckedIn),
        utilization: ratio(sold, capacity),
        waitlist: WaitlistFigures {
            waiting: get(Counter::WaitlistWaiting),
            offered,
            converted,
            expired: get(Counter::OffersExpired),
            withdrawn: get(Counter::OffersWithdrawn),
        },
        offer_conversion_rate: ratio(converted, offered),
    }
}

async fn route(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = organizer(app, &req).await?;
    let now = app.clock.now();
    match req.path_parameters().first("event_id") {
        Some(id) => {
            let event = owned_event(app, &claims, id).await?;
            let counters = app
                .store
                .event_counters(&event.id, now)
                .await?
                .ok_or_else(|| {
                    ApiError::Internal(format!("event {} has no analytics item", event.id))
                })?;
            let mut body = serde_json::to_value(figures([&counters]))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            body["event_id"] = json!(event.id);
            body["status"] = json!(event.status);
            body["currency"] = json!(event.currency);
            // Sales over time, by hour (the dashboard's chart).
            let money = |cents: i64| evently_core::Money::from_cents(cents).to_string();
            body["sales_by_hour"] = app
                .store
                .sales_by_hour(&event.id)
                .await?
                .iter()
                .map(|h| {
                    let get = |c: Counter| h.counts.get(&c).copied().unwrap_or(0);
                    json!({
                        "hour": evently_core::clock::rfc3339(
                            chrono::DateTime::from_timestamp(h.hour, 0).unwrap_or_default()
                        ),
                        "bookings": get(Counter::Bookings),
                        "seats_sold": get(Counter::Sold),
                        "sales": money(get(Counter::SalesCents)),
                        "refunds": money(get(Counter::RefundsCents)),
                        "cancellations": get(Counter::Cancellations),
                    })
                })
                .collect();
            ok(&body)
        }
        None => {
            let owner = (claims.role != Role::Admin).then_some(claims.sub.as_str());
            let all = app.store.all_counters(owner, now).await?;
            let events: Vec<serde_json::Value> = all
                .iter()
                .map(|c| {
                    let f = figures([c]);
                    json!({
                        "event_id": c.event_id, "name": c.name, "status": c.status,
                        "currency": c.currency,
                        "capacity": f.capacity, "sold": f.sold, "revenue": f.revenue,
                        "utilization": f.utilization,
                    })
                })
                .collect();
            let mut body = serde_json::to_value(figures(&all))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            // Seats and counts add up across events; money only within a
            // currency, so the overview's money is per currency.
            let mut by_currency: BTreeMap<&str, Vec<&EventCounters>> = BTreeMap::new();
            for c in &all {
                by_currency.entry(c.currency.as_str()).or_default().push(c);
            }
            for field in ["revenue", "gross_sales", "refunds"] {
                let per: serde_json::Map<String, serde_json::Value> = by_currency
                    .iter()
                    .map(|(cur, events)| {
                        let f = serde_json::to_value(figures(events.iter().copied()))
                            .unwrap_or_default();
                        ((*cur).to_owned(), f[field].clone())
                    })
                    .collect();
                body[field] = json!(per);
            }
            body["event_count"] = json!(all.len());
            body["events"] = json!(events);
            ok(&body)
        }
    }
}
