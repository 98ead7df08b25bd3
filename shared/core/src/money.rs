//! Money as integer cents. On the wire it is a decimal string with two
//! places (`"120.00"`); the currency lives on the event.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Mul, Sub};

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// Prices above this are refused as input mistakes (one million).
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Parses a non-negative amount with at most two decimals, as a price.
    pub fn parse_price(field: &'static str, s: &str) -> Result<Self, Invalid> {
        let m: Money = s
            .parse()
            .map_err(|_| Invalid::new(field, format!("`{s}` is not an amount like 120.00")))?;
        m.check_price(field)
    }

    /// A price must be between zero and `MAX_PRICE_CENTS`.
    pub fn check_price(self, field: &'static str) -> Result<Self, Invalid> {
        if self.0 < 0 {
            return Err(Invalid::new(field, "must not be negative"));
        }
        if self.0 > MAX_PRICE_CENTS {
            return Err(Invalid::new(field, "is larger than any ticket price"));
        }
        Ok(self)
    }
}

impl std::str::FromStr for Money {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || whole.len() > 12 || !all_digits(whole) || !all_digits(frac) {
            return Err(());
        }
        if frac.len() > 2 || (digits.contains('.') && frac.is_empty()) {
            return Err(());
        }
        let whole: i64 = whole.parse().map_err(|_| ())?;
        let frac_cents: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| ())? * 10,
            _ => frac.parse().map_err(|_| ())?,
        };
        let cents = whole * 100 + frac_cents;
        Ok(Money(if negative { -cents } else { cents }))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an amount like 120.00")))
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl Mul<i64> for Money {
    type Output = Money;
    fn mul(self, n: i64) -> Money {
        Money(self.0 * n)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_two_places() {
        assert_eq!("120.00".parse::<Money>(), Ok(Money::from_cents(12_000)));
        assert_eq!("120".parse::<Money>(), Ok(Money::from_cents(12_000)));
        assert_eq!("0.5".parse::<Money>(), Ok(Money::from_cents(50)));
        assert_eq!(Money::from_cents(12_005).to_string(), "120.05");
        assert_eq!(Money::from_cents(-7).to_string(), "-0.07");
    }

    #[test]
    fn prices_reject_what_a_person_would_call_wrong() {
        for bad in [
            "",
            "abc",
            "1.234",
            "-1.00",
            "1.",
            ".5",
            "1e3",
            "１２",
            "99999999999999",
        ] {
            assert!(Money::parse_price("price", bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(cents in -1_000_000_000i64..1_000_000_000) {
            let m = Money::from_cents(cents);
            prop_assert_eq!(m.to_string().parse::<Money>(), Ok(m));
        }
    }
}
