//! Ticket codes and their QR pictures. A code is
//! `<booking id>-<seat number>-<mac>`: the ticket it names, and 80 bits of
//! HMAC-SHA256 over it under the ticket key (kept with the JWT key, see
//! `auth::SigningKey`), so a code cannot be made up or guessed from a
//! booking id — and a door needs no lookup to refuse a forged one.

use evently_core::{Ticket, TicketRef, TicketStatus};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::{ApiError, App};

type HmacSha256 = Hmac<Sha256>;

/// How long an email a request wrote (a booking's confirmation or
/// cancellation) waits for the stream to bring it to the worker before the
/// sweeper may send it instead.
pub const EMAIL_GRACE_SECS: i64 = 60;

/// Bytes of the MAC a code carries (hex: twice as many characters).
const MAC_BYTES: usize = 10;

/// The ticket key derived from a JWT secret when the secret names none.
pub fn derived_key(secret: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"evently ticket codes v1");
    mac.finalize().into_bytes().to_vec()
}

fn mac_hex(key: &[u8], at: &TicketRef) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(at.id().as_bytes());
    mac.finalize().into_bytes()[..MAC_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The current ticket key, to sign codes with (`TokenService::ticket_signer`).
pub struct Signer(pub(crate) Vec<u8>);

impl Signer {
    pub fn sign(&self, at: &TicketRef) -> String {
        sign(&self.0, at)
    }
}

pub fn sign(key: &[u8], at: &TicketRef) -> String {
    format!("{}-{}", at.id(), mac_hex(key, at))
}

/// The ticket `code` names if `key` signed it.
pub fn verify(key: &[u8], code: &str) -> Option<TicketRef> {
    let code = code.trim();
    let (id, mac) = code.rsplit_once('-')?;
    let at = TicketRef::parse(id)?;
    let want = mac_hex(key, &at);
    // Constant time: the comparison must not say how much of a guess was right.
    let equal = want.len() == mac.len()
        && want
            .bytes()
            .zip(mac.to_ascii_lowercase().bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    equal.then_some(at)
}

/// An SVG picture of a QR code of `code` (medium error correction: a
/// scuffed phone screen still scans).
pub fn qr_svg(code: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(code, qrcode::EcLevel::M) {
        Ok(qr) => qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // A code is ~50 ASCII characters: always fits.
        Err(e) => {
            tracing::error!(error = %e, "ticket code does not fit a QR code");
            String::new()
        }
    }
}

/// A ticket as its holder and the door see it.
#[derive(Debug, Serialize)]
pub struct TicketView {
    pub id: String,
    pub booking_id: String,
    pub event_id: String,
    pub seat_id: String,
    pub status: TicketStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<String>,
    /// What the door scans (the holder's view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The code as a QR picture (the holder's view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

impl From<&Ticket> for TicketView {
    /// The door's view: no code, no picture.
    fn from(t: &Ticket) -> Self {
        Self {
            id: t.at.id(),
            booking_id: t.at.booking_id.clone(),
            event_id: t.event_id.clone(),
            seat_id: t.seat_id.to_string(),
            status: t.status,
            checked_in_at: t.checked_in_at.map(evently_core::clock::rfc3339),
            code: None,
            qr_svg: None,
        }
    }
}

/// The holder's view of a ticket: with its signed code and QR picture.
pub async fn holders_view(app: &App, ticket: &Ticket) -> Result<TicketView, ApiError> {
    let code = app.tokens.ticket_code(&ticket.at).await?;
    let mut view = TicketView::from(ticket);
    view.qr_svg = Some(qr_svg(&code));
    view.code = Some(code);
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(n: u32) -> TicketRef {
        TicketRef {
            booking_id: "01J0000000000000000000000A".into(),
            number: n,
        }
    }

    #[test]
    fn a_code_verifies_under_its_key_only_and_names_its_ticket() {
        let key = derived_key(b"a-secret-of-at-least-thirty-two-bytes!");
        let other = derived_key(b"another-secret-of-at-least-32-bytes!!");
        let code = sign(&key, &at(2));
        assert_eq!(verify(&key, &code), Some(at(2)));
        // A scanner that shouts is still read.
        assert_eq!(verify(&key, &code.to_uppercase()), Some(at(2)));
        assert_eq!(verify(&other, &code), None);
        // Another seat of the same booking with this MAC, a truncated or
        // flipped MAC, garbage: refused.
        let (_, mac) = code.rsplit_once('-').expect("mac");
        assert_eq!(verify(&key, &format!("{}-{mac}", at(3).id())), None);
        assert_eq!(verify(&key, &code[..code.len() - 1]), None);
        let mut flipped = code.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            verify(&key, &String::from_utf8(flipped).expect("ascii")),
            None
        );
        for junk in ["", "-", "x-1-00", "🙂"] {
            assert_eq!(verify(&key, junk), None, "{junk}");
        }
    }

    #[test]
    fn the_qr_picture_is_an_svg() {
        let svg = qr_svg(&sign(&derived_key(b"k"), &at(1)));
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    }
}
