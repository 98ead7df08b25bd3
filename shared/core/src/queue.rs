//! The waiting room in front of an on-sale: an event's admission window,
//! queue tickets, and how a ticket's place and status follow from the
//! admitter's state. Pure rules; evently_store's queue.rs keeps them.
//!
//! Order without a hot counter: a ticket's place in line is its join time
//! (microseconds, with a random tiebreak), written into one of
//! `QUEUE_SHARDS` partitions. A single scheduled writer (the admitter)
//! numbers tickets in that global time order — merging the shards — and
//! admits numbers `1..=admitted` at the event's rate. A ticket's position
//! is then `number - admitted`: two small reads, never a scan. Until the
//! admitter has numbered a ticket (the first step after `SETTLE_SECS`) the
//! position is an estimate from the numbered total.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Invalid;

/// Partitions a queue's tickets are spread over. A ticket is written in
/// the join's transaction (2 write units) and rewritten once with its
/// number (1): at 10,000 joins/s each of 64 shards takes ~470 units/s,
/// under a partition's 1,000 (docs/capacity.md).
pub const QUEUE_SHARDS: u32 = 64;

/// How long after joining a ticket is numbered: the admitter numbers what
/// joined before `now - SETTLE_SECS`, so a join's write has that long to
/// land (the join function joins again with a fresh time when its write
/// took longer than `RESTAMP_AFTER_SECS`).
pub const SETTLE_SECS: i64 = 5;
pub const RESTAMP_AFTER_SECS: i64 = 3;

pub fn settle() -> Duration {
    Duration::seconds(SETTLE_SECS)
}

/// Admissions this close together are recorded as one step.
pub const STEP_BUCKET_SECS: i64 = 10;

/// The default length of an admission.
pub const DEFAULT_WINDOW_SECONDS: u32 = 600;

fn default_window() -> u32 {
    DEFAULT_WINDOW_SECONDS
}

/// An event's admission control: from `on_sale_at`, tickets are admitted
/// in the order people joined, `rate_per_minute` at a time, each for
/// `window_seconds` to hold seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    pub on_sale_at: DateTime<Utc>,
    pub rate_per_minute: u32,
    #[serde(default = "default_window")]
    pub window_seconds: u32,
}

impl Admission {
    pub fn validate(&self, starts_at: DateTime<Utc>) -> Result<(), Invalid> {
        if !(1..=100_000).contains(&self.rate_per_minute) {
            return Err(Invalid::new(
                "admission.rate_per_minute",
                "from 1 to 100000 people a minute",
            ));
        }
        if !(10..=3_600).contains(&self.window_seconds) {
            return Err(Invalid::new(
                "admission.window_seconds",
                "from 10 to 3600 seconds",
            ));
        }
        if self.on_sale_at >= starts_at {
            return Err(Invalid::new(
                "admission.on_sale_at",
                "must be before the event starts",
            ));
        }
        Ok(())
    }
}

/// A person's place in an event's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueTicket {
    pub id: String,
    pub event_id: String,
    pub user_id: String,
    pub joined_at: DateTime<Utc>,
    /// Its place in the global order, once the admitter has numbered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
}

/// Where a ticket id says its item is: shard and order key. Ids are
/// `<shard:2 digits><micros:16 digits><tiebreak:4 hex>`; anything else
/// cannot exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketKey {
    pub shard: u32,
    pub order: String,
}

impl TicketKey {
    pub fn new(shard: u32, joined_micros: i64, tiebreak: u16) -> Self {
        Self {
            shard,
            order: format!("{joined_micros:016}{tiebreak:04x}"),
        }
    }

    pub fn id(&self) -> String {
        format!("{:02}{}", self.shard, self.order)
    }

    pub fn parse(id: &str) -> Option<Self> {
        if id.len() != 22 || !id.is_ascii() {
            return None;
        }
        let shard: u32 = id[..2].parse().ok()?;
        let digits_ok = id[2..18].bytes().all(|b| b.is_ascii_digit());
        let hex_ok = id[18..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (shard < QUEUE_SHARDS && digits_ok && hex_ok).then(|| Self {
            shard,
            order: id[2..].to_owned(),
        })
    }

    /// The smallest order key at or after `micros` (a bound for queries).
    pub fn bound(micros: i64) -> String {
        format!("{micros:016}0000")
    }
}

/// One admitter step that let people in: numbers up to `through` were
/// admitted at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmittedStep {
    pub through: u64,
    pub at: DateTime<Utc>,
}

