//! Payment as a port, shaped like a real payment service provider: every
//! charge and refund carries an idempotency key, so asking twice never moves
//! money twice, and the ids it returns are recorded. The shipped adapters are
//! a simulator with test card tokens (keeping a ledger of what it charged and
//! refunded) and `NotConfigured`, what a deployed stack gets until a real
//! provider is plugged in: it refuses to take money rather than pretend.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Money;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the card was declined")]
    Declined,
    #[error("`{0}` is not a card token this provider accepts")]
    InvalidToken(String),
    /// The provider could not be reached or did not answer: the charge may
    /// or may not have happened. Asking again with the same key finds out.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// A refund the provider refuses (more than was charged, an unknown
    /// charge): a bug or a misconfiguration, never retried blindly.
    #[error("refund refused: {0}")]
    RefundRefused(String),
}

pub type PaymentFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PaymentError>> + Send + 'a>>;

pub trait PaymentProvider: Send + Sync {
    /// Charges `amount` once per `idempotency_key`: a retry with the same key
    /// returns the first charge's id (or its decline) and charges nothing more.
    fn charge<'a>(
        &'a self,
        card_token: &'a str,
        amount: Money,
        idempotency_key: &'a str,
    ) -> PaymentFuture<'a, String>;

    /// Refunds `amount` of a charge, once per `idempotency_key`.
    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        amount: Money,
        idempotency_key: &'a str,
    ) -> PaymentFuture<'a, String>;
}

/// One charge the simulator made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Charge {
    pub id: String,
    pub key: String,
    pub amount: Money,
}

/// One refund the simulator made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub id: String,
    pub key: String,
    pub payment_id: String,
    pub amount: Money,
}

/// What the simulator charged and refunded, by idempotency key: the oracle
/// the fault tests check the bookings against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    pub charges: BTreeMap<String, Charge>,
    pub refunds: BTreeMap<String, Refund>,
}

impl Ledger {
    /// Everything refunded of one charge.
    pub fn refunded(&self, payment_id: &str) -> Money {
        self.refunds
            .values()
            .filter(|r| r.payment_id == payment_id)
            .fold(Money::ZERO, |sum, r| sum + r.amount)
    }

    pub fn charge(&self, payment_id: &str) -> Option<&Charge> {
        self.charges.values().find(|c| c.id == payment_id)
    }
}

/// Test tokens: `tok_visa` and `tok_mastercard` succeed,
/// `tok_chargeDeclined` is declined, anything else is invalid. Idempotent
/// like a real provider (the same key gives the same charge or refund), and
/// it refuses to refund more than was charged. Payment ids are derived from
/// the idempotency key.
#[derive(Debug, Default)]
pub struct SimulatedPayments {
    ledger: Mutex<Ledger>,
    /// Deployed, every Lambda container has its own memory: the function
    /// that refunds never saw the charge another one made. A stateless
    /// simulator accepts the refund of any `ch_sim_` charge it does not
    /// know (the store's payment record keeps the amount honest); the
    /// in-process one of the tests refuses it, to catch refunds of nothing.
    stateless: bool,
}

impl SimulatedPayments {
    /// The simulator for deployed functions (`PAYMENT_PROVIDER=simulator`):
    /// see `stateless`. Found by running the real binaries locally: with
    /// the strict one, every cancellation's refund stayed owed.
    pub fn stateless() -> Self {
        Self {
            stateless: true,
            ..Self::default()
        }
    }

    pub fn ledger(&self) -> Ledger {
        self.ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record_charge(&self, key: &str, amount: Money) -> String {
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        let charge = ledger
            .charges
            .entry(key.to_owned())
            .or_insert_with(|| Charge {
                id: format!("ch_sim_{key}"),
                key: key.to_owned(),
                amount,
            });
        charge.id.clone()
    }

    fn record_refund(
        &self,
        key: &str,
        payment_id: &str,
        amount: Money,
    ) -> Result<String, PaymentError> {
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(done) = ledger.refunds.get(key) {
            return Ok(done.id.clone());
        }
        let known = ledger.charge(payment_id).map(|c| c.amount);
        let charged = match known {
            Some(amount) => amount,
            None if self.stateless && payment_id.starts_with("ch_sim_") => amount,
            None => {
                return Err(PaymentError::RefundRefused(format!(
                    "no charge `{payment_id}`"
                )))
            }
        };
        let after = ledger.refunded(payment_id) + amount;
        if after.cents() > charged.cents() {
            return Err(PaymentError::RefundRefused(format!(
                "refunding {after} of a {charged} charge"
            )));
        }
        let id = format!("re_sim_{key}");
        ledger.refunds.insert(
            key.to_owned(),
            Refund {
                id: id.clone(),
                key: key.to_owned(),
                payment_id: payment_id.to_owned(),
                amount,
            },
        );
        Ok(id)
    }
}

impl PaymentProvider for SimulatedPayments {
    fn charge<'a>(
        &'a self,
        card_token: &'a str,
        amount: Money,
        key: &'a str,
    ) -> PaymentFuture<'a, String> {
        Box::pin(async move {
            match card_token {
                "tok_visa" | "tok_mastercard" if amount.cents() >= 0 => {
                    Ok(self.record_charge(key, amount))
                }
                "tok_chargeDeclined" => Err(PaymentError::Declined),
                other => Err(PaymentError::InvalidToken(other.chars().take(40).collect())),
            }
        })
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        amount: Money,
        key: &'a str,
    ) -> PaymentFuture<'a, String> {
        Box::pin(async move { self.record_refund(key, payment_id, amount) })
    }
}

