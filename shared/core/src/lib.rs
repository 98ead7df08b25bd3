//! The ticketing domain, free of AWS and I/O: identifiers, money, users,
//! venue templates and their seat grids, events, seat state, cancellation
//! policies, and the clock every time-dependent rule reads.

pub mod admin;
pub mod best;
pub mod booking;
pub mod clock;
pub mod crash;
pub mod event;
pub mod hold;
pub mod ids;
pub mod money;
pub mod offer;
pub mod payment;
pub mod policy;
pub mod queue;
pub mod seat;
pub mod ticket;
pub mod user;
pub mod venue;
pub mod waitlist;

pub use booking::{Booking, BookingStatus, RefundDue};
pub use clock::{Clock, FixedClock, SystemClock};
pub use crash::{Arming, CrashPoints};
pub use event::{Event, EventSection, EventStatus, Seating, VenueRef};
pub use hold::{Hold, HoldStatus};
pub use ids::{new_id, SeatId};
pub use money::Money;
pub use offer::{Notification, NotificationStatus, Offer, OfferRef, OfferStatus, TicketCode};
pub use payment::{
    AttemptStatus, Ledger, NotConfigured, PaymentAttempt, PaymentError, PaymentProvider,
    SimulatedPayments,
};
pub use policy::{CancellationPolicy, FeeType};
pub use queue::{Admission, QueueState, QueueTicket, Standing, TicketKey};
pub use seat::{status_of_mark, Seat, SeatMap, SeatMark, SeatState, SeatStatus};
pub use ticket::{Ticket, TicketRef, TicketStatus};
pub use user::{Role, User};
pub use venue::{SectionTemplate, VenueTemplate};
pub use waitlist::{EntryStatus, Preferences, WaitlistEntry};

/// A rule of the domain was broken by the input; the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
