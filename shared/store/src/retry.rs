//! Retrying what DynamoDB refused for the moment. The SDK already retries
//! throttling, 5xx answers and timeouts of one call (see `aws::retry_config`);
//! this covers what it does not: a transaction cancelled only by a
//! conflicting transaction or throttling (no condition failed), and calls
//! whose SDK retries ran out. Backoff is exponential with full jitter, and
//! never sleeps past the deadline of the work it serves (`within`).

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::StoreError;

/// Attempts of one call, counting the first.
const MAX_ATTEMPTS: u32 = 8;
const BASE: Duration = Duration::from_millis(25);
const CAP: Duration = Duration::from_millis(1000);
/// Time a last attempt needs to be worth starting.
const LAST_ATTEMPT: Duration = Duration::from_millis(250);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with a deadline: retries inside it give up rather than sleep
/// past it (an HTTP request's budget, a worker invocation's deadline).
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// A wall-clock deadline (a Lambda invocation's) on the monotonic clock.
pub fn deadline_at(at: std::time::SystemTime) -> Instant {
    let left = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left
}

/// Time left before the deadline of the current work, if it has one.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|d| d.saturating_duration_since(Instant::now()))
        .ok()
}

fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE.saturating_mul(1 << attempt.min(10)).min(CAP);
    ceiling.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
}

/// Calls `op` until it succeeds, fails for good, or transient failures
/// exhaust the attempts or the deadline; the last error is returned.
pub(crate) async fn retrying<T, F, Fut>(what: &str, mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if e.is_transient() && attempt + 1 < MAX_ATTEMPTS => {
                let pause = backoff(attempt);
                if remaining().is_some_and(|left| left < pause + LAST_ATTEMPT) {
                    return Err(e);
                }
                tracing::debug!(what, attempt, error = %e, "transient DynamoDB failure; retrying");
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        for attempt in 0..20 {
            let ceiling = BASE.saturating_mul(1 << attempt.min(10)).min(CAP);
            for _ in 0..50 {
                assert!(backoff(attempt) <= ceiling);
            }
        }
        assert_eq!(BASE.saturating_mul(1 << 10).min(CAP), CAP);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_permanent_ones_are_not() {
        let mut calls = 0;
        let out = retrying("t", || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(StoreError::Unavailable("throttled".into()))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(out.ok(), Some(3));

        let mut calls = 0;
        let out: Result<(), _> = retrying("t", || {
            calls += 1;
            async { Err(StoreError::Backend("validation".into())) }
        })
        .await;
        assert!(matches!(out, Err(StoreError::Backend(_))));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_deadline_stops_the_retries_early() {
        let mut calls = 0;
        let deadline = Instant::now() + Duration::from_millis(100);
        let out: Result<(), _> = within(
            deadline,
            retrying("t", || {
                calls += 1;
                async { Err(StoreError::Unavailable("throttled".into())) }
            }),
        )
        .await;
        assert!(out.is_err());
        assert!(
            calls < MAX_ATTEMPTS,
            "gave up before the deadline, not after {calls} calls"
        );
        let mut calls = 0;
        let out: Result<(), _> = retrying("t", || {
            calls += 1;
            async { Err(StoreError::Unavailable("throttled".into())) }
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls, MAX_ATTEMPTS);
    }
}
