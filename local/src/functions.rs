//! Every function crate's handler, by the binary name template.yaml gives it
//! (`Metadata.BuildProperties.Binary`). A test checks this list, the
//! template and `functions/` agree one to one.

use evently_http::Handler;

pub fn http_handlers() -> Vec<(&'static str, Handler)> {
    vec![
        ("auth-register", auth_register::handler as Handler),
        ("auth-login", auth_login::handler),
        ("auth-me", auth_me::handler),
        ("auth-password", auth_password::handler),
        ("auth-password-reset", auth_password_reset::handler),
        (
            "auth-password-reset-confirm",
            auth_password_reset_confirm::handler,
        ),
        ("events-list", events_list::handler),
        ("events-get", events_get::handler),
        ("venue-layout", venue_layout::handler),
        ("seats-available", seats_available::handler),
        ("seats-hold", seats_hold::handler),
        ("queue-join", queue_join::handler),
        ("queue-status", queue_status::handler),
        ("hold-release", hold_release::handler),
        ("bookings-confirm", bookings_confirm::handler),
        ("bookings-mine", bookings_mine::handler),
        ("bookings-get", bookings_get::handler),
        ("bookings-cancel", bookings_cancel::handler),
        ("bookings-tickets", bookings_tickets::handler),
        ("waitlist-join", waitlist_join::handler),
        ("waitlist-status", waitlist_status::handler),
        ("waitlist-mine", waitlist_mine::handler),
        ("waitlist-leave", waitlist_leave::handler),
        ("offers-get", offers_get::handler),
        ("notifications-mine", notifications_mine::handler),
        ("admin-venues", admin_venues::handler),
        ("admin-events", admin_events::handler),
        ("admin-analytics", admin_analytics::handler),
        ("admin-checkins", admin_checkins::handler),
        ("admin-staff", admin_staff::handler),
        ("admin-attendees", admin_attendees::handler),
    ]
}

/// Functions driven by event sources rather than routes; the local runtime
/// runs them from `events.rs` (stream poller, queue poller, schedule).
pub const EVENT_FUNCTIONS: [&str; 5] = [
    "queue-admit",
    "waitlist-stream",
    "analytics-stream",
    "waitlist-worker",
    "waitlist-sweeper",
];
