//! Many clients at once through the local gateway: no seat is ever held or
//! sold twice, and every refusal names a seat a winner really has.

use std::collections::{HashMap, HashSet};

use evently_local::seed::SeedSize;
use evently_tests::Stack;
use serde_json::Value;

const JAZZ: &str = "Midnight Jazz Quartet";

async fn rush(
    stack: &Stack,
    event: &str,
    requests: Vec<Vec<String>>,
) -> Vec<(String, Vec<String>, u16, Value)> {
    let mut clients = Vec::new();
    for (i, seats) in requests.into_iter().enumerate() {
        let (user, token) = stack.customer(&format!("Rusher{i}")).await;
        clients.push((user, token, seats));
    }
    let attempts = clients.into_iter().map(|(user, token, seats)| async move {
        let refs: Vec<&str> = seats.iter().map(String::as_str).collect();
        let (status, body) = stack.hold(&token, event, "MEZZ", &refs).await;
        (user, seats, status, body)
    });
    futures::future::join_all(attempts).await
}

/// Seat id → hold id as stored, for the section.
async fn stored_holders(stack: &Stack, event: &str) -> HashMap<String, (String, String)> {
    let seats = stack.section_seats(event, "MEZZ").await;
    seats
        .into_iter()
        .filter_map(|s| match s.state {
            evently_core::SeatState::Held {
                hold_id, holder_id, ..
            } => Some((s.id.to_string(), (hold_id, holder_id))),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn sixty_clients_on_ten_contested_pairs_get_exactly_ten_holds() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let event = stack.event_id(JAZZ);
    // 60 clients, six on each of ten pairs: the seats allow exactly ten holds.
    let requests: Vec<Vec<String>> = (0..60)
        .map(|i| {
            let pair = i % 10;
            vec![
                format!("MEZZ-1-{}", 2 * pair + 1),
                format!("MEZZ-1-{}", 2 * pair + 2),
            ]
        })
        .collect();
    let results = rush(&stack, &event, requests).await;
    let winners: Vec<_> = results.iter().filter(|r| r.2 == 201).collect();
    let losers: Vec<_> = results.iter().filter(|r| r.2 == 409).collect();
    assert_eq!(
        winners.len(),
        10,
        "{:?}",
        results.iter().map(|r| r.2).collect::<Vec<_>>()
    );
    assert_eq!(losers.len(), 50);
    let holders = stored_holders(&stack, &event).await;
    let mut taken = HashSet::new();
    for (user, seats, _, body) in &winners {
        for seat in seats {
            assert!(taken.insert(seat.clone()), "{seat} in two winning holds");
            let (hold_id, holder) = &holders[seat];
            assert_eq!(
                (hold_id.as_str(), holder),
                (body["hold_id"].as_str().unwrap_or(""), user)
            );
        }
    }
    for (_, seats, _, body) in &losers {
        let named: Vec<String> =
            serde_json::from_value(body["conflicting_seat_ids"].clone()).expect("ids");
        assert_eq!(&named, seats, "a loser is told its pair is taken");
    }
}

#[tokio::test]
async fn overlapping_requests_never_share_a_seat_and_every_refusal_is_real() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let event = stack.event_id(JAZZ);
    // 64 clients ask for runs of 1–4 seats starting anywhere in row 2 (20
    // seats): heavy overlap in every direction.
    let requests: Vec<Vec<String>> = (0..64)
        .map(|i| {
            let len = 1 + (i * 7) % 4;
            let start = 1 + (i * 13) % (21 - len);
            (start..start + len)
                .map(|n| format!("MEZZ-2-{n}"))
                .collect()
        })
        .collect();
    let results = rush(&stack, &event, requests).await;
    assert!(
        results.iter().all(|r| r.2 == 201 || r.2 == 409),
        "{:?}",
        results.iter().map(|r| r.2).collect::<Vec<_>>()
    );
    let holders = stored_holders(&stack, &event).await;
    let mut taken: HashMap<String, String> = HashMap::new();
    for (user, seats, status, body) in &results {
        if *status != 201 {
            continue;
        }
        for seat in seats {
            assert!(
                taken.insert(seat.clone(), user.clone()).is_none(),
                "{seat} in two holds"
            );
            assert_eq!(
                holders[seat].0,
                body["hold_id"].as_str().unwrap_or(""),
                "{seat}"
            );
        }
    }
    assert_eq!(
        taken.len(),
        holders.len(),
        "no seat held without a 201 behind it"
    );
    for (user, seats, status, body) in &results {
        if *status != 409 {
            continue;
        }
        let named: Vec<String> =
            serde_json::from_value(body["conflicting_seat_ids"].clone()).expect("ids");
        assert!(!named.is_empty());
        for seat in &named {
            assert!(seats.contains(seat), "named a seat it did not ask for");
            assert!(
                taken.get(seat).is_some_and(|winner| winner != user),
                "{seat} named as taken but no one else holds it"
            );
        }
    }
    // Afterwards row 2's free seats are exactly those no winning hold
    // took (read from the seats), and at least one client won.
    assert!(!taken.is_empty(), "someone must win the row");
    let free_in_row: HashSet<String> = stack
        .free_seats(&event, "MEZZ")
        .await
        .into_iter()
        .filter(|id| id.starts_with("MEZZ-2-"))
        .collect();
    let expected: HashSet<String> = (1..=20)
        .map(|n| format!("MEZZ-2-{n}"))
        .filter(|s| !taken.contains_key(s))
        .collect();
    assert_eq!(free_in_row, expected);
}