/// What the admitter knows of one event's line (its single writer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QueueState {
    pub event_id: String,
    /// Tickets numbered so far (`1..=numbered` exist).
    pub numbered: u64,
    /// Numbers `1..=admitted` have been let in.
    pub admitted: u64,
    /// Numbers `1..=expired_through` were let in more than a window ago.
    #[serde(default)]
    pub expired_through: u64,
    /// Every ticket whose order key is below this is numbered (or was
    /// left behind by a join that landed too late: see `standing`).
    #[serde(default)]
    pub numbered_below: String,
    /// Admissions still inside their window, oldest first.
    #[serde(default)]
    pub steps: Vec<AdmittedStep>,
    /// The fraction of a person the rate has earned but not yet admitted.
    #[serde(default)]
    pub carry: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step_at: Option<DateTime<Utc>>,
    /// Bumped on every write (the admitter's own optimistic lock).
    #[serde(default)]
    pub version: u64,
}

/// A ticket's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Waiting {
        position: u64,
        estimated_wait_seconds: u64,
    },
    Admitted {
        until: DateTime<Utc>,
    },
    Expired,
}

impl QueueState {
    pub fn new(event_id: &str) -> Self {
        Self {
            event_id: event_id.to_owned(),
            ..Self::default()
        }
    }

    /// The ticket's standing at `now`. A ticket not numbered yet waits
    /// behind everyone numbered (an estimate until the admitter's next
    /// step numbers it).
    pub fn standing(
        &self,
        ticket: &QueueTicket,
        admission: &Admission,
        now: DateTime<Utc>,
    ) -> Standing {
        let window = Duration::seconds(admission.window_seconds.into());
        match ticket.number {
            Some(n) if n <= self.expired_through => Standing::Expired,
            Some(n) if n <= self.admitted => {
                let at = self
                    .steps
                    .iter()
                    .find(|s| s.through >= n)
                    .map(|s| s.at)
                    .unwrap_or(now);
                if at + window <= now {
                    Standing::Expired
                } else {
                    Standing::Admitted { until: at + window }
                }
            }
            // Joined before the admitter's bound and not numbered: its
            // write landed after the step that passed it (a join that died
            // mid-way). Lost like a lapsed admission; joining again gives a
            // new ticket.
            None if TicketKey::parse(&ticket.id).is_some_and(|k| k.order < self.numbered_below) => {
                Standing::Expired
            }
            number => {
                let position = match number {
                    Some(n) => n - self.admitted,
                    None => self.numbered.saturating_sub(self.admitted) + 1,
                };
                Standing::Waiting {
                    position,
                    estimated_wait_seconds: estimated_wait(position, admission, now),
                }
            }
        }
    }

    /// One admission step at `now`: lets in what the rate earned since the
    /// last step (at most a minute's worth: time the line stood empty earns
    /// nothing), and forgets admissions whose window has passed.
    pub fn admit(&mut self, admission: &Admission, now: DateTime<Utc>) -> u64 {
        let window = Duration::seconds(admission.window_seconds.into());
        let mut admitted_now = 0;
        if now >= admission.on_sale_at {
            let since = self
                .last_step_at
                .map_or(admission.on_sale_at, |t| t.max(admission.on_sale_at));
            let elapsed = (now - since).num_milliseconds().clamp(0, 60_000) as f64 / 1000.0;
            let credit = self.carry + f64::from(admission.rate_per_minute) * elapsed / 60.0;
            let earned = credit.floor() as u64;
            let waiting = self.numbered - self.admitted;
            admitted_now = earned.min(waiting);
            self.carry = if earned > waiting {
                0.0
            } else {
                credit - earned as f64
            };
            if admitted_now > 0 {
                self.admitted += admitted_now;
                // Admissions within STEP_BUCKET of the last one share its
                // start (their window ends up to that much early): the
                // state item stays small with a step every second.
                match self.steps.last_mut() {
                    Some(last) if now - last.at < Duration::seconds(STEP_BUCKET_SECS) => {
                        last.through = self.admitted;
                    }
                    _ => self.steps.push(AdmittedStep {
                        through: self.admitted,
                        at: now,
                    }),
                }
            }
            self.last_step_at = Some(now);
        }
        while let Some(first) = self.steps.first() {
            if first.at + window > now {
                break;
            }
            self.expired_through = self.expired_through.max(first.through);
            self.steps.remove(0);
        }
        admitted_now
    }
}

