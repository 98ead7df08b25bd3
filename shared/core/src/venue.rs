//! Venue templates: reusable seating plans. A section is a grid of rows and
//! seats with a default price; seats and their drawing coordinates are
//! derived from the grid, so a template stays small however large the venue.

use serde::{Deserialize, Serialize};

use crate::ids::validate_section_id;
use crate::{Invalid, Money, SeatId};

/// Grid caps: a mistyped size must not materialise a million items.
pub const MAX_ROWS: u32 = 200;
pub const MAX_SEATS_PER_ROW: u32 = 200;
pub const MAX_SECTIONS: usize = 50;
pub const MAX_VENUE_SEATS: u32 = 100_000;
/// Distance between neighbouring seats and rows on the drawn map.
pub const SEAT_PITCH: u32 = 10;
/// Largest map coordinate a section may start at (keeps every seat's
/// coordinates far from overflow).
pub const MAX_ORIGIN: u32 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueTemplate {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub city: String,
    pub sections: Vec<SectionTemplate>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionTemplate {
    pub id: String,
    pub name: String,
    pub rows: u32,
    pub seats_per_row: u32,
    pub default_price: Money,
    /// Top-left corner of the section on the venue map.
    pub origin_x: u32,
    pub origin_y: u32,
    /// Seats left out of the grid (aisles, pillars).
    #[serde(default)]
    pub gaps: Vec<SeatId>,
}

/// One seat of a section, positioned for drawing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatPosition {
    pub id: SeatId,
    pub row: u32,
    pub number: u32,
    pub x: u32,
    pub y: u32,
}

impl SectionTemplate {
    pub fn seats(&self) -> Vec<SeatPosition> {
        let mut seats = Vec::with_capacity((self.rows * self.seats_per_row) as usize);
        let gaps: std::collections::HashSet<&SeatId> = self.gaps.iter().collect();
        for row in 1..=self.rows {
            for number in 1..=self.seats_per_row {
                let id = SeatId::new(&self.id, row, number);
                if gaps.contains(&id) {
                    continue;
                }
                seats.push(SeatPosition {
                    id,
                    row,
                    number,
                    x: self.origin_x + (number - 1) * SEAT_PITCH,
                    y: self.origin_y + (row - 1) * SEAT_PITCH,
                });
            }
        }
        seats
    }

    pub fn capacity(&self) -> u32 {
        // Distinct gaps inside the grid: a gap named twice is one gap.
        let gaps: std::collections::HashSet<&SeatId> = self
            .gaps
            .iter()
            .filter(|g| g.row <= self.rows && g.number <= self.seats_per_row)
            .collect();
        self.rows * self.seats_per_row - gaps.len() as u32
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        validate_section_id(&self.id)?;
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return Err(Invalid::new("sections.name", "1 to 100 characters"));
        }
        if !(1..=MAX_ROWS).contains(&self.rows)
            || !(1..=MAX_SEATS_PER_ROW).contains(&self.seats_per_row)
        {
            return Err(Invalid::new(
                "sections.rows",
                format!("rows 1–{MAX_ROWS} and seats_per_row 1–{MAX_SEATS_PER_ROW}"),
            ));
        }
        if self.origin_x > MAX_ORIGIN || self.origin_y > MAX_ORIGIN {
            return Err(Invalid::new(
                "sections.origin_x",
                format!("origins are 0–{MAX_ORIGIN}"),
            ));
        }
        if self.gaps.iter().any(|g| g.section != self.id) {
            return Err(Invalid::new(
                "sections.gaps",
                "gaps must be seats of their own section",
            ));
        }
        if self.capacity() == 0 {
            return Err(Invalid::new(
                "sections.gaps",
                "a section needs at least one seat",
            ));
        }
        Ok(())
    }
}

impl VenueTemplate {
    pub fn capacity(&self) -> u32 {
        self.sections.iter().map(SectionTemplate::capacity).sum()
    }

    pub fn section(&self, id: &str) -> Option<&SectionTemplate> {
        self.sections.iter().find(|s| s.id == id)
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(Invalid::new("name", "1 to 200 characters"));
        }
        if self.city.trim().is_empty() || self.city.len() > 100 {
            return Err(Invalid::new("city", "1 to 100 characters"));
        }
        if self.sections.is_empty() || self.sections.len() > MAX_SECTIONS {
            return Err(Invalid::new(
                "sections",
                format!("1 to {MAX_SECTIONS} sections"),
            ));
        }
        for (i, s) in self.sections.iter().enumerate() {
            s.validate()?;
            if self.sections[..i].iter().any(|o| o.id == s.id) {
                return Err(Invalid::new(
                    "sections.id",
                    format!("`{}` appears twice", s.id),
                ));
            }
        }
        if self.capacity() > MAX_VENUE_SEATS {
            return Err(Invalid::new(
                "sections",
                format!("at most {MAX_VENUE_SEATS} seats per venue"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> SectionTemplate {
        SectionTemplate {
            id: "A".into(),
            name: "Stalls".into(),
            rows: 3,
            seats_per_row: 4,
            default_price: Money::from_cents(5_000),
            origin_x: 100,
            origin_y: 50,
            gaps: vec![SeatId::new("A", 2, 1)],
        }
    }

    #[test]
    fn grid_gives_seats_with_coordinates_minus_gaps() {
        let s = section();
        let seats = s.seats();
        assert_eq!(seats.len(), 11);
        assert_eq!(s.capacity(), 11);
        assert!(!seats.iter().any(|p| p.id.to_string() == "A-2-1"));
        let last = seats.last().expect("seats");
        assert_eq!(
            (last.id.to_string().as_str(), last.x, last.y),
            ("A-3-4", 130, 70)
        );
    }

    #[test]
    fn a_gap_named_twice_is_one_gap_and_far_origins_are_refused() {
        let mut s = section();
        s.gaps.push(SeatId::new("A", 2, 1));
        assert_eq!(s.capacity(), 11);
        assert_eq!(s.seats().len(), 11);
        let far = SectionTemplate {
            origin_x: u32::MAX,
            ..section()
        };
        assert!(far.validate().is_err());
    }

    #[test]
    fn absurd_grids_are_refused() {
        for (rows, per_row) in [
            (0, 10),
            (10, 0),
            (MAX_ROWS + 1, 1),
            (1, MAX_SEATS_PER_ROW + 1),
        ] {
            let s = SectionTemplate {
                rows,
                seats_per_row: per_row,
                gaps: vec![],
                ..section()
            };
            assert!(s.validate().is_err(), "{rows}x{per_row}");
        }
    }
}
