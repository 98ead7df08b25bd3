//! Identifiers. Entity ids are ULIDs (sortable by creation time, opaque to
//! clients); seat ids are readable and stable within an event: `A-3-12` is
//! section A, row 3, seat 12.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// A new ULID string.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// True when `s` has the shape of an id we issued: 26 Crockford base32
/// characters. Anything else cannot exist, so callers answer 404 at once.
pub fn is_ulid(s: &str) -> bool {
    s.len() == 26 && ulid::Ulid::from_string(s).is_ok()
}

/// Section ids are short and safe to embed in keys and seat ids.
pub fn validate_section_id(s: &str) -> Result<(), Invalid> {
    let ok =
        !s.is_empty() && s.len() <= 16 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "section_id",
            "1 to 16 letters, digits or underscores",
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SeatId {
    pub section: String,
    pub row: u32,
    pub number: u32,
}

impl SeatId {
    pub fn new(section: &str, row: u32, number: u32) -> Self {
        Self {
            section: section.to_owned(),
            row,
            number,
        }
    }
}

impl fmt::Display for SeatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.section, self.row, self.number)
    }
}

impl std::str::FromStr for SeatId {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Invalid::new("seat_ids", format!("`{s}` is not a seat id like A-3-12"));
        let mut parts = s.rsplitn(3, '-');
        let number = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let row = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let section = parts.next().ok_or_else(bad)?;
        validate_section_id(section).map_err(|_| bad())?;
        if row == 0 || number == 0 {
            return Err(bad());
        }
        Ok(Self::new(section, row, number))
    }
}

impl TryFrom<String> for SeatId {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SeatId> for String {
    fn from(id: SeatId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_ids_round_trip_and_reject_garbage() {
        let id: SeatId = "FLOOR-12-7".parse().expect("valid");
        assert_eq!(id, SeatId::new("FLOOR", 12, 7));
        assert_eq!(id.to_string(), "FLOOR-12-7");
        for bad in [
            "", "A", "A-1", "A-x-1", "A-1-0", "-1-2", "A B-1-2", "A-1--2",
        ] {
            assert!(bad.parse::<SeatId>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn only_ulids_look_like_ids() {
        assert!(is_ulid(&new_id()));
        assert!(!is_ulid("not-an-id"));
        assert!(!is_ulid("../../etc/passwd"));
    }
}