/// No payment provider is configured: every charge is refused as
/// unavailable (the API answers 503 and logs an error), and no booking is
/// ever made on a test card token in a deployed stack.
#[derive(Debug, Default, Clone, Copy)]
pub struct NotConfigured;

impl PaymentProvider for NotConfigured {
    fn charge<'a>(&'a self, _: &'a str, _: Money, _: &'a str) -> PaymentFuture<'a, String> {
        Box::pin(async { Err(PaymentError::Unavailable(NOT_CONFIGURED.into())) })
    }

    fn refund<'a>(&'a self, _: &'a str, _: Money, _: &'a str) -> PaymentFuture<'a, String> {
        Box::pin(async { Err(PaymentError::Unavailable(NOT_CONFIGURED.into())) })
    }
}

pub const NOT_CONFIGURED: &str =
    "no payment provider is configured for this deployment (PAYMENT_PROVIDER)";

/// Where a payment attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Recorded; the card may have been charged. Open until settled.
    Charging,
    /// The charge paid for the hold's booking.
    Booked,
    /// Charged, but no booking came of it: the money went back.
    Refunded,
    /// The card was declined or refused: nothing was charged.
    Declined,
}

/// One try at paying for a hold with one card, recorded before the card is
/// charged. An attempt still open after `settle_after` lost its request
/// (a crash, a timeout between charge and booking): the sweeper settles it
/// by asking the provider again with the same key, then booking the hold if
/// it still stands, or refunding. Every charge ends as exactly one booking
/// or one refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAttempt {
    /// The hold's id, user, event and price: kept on the hold item the
    /// attempt is recorded on, not repeated in it (filled in when read).
    #[serde(skip)]
    pub hold_id: String,
    #[serde(skip)]
    pub user_id: String,
    #[serde(skip)]
    pub event_id: String,
    /// The provider's idempotency key: one per hold and card, so retrying
    /// with the same card finds the same charge and another card is another
    /// attempt.
    pub key: String,
    /// The provider's token for the card (never card data), needed to ask
    /// the provider again about this charge.
    pub card_token: String,
    #[serde(skip)]
    pub amount: Money,
    pub status: AttemptStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub settle_after: DateTime<Utc>,
    #[serde(default)]
    pub settle_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The Idempotency-Key of the request that began it: a retry with that
    /// key whose hold the sweeper booked with this charge gets the booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_key: Option<String>,
}

impl PaymentAttempt {
    /// The key of paying for `hold_id` with `card_token`.
    pub fn key_for(hold_id: &str, card_token: &str) -> String {
        // FNV-1a: a stable short fingerprint (no secret: tokens are not card
        // data), so keys stay within providers' length limits.
        let fp = card_token.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("pay-{hold_id}-{fp:016x}")
    }

    /// The refund of this attempt's charge when no booking came of it.
    pub fn refund_key(&self) -> String {
        format!("refund-{}", self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: Future>(f: F) -> F::Output {
        // The simulator never awaits anything: one poll finishes it.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("the simulator does not wait"),
        }
    }

    #[test]
    fn the_same_key_charges_and_refunds_once() {
        let sim = SimulatedPayments::default();
        let price = Money::from_cents(12_000);
        let a = block(sim.charge("tok_visa", price, "k1")).ok();
        let b = block(sim.charge("tok_visa", price, "k1")).ok();
        assert_eq!(a, b);
        assert_eq!(sim.ledger().charges.len(), 1);
        let id = a.unwrap_or_default();
        let r1 = block(sim.refund(&id, price, "r1"));
        let r2 = block(sim.refund(&id, price, "r1"));
        assert_eq!(r1, r2);
        assert_eq!(sim.ledger().refunded(&id), price);
    }

    #[test]
    fn refunds_never_exceed_the_charge_and_need_one() {
        let sim = SimulatedPayments::default();
        let id = block(sim.charge("tok_visa", Money::from_cents(500), "k")).unwrap_or_default();
        assert!(block(sim.refund(&id, Money::from_cents(300), "r1")).is_ok());
        assert!(matches!(
            block(sim.refund(&id, Money::from_cents(300), "r2")),
            Err(PaymentError::RefundRefused(_))
        ));
        assert!(matches!(
            block(sim.refund("ch_unknown", Money::from_cents(1), "r3")),
            Err(PaymentError::RefundRefused(_))
        ));
    }

    #[test]
    fn test_tokens_and_the_unconfigured_provider() {
        let sim = SimulatedPayments::default();
        let price = Money::from_cents(100);
        assert_eq!(
            block(sim.charge("tok_chargeDeclined", price, "a")),
            Err(PaymentError::Declined)
        );
        assert!(matches!(
            block(sim.charge("tok_bogus", price, "b")),
            Err(PaymentError::InvalidToken(_))
        ));
        assert!(sim.ledger().charges.is_empty());
        assert!(matches!(
            block(NotConfigured.charge("tok_visa", price, "c")),
            Err(PaymentError::Unavailable(_))
        ));
    }

    #[test]
    fn attempt_keys_differ_by_card_and_hold_and_stay_short() {
        let a = PaymentAttempt::key_for("01HOLD", "tok_visa");
        assert_eq!(a, PaymentAttempt::key_for("01HOLD", "tok_visa"));
        assert_ne!(a, PaymentAttempt::key_for("01HOLD", "tok_mastercard"));
        assert_ne!(a, PaymentAttempt::key_for("01OTHER", "tok_visa"));
        assert!(PaymentAttempt::key_for("01HOLD", &"x".repeat(255)).len() < 64);
    }
}
