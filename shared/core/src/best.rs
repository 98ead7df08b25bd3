//! Best available seats: which `quantity` free seats of a section to hold
//! when the customer names none. Adjacent in one row where possible; the
//! best block first — front rows, then centred — and never a block that
//! leaves a single free seat stranded (between taken seats, a gap or the
//! row's end) while another block fits without doing so. Where no row has
//! room for the whole party together, the best single free seats, front
//! and centre first.

use std::collections::BTreeMap;

use crate::{SeatId, SectionTemplate};

/// A candidate block: (strands a seat, row rank, distance from the row's
/// centre ×2), smallest best.
type Score = (bool, u32, u32);

/// The seats to hold in `grid` for `quantity` people, given which seats are
/// free now; None when fewer than `quantity` are free.
pub fn choose(
    grid: &SectionTemplate,
    is_free: &dyn Fn(&SeatId) -> bool,
    quantity: u32,
) -> Option<Vec<SeatId>> {
    if quantity == 0 {
        return None;
    }
    // The layout's seat numbers per row (gaps left out), front row first.
    let mut rows: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for pos in grid.seats() {
        rows.entry(pos.row).or_default().push(pos.number);
    }
    let mut best: Option<(Score, u32, u32)> = None; // (score, row, first number)
    for (rank, (row, numbers)) in rows.iter().enumerate() {
        let (Some(&lo), Some(&hi)) = (numbers.first(), numbers.last()) else {
            continue;
        };
        let centre2 = lo + hi;
        // Maximal runs of free seats with consecutive numbers (a gap or a
        // taken seat ends a run).
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for &n in numbers {
            if !is_free(&SeatId::new(&grid.id, *row, n)) {
                continue;
            }
            match runs.last_mut() {
                Some((_, end)) if *end + 1 == n => *end = n,
                _ => runs.push((n, n)),
            }
        }
        for (start, end) in runs {
            if end + 1 - start < quantity {
                continue;
            }
            for first in start..=end + 1 - quantity {
                let last = first + quantity - 1;
                let strands = first - start == 1 || end - last == 1;
                let distance = (first + last).abs_diff(centre2);
                let score = (strands, rank as u32, distance);
                if best.as_ref().is_none_or(|(b, _, _)| score < *b) {
                    best = Some((score, *row, first));
                }
            }
        }
    }
    if let Some((_, row, first)) = best {
        return Some(
            (first..first + quantity)
                .map(|n| SeatId::new(&grid.id, row, n))
                .collect(),
        );
    }
    // Nobody sits together: the best single seats.
    let mut free: Vec<(u32, u32, SeatId)> = Vec::new();
    for (row, numbers) in &rows {
        let (Some(&lo), Some(&hi)) = (numbers.first(), numbers.last()) else {
            continue;
        };
        for &n in numbers {
            let id = SeatId::new(&grid.id, *row, n);
            if is_free(&id) {
                free.push((*row, (2 * n).abs_diff(lo + hi), id));
            }
        }
    }
    if free.len() < quantity as usize {
        return None;
    }
    free.sort_by_key(|(row, distance, _)| (*row, *distance));
    let mut chosen: Vec<SeatId> = free
        .into_iter()
        .take(quantity as usize)
        .map(|(_, _, id)| id)
        .collect();
    chosen.sort();
    Some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn grid(rows: u32, per_row: u32, gaps: &[&str]) -> SectionTemplate {
        SectionTemplate {
            id: "A".into(),
            name: "A".into(),
            rows,
            seats_per_row: per_row,
            default_price: crate::Money::from_cents(100),
            origin_x: 0,
            origin_y: 0,
            gaps: gaps.iter().map(|g| g.parse().expect("seat id")).collect(),
        }
    }

    fn pick(g: &SectionTemplate, taken: &[&str], q: u32) -> Option<Vec<String>> {
        let taken: HashSet<SeatId> = taken.iter().map(|t| t.parse().expect("id")).collect();
        choose(g, &|s| !taken.contains(s), q).map(|v| v.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn an_empty_house_gives_the_front_row_centre() {
        let g = grid(5, 10, &[]);
        assert_eq!(pick(&g, &[], 2), Some(vec!["A-1-5".into(), "A-1-6".into()]));
        assert_eq!(
            pick(&g, &[], 3),
            Some(vec!["A-1-4".into(), "A-1-5".into(), "A-1-6".into()])
        );
    }

    #[test]
    fn no_single_seat_is_stranded_when_another_block_fits() {
        // Row 1: seats 1–3 free between the wall and a taken seat 4. Two
        // people: taking 2–3 or 1–2 leaves one seat alone; row 2 is empty.
        let g = grid(2, 6, &[]);
        let taken = ["A-1-4", "A-1-5", "A-1-6"];
        let got = pick(&g, &taken, 2).expect("room");
        assert_eq!(
            got,
            ["A-2-3", "A-2-4"],
            "row 2 rather than stranding a seat in row 1"
        );
        // Three people fill 1–3 exactly: front row, nothing stranded.
        assert_eq!(
            pick(&g, &taken, 3).expect("room"),
            ["A-1-1", "A-1-2", "A-1-3"]
        );
        // When every block strands a seat, one still is chosen (front first).
        let only = grid(1, 3, &[]);
        assert_eq!(pick(&only, &[], 2).expect("room").len(), 2);
    }

    #[test]
    fn a_gap_breaks_adjacency_and_scattered_seats_are_the_last_resort() {
        // An aisle at seat 3: 1–2 and 4–5 are not one block.
        let g = grid(1, 5, &["A-1-3"]);
        assert_eq!(pick(&g, &[], 2).expect("room").len(), 2);
        let three = pick(&g, &[], 3).expect("scattered");
        assert_eq!(three.len(), 3, "no three together: the best three singles");
        assert!(!three.contains(&"A-1-3".to_owned()), "never the gap");
        assert_eq!(pick(&g, &[], 5), None, "four seats exist");
        assert_eq!(
            pick(&grid(2, 2, &[]), &["A-1-1", "A-2-2"], 2)
                .expect("room")
                .len(),
            2
        );
        assert_eq!(pick(&g, &[], 0), None);
    }

    #[test]
    fn every_choice_is_free_adjacent_and_of_the_size_asked() {
        // Pseudo-random fill-ups: whatever is taken, a block is free seats
        // in one row with consecutive numbers, and exists whenever one could.
        let g = grid(6, 12, &["A-3-6"]);
        let mut taken: HashSet<SeatId> = HashSet::new();
        let mut state = 7u64;
        for _ in 0..40 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let q = 1 + (state >> 33) as u32 % 4;
            let Some(seats) = choose(&g, &|s| !taken.contains(s), q) else {
                break;
            };
            assert_eq!(seats.len(), q as usize);
            assert!(seats.iter().all(|s| !taken.contains(s)));
            let together = seats
                .windows(2)
                .all(|w| w[0].row == w[1].row && w[0].number + 1 == w[1].number);
            if !together {
                // Only when no row had `q` free seats in a run.
                let layout = g.seats();
                let fits = |row: u32| {
                    let free: Vec<u32> = layout
                        .iter()
                        .filter(|p| p.row == row && !taken.contains(&p.id))
                        .map(|p| p.number)
                        .collect();
                    free.windows(q as usize)
                        .any(|w| w[w.len() - 1] - w[0] == q - 1)
                };
                assert!(
                    (1..=6).all(|r| !fits(r)),
                    "{seats:?} scattered though a block fit"
                );
            }
            taken.extend(seats);
        }
    }
}
