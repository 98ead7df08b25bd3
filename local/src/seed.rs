//! The demo data of API.md: four users, three reusable venue templates (one
//! arena of 4,200 seats) and published events on them, among them "Evently
//! Demo Night" with exactly two seats in section A at 120.00.

use chrono::{DateTime, Duration, DurationRound, Utc};
use evently_core::{
    new_id, CancellationPolicy, Event, EventSection, EventStatus, FeeType, Money, Role, Seating,
    SectionTemplate, User, VenueRef, VenueTemplate,
};
use evently_http::auth::hash_password;
use evently_store::{Store, StoreError};

pub const DEMO_PASSWORD: &str = "evently-demo";
pub const ORGANIZER_EMAIL: &str = "organizer@example.com";
pub const DEMO_NIGHT: &str = "Evently Demo Night";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedSize {
    /// Everything, including the 4,200-seat arena.
    Full,
    /// Without the arena event: for tests that only need the shapes.
    Small,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

/// What was loaded, for the banner and for tests.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub users: Vec<User>,
    pub events: Vec<Event>,
    pub seats: usize,
}

fn section(
    id: &str,
    name: &str,
    rows: u32,
    per_row: u32,
    price: i64,
    origin_y: u32,
) -> SectionTemplate {
    SectionTemplate {
        id: id.into(),
        name: name.into(),
        rows,
        seats_per_row: per_row,
        default_price: Money::from_cents(price * 100),
        origin_x: 0,
        origin_y,
        gaps: vec![],
    }
}

struct EventPlan<'a> {
    name: &'a str,
    description: &'a str,
    venue: &'a VenueTemplate,
    starts_in_days: i64,
    hours: i64,
    prices: &'a [(&'a str, i64)],
    policy: CancellationPolicy,
}