/// Seconds until `position` is let in at the event's rate (and not before
/// the on-sale).
pub fn estimated_wait(position: u64, admission: &Admission, now: DateTime<Utc>) -> u64 {
    let rate = u64::from(admission.rate_per_minute.max(1));
    let until_sale = (admission.on_sale_at - now).num_seconds().max(0) as u64;
    until_sale + (position * 60).div_ceil(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(rate: u32) -> Admission {
        Admission {
            on_sale_at: "2030-01-01T10:00:00Z".parse().expect("time"),
            rate_per_minute: rate,
            window_seconds: 60,
        }
    }

    fn ticket(number: u64) -> QueueTicket {
        QueueTicket {
            id: "t".into(),
            event_id: "e".into(),
            user_id: "u".into(),
            joined_at: "2030-01-01T09:00:00Z".parse().expect("time"),
            number: Some(number),
        }
    }

    #[test]
    fn the_rate_admits_in_order_without_saving_up_while_the_line_is_empty() {
        let a = admission(30);
        let mut state = QueueState::new("e");
        state.numbered = 100;
        // Before the on-sale nobody is let in.
        assert_eq!(state.admit(&a, a.on_sale_at - Duration::seconds(5)), 0);
        // 30 a minute: 15.5 earned in 31 s, the half carried to the next
        // step; steps within seconds of each other share one record.
        assert_eq!(state.admit(&a, a.on_sale_at + Duration::seconds(31)), 15);
        assert_eq!(state.admit(&a, a.on_sale_at + Duration::seconds(32)), 1);
        assert_eq!(state.admit(&a, a.on_sale_at + Duration::seconds(33)), 0);
        assert_eq!(state.admitted, 16);
        let now = a.on_sale_at + Duration::seconds(33);
        assert_eq!(
            state.standing(&ticket(16), &a, now),
            Standing::Admitted {
                until: a.on_sale_at + Duration::seconds(31 + 60)
            }
        );
        assert_eq!(
            state.standing(&ticket(46), &a, now),
            Standing::Waiting {
                position: 30,
                estimated_wait_seconds: 60
            }
        );
        // A long idle stretch earns at most a minute's worth, and only
        // for people actually waiting.
        state.numbered = state.admitted + 2;
        let later = now + Duration::seconds(600);
        assert_eq!(state.admit(&a, later), 2);
        assert_eq!(state.carry, 0.0);
        // Admissions older than the window expire.
        assert_eq!(state.standing(&ticket(16), &a, later), Standing::Expired);
        assert_eq!(state.expired_through, 16);
        assert_eq!(state.steps.len(), 1);
    }

    #[test]
    fn a_ticket_left_behind_the_admitters_bound_reads_as_expired() {
        let a = admission(30);
        let joined = TicketKey::new(3, 1_700_000_000_000_000, 7);
        let mut late = ticket(1);
        late.id = joined.id();
        late.number = None;
        let mut state = QueueState::new("e");
        let now = a.on_sale_at;
        // Not numbered yet, and the admitter has not passed it: waiting.
        state.numbered_below = TicketKey::bound(1_600_000_000_000_000);
        assert!(matches!(
            state.standing(&late, &a, now),
            Standing::Waiting { .. }
        ));
        // The admitter numbered past its time without it: lost.
        state.numbered_below = TicketKey::bound(1_700_000_000_000_001);
        assert_eq!(state.standing(&late, &a, now), Standing::Expired);
    }

    #[test]
    fn ids_round_trip_and_garbage_is_refused() {
        let key = TicketKey::new(7, 1_700_000_000_123_456, 0xbeef);
        assert_eq!(TicketKey::parse(&key.id()), Some(key));
        for bad in ["", "x", "99000000000000000000aa", "0700000000000000000zzz"] {
            assert_eq!(TicketKey::parse(bad), None, "{bad}");
        }
    }
}
