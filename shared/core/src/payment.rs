//! Payment as a port. The shipped adapter is a simulator with test card
//! tokens; a real provider plugs in behind the same trait.

use std::future::Future;
use std::pin::Pin;

use crate::Money;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the card was declined")]
    Declined,
    #[error("`{0}` is not a card token this provider accepts")]
    InvalidToken(String),
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

pub type PaymentFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PaymentError>> + Send + 'a>>;

pub trait PaymentProvider: Send + Sync {
    /// Charges `amount` once per `idempotency_key`: a retry with the same key
    /// returns the first charge's id and charges nothing more.
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

/// Test tokens: `tok_visa` and `tok_mastercard` succeed,
/// `tok_chargeDeclined` is declined, anything else is invalid. Payment ids
/// are derived from the idempotency key, so retries are naturally idempotent.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimulatedPayments;

impl PaymentProvider for SimulatedPayments {
    fn charge<'a>(
        &'a self,
        card_token: &'a str,
        amount: Money,
        key: &'a str,
    ) -> PaymentFuture<'a, String> {
        Box::pin(async move {
            match card_token {
                "tok_visa" | "tok_mastercard" if amount.cents() >= 0 => Ok(format!("ch_sim_{key}")),
                "tok_chargeDeclined" => Err(PaymentError::Declined),
                other => Err(PaymentError::InvalidToken(other.chars().take(40).collect())),
            }
        })
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        _amount: Money,
        key: &'a str,
    ) -> PaymentFuture<'a, String> {
        Box::pin(async move {
            if payment_id.starts_with("ch_sim_") {
                Ok(format!("re_sim_{key}"))
            } else {
                Err(PaymentError::InvalidToken(payment_id.to_owned()))
            }
        })
    }
}
