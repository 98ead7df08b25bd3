//! Cancellation policies: may a booking be cancelled now, and what of the
//! amount paid comes back.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{Invalid, Money};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeType {
    None,
    Fixed,
    Percentage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancellationPolicy {
    pub allowed: bool,
    /// Cancellation closes this many hours before the event starts.
    pub deadline_hours: u32,
    pub fee_type: FeeType,
    /// An amount for `fixed`, a percentage (0–100, two decimals) for
    /// `percentage`, `0.00` for `none`.
    pub fee_value: Money,
}

/// The outcome of applying a policy to a paid amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refund {
    pub refund_amount: Money,
    pub cancellation_fee: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CancelRefused {
    #[error("this event does not allow cancellations")]
    NotAllowed,
    #[error("cancellations closed at {0}")]
    PastDeadline(DateTime<Utc>),
}

impl CancellationPolicy {
    pub fn free_until_start() -> Self {
        Self {
            allowed: true,
            deadline_hours: 0,
            fee_type: FeeType::None,
            fee_value: Money::ZERO,
        }
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if self.deadline_hours > 24 * 365 {
            return Err(Invalid::new(
                "cancellation_policy.deadline_hours",
                "at most 8760 (one year)",
            ));
        }
        let fee = self.fee_value.cents();
        let ok = match self.fee_type {
            FeeType::None => fee == 0,
            FeeType::Fixed => (0..=crate::money::MAX_PRICE_CENTS).contains(&fee),
            FeeType::Percentage => (0..=10_000).contains(&fee),
        };
        if ok {
            Ok(())
        } else {
            Err(Invalid::new(
                "cancellation_policy.fee_value",
                "0.00 for none, a non-negative amount for fixed, 0–100 for percentage",
            ))
        }
    }

    pub fn deadline(&self, starts_at: DateTime<Utc>) -> DateTime<Utc> {
        starts_at - Duration::hours(i64::from(self.deadline_hours))
    }

    /// What a cancellation at `now` of a booking that cost `paid` gives back.
    /// The fee never exceeds what was paid, so the refund is never negative
    /// and refund + fee = paid.
    pub fn refund(
        &self,
        paid: Money,
        starts_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Refund, CancelRefused> {
        if !self.allowed {
            return Err(CancelRefused::NotAllowed);
        }
        let deadline = self.deadline(starts_at);
        if now >= deadline {
            return Err(CancelRefused::PastDeadline(deadline));
        }
        let fee = match self.fee_type {
            FeeType::None => 0,
            FeeType::Fixed => self.fee_value.cents(),
            // basis points of a percentage with two decimals: round half up
            FeeType::Percentage => (paid.cents() * self.fee_value.cents() + 5_000) / 10_000,
        }
        .clamp(0, paid.cents().max(0));
        let fee = Money::from_cents(fee);
        Ok(Refund {
            refund_amount: paid - fee,
            cancellation_fee: fee,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn start() -> DateTime<Utc> {
        "2030-01-01T20:00:00Z".parse().expect("valid")
    }

    #[test]
    fn deadline_is_hours_before_start() {
        let policy = CancellationPolicy {
            deadline_hours: 24,
            ..CancellationPolicy::free_until_start()
        };
        let paid = Money::from_cents(10_000);
        let just_before = start() - Duration::hours(24) - Duration::seconds(1);
        assert!(policy.refund(paid, start(), just_before).is_ok());
        assert_eq!(
            policy.refund(paid, start(), start() - Duration::hours(24)),
            Err(CancelRefused::PastDeadline(start() - Duration::hours(24)))
        );
    }

    #[test]
    fn percentage_fee_rounds_to_the_cent() {
        let policy = CancellationPolicy {
            allowed: true,
            deadline_hours: 0,
            fee_type: FeeType::Percentage,
            fee_value: Money::from_cents(1_250), // 12.50 %
        };
        let r = policy
            .refund(Money::from_cents(999), start(), start() - Duration::days(1))
            .expect("allowed");
        assert_eq!(r.cancellation_fee, Money::from_cents(125)); // 124.875 → 125
        assert_eq!(r.refund_amount, Money::from_cents(874));
    }

    proptest! {
        #[test]
        fn refund_plus_fee_is_paid_and_never_negative(
            paid in 0i64..10_000_000,
            fee in 0i64..20_000_000,
            kind in 0u8..3,
        ) {
            let (fee_type, fee_value) = match kind {
                0 => (FeeType::None, 0),
                1 => (FeeType::Fixed, fee),
                _ => (FeeType::Percentage, fee % 10_001),
            };
            let policy = CancellationPolicy { allowed: true, deadline_hours: 0, fee_type, fee_value: Money::from_cents(fee_value) };
            let r = policy.refund(Money::from_cents(paid), start(), start() - Duration::hours(1)).expect("allowed");
            prop_assert!(r.refund_amount.cents() >= 0);
            prop_assert!(r.cancellation_fee.cents() >= 0);
            prop_assert_eq!(r.refund_amount + r.cancellation_fee, Money::from_cents(paid));
        }
    }
}