/// Loads the demo data unless the organizer account already exists.
/// Returns None when it was already there.
pub async fn seed(
    store: &Store,
    now: DateTime<Utc>,
    size: SeedSize,
) -> Result<Option<Seeded>, SeedError> {
    if store.find_login(ORGANIZER_EMAIL).await?.is_some() {
        return Ok(None);
    }
    let created = evently_core::clock::rfc3339(now);
    let hash = hash_password(DEMO_PASSWORD).map_err(|e| SeedError::Other(e.to_string()))?;
    let people = [
        (ORGANIZER_EMAIL, "Olivia Organizer", Role::Organizer),
        ("user1@example.com", "Ada Lovelace", Role::Customer),
        ("user2@example.com", "Ben Okafor", Role::Customer),
        ("user3@example.com", "Chen Wei", Role::Customer),
    ];
    let mut users = Vec::new();
    for (email, name, role) in people {
        let user = User {
            id: new_id(),
            email: email.into(),
            name: name.into(),
            role,
        };
        store.create_user(&user, &hash, &created).await?;
        users.push(user);
    }
    let owner = users[0].id.clone();
    let venue = |name: &str, city: &str, sections: Vec<SectionTemplate>| VenueTemplate {
        id: new_id(),
        owner_id: owner.clone(),
        name: name.into(),
        city: city.into(),
        sections,
        created_at: created.clone(),
    };
    let arena = venue(
        "Harbor Arena",
        "Lisbon",
        vec![
            section("FLOOR", "Floor", 20, 30, 150, 0),
            section("LOWER", "Lower Bowl", 40, 40, 95, 250),
            section("UPPER", "Upper Bowl", 40, 50, 55, 700),
        ],
    );
    let mut theater = venue(
        "Old Town Theater",
        "Porto",
        vec![
            section("ORCH", "Orchestra", 15, 20, 80, 0),
            section("MEZZ", "Mezzanine", 8, 20, 60, 200),
        ],
    );
    // Two pillars in the orchestra.
    theater.sections[0].gaps = vec![
        evently_core::SeatId::new("ORCH", 8, 5),
        evently_core::SeatId::new("ORCH", 8, 16),
    ];
    let studio = venue(
        "Evently Studio",
        "Berlin",
        vec![section("A", "Section A", 1, 2, 120, 0)],
    );
    for v in [&arena, &theater, &studio] {
        v.validate().map_err(|e| SeedError::Other(e.to_string()))?;
        store.put_venue(v).await?;
    }

    let free = CancellationPolicy::free_until_start();
    let mut plans = vec![
        EventPlan {
            name: DEMO_NIGHT,
            description: "An intimate evening for two: the seed walkthrough's event. Book both seats, cancel, and watch the waitlist at work.",
            venue: &studio,
            starts_in_days: 30,
            hours: 3,
            prices: &[("A", 120)],
            policy: free.clone(),
        },
        EventPlan {
            name: "Midnight Jazz Quartet",
            description: "Late-night standards and originals from a quartet that has toured three continents.",
            venue: &theater,
            starts_in_days: 14,
            hours: 2,
            prices: &[("ORCH", 65), ("MEZZ", 45)],
            policy: CancellationPolicy {
                allowed: true,
                deadline_hours: 24,
                fee_type: FeeType::Fixed,
                fee_value: Money::from_cents(500),
            },
        },
        EventPlan {
            name: "Chamber Strings: Late Beethoven",
            description: "The late string quartets in two evenings. Final sale: no cancellations.",
            venue: &theater,
            starts_in_days: 60,
            hours: 2,
            prices: &[("ORCH", 90), ("MEZZ", 70)],
            policy: CancellationPolicy {
                allowed: false,
                ..free.clone()
            },
        },
    ];
    if size == SeedSize::Full {
        plans.push(EventPlan {
            name: "Harbor Lights Festival",
            description: "Six bands, one night, 4,200 seats on the waterfront.",
            venue: &arena,
            starts_in_days: 45,
            hours: 5,
            prices: &[("FLOOR", 150), ("LOWER", 95), ("UPPER", 55)],
            policy: CancellationPolicy {
                allowed: true,
                deadline_hours: 48,
                fee_type: FeeType::Percentage,
                fee_value: Money::from_cents(1_000),
            },
        });
    }

    let day_start = now.duration_trunc(Duration::days(1)).unwrap_or(now);
    let mut events = Vec::new();
    let mut seats = 0;
    for plan in plans {
        let starts_at = day_start + Duration::days(plan.starts_in_days) + Duration::hours(19);
        let sections: Vec<EventSection> = plan
            .venue
            .sections
            .iter()
            .map(|s| EventSection {
                id: s.id.clone(),
                name: s.name.clone(),
                price: plan
                    .prices
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .map_or(s.default_price, |(_, p)| Money::from_cents(p * 100)),
                capacity: s.capacity(),
            })
            .collect();
        let event = Event {
            id: new_id(),
            owner_id: owner.clone(),
            name: plan.name.into(),
            description: plan.description.into(),
            starts_at,
            ends_at: starts_at + Duration::hours(plan.hours),
            status: EventStatus::Published,
            currency: "USD".into(),
            venue: VenueRef {
                id: plan.venue.id.clone(),
                name: plan.venue.name.clone(),
                city: plan.venue.city.clone(),
            },
            sections,
            cancellation_policy: plan.policy,
            created_at: now,
            seating: Seating::Ready,
            cancelled_at: None,
            cancel_runs: 0,
            seating_runs: 0,
            admission: None,
            layout: plan.venue.sections.clone(),
        };
        event
            .validate()
            .map_err(|e| SeedError::Other(e.to_string()))?;
        // Seats first: a published event is never without its seats.
        for (template, sold) in plan.venue.sections.iter().zip(&event.sections) {
            let positions = template.seats();
            seats += positions.len();
            store.put_seats(&event.id, &positions, sold.price).await?;
        }
        store.create_event(&event).await?;
        events.push(event);
    }
    Ok(Some(Seeded {
        users,
        events,
        seats,
    }))
}
