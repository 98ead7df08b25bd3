//! Injected crashes, for proving that a flow survives its process dying
//! between two steps (a Lambda timeout, an out-of-memory kill, a deploy).
//! Flows name the points between their steps (`crash.hit("confirm.after_charge")`);
//! an armed point panics there. A panic is what a crash looks like to the
//! rest of the system: in Lambda (`panic = "abort"`) the invocation dies
//! without running any cleanup and its event source retries it; in the
//! local stack the request's connection drops or the batch counts as
//! failed. Nothing is armed unless a test arms it or `EVENTLY_CRASH_POINTS`
//! names points (local stack and tests only; see `from_env`).

use std::collections::HashMap;
use std::sync::Mutex;

/// How often an armed point fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arming {
    /// The next `n` times it is reached.
    Times(u32),
    /// Each time it is reached, with this probability.
    Rate(f64),
}

#[derive(Debug, Default)]
pub struct CrashPoints {
    armed: Mutex<HashMap<String, Arming>>,
    /// A cheap generator for `Rate` (no crypto needed, no dependency).
    state: Mutex<u64>,
}

impl CrashPoints {
    /// Points from `EVENTLY_CRASH_POINTS`, e.g.
    /// `confirm.after_charge=1,worker.after_offer=0.2` (a whole number is a
    /// count, a fraction a rate). Unset: nothing armed.
    pub fn from_env() -> Self {
        let points = Self::default();
        if let Ok(spec) = std::env::var("EVENTLY_CRASH_POINTS") {
            for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
                let (name, how) = part.split_once('=').unwrap_or((part, "1"));
                let arming = match how.trim().parse::<u32>() {
                    Ok(n) => Arming::Times(n),
                    Err(_) => Arming::Rate(how.trim().parse().unwrap_or(0.0)),
                };
                points.arm(name.trim(), arming);
            }
        }
        points
    }

    pub fn arm(&self, point: &str, how: Arming) {
        self.lock().insert(point.to_owned(), how);
    }

    pub fn disarm_all(&self) {
        self.lock().clear();
    }

    /// Panics here if the point is armed and its turn has come.
    pub fn hit(&self, point: &str) {
        let fire = {
            let mut armed = self.lock();
            match armed.get_mut(point) {
                Some(Arming::Times(n)) if *n > 0 => {
                    *n -= 1;
                    true
                }
                Some(Arming::Rate(p)) => {
                    let p = *p;
                    self.roll() < p
                }
                _ => false,
            }
        };
        if fire {
            panic!("injected crash at {point}");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arming>> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// xorshift64*, seeded from the address and time: good enough to pick
    /// which calls crash.
    fn roll(&self) -> f64 {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if *s == 0 {
            *s = (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1))
                | 1;
        }
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        (s.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unarmed_point_does_nothing_and_an_armed_one_fires_its_count() {
        let points = CrashPoints::default();
        points.hit("a");
        points.arm("a", Arming::Times(1));
        let first = std::panic::catch_unwind(|| points.hit("a"));
        assert!(first.is_err());
        points.hit("a");
        points.hit("b");
    }

    #[test]
    fn a_rate_fires_about_that_often() {
        let points = CrashPoints::default();
        points.arm("r", Arming::Rate(0.3));
        let fired = (0..2000)
            .filter(|_| std::panic::catch_unwind(|| points.hit("r")).is_err())
            .count();
        assert!((400..800).contains(&fired), "{fired} of 2000");
        points.disarm_all();
        points.hit("r");
    }
}
