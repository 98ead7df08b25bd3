use minijinja::Environment;
use serde::Serialize;

/// What an offer email says. Dates are already formatted for people.
#[derive(Debug, Clone, Serialize)]
pub struct OfferEmail {
    pub name: String,
    pub event_name: String,
    pub starts_at: String,
    pub venue: String,
    pub section: String,
    pub seats: Vec<String>,
    pub total_price: String,
    pub currency: String,
    pub expires_at: String,
    pub claim_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Pictures the HTML shows by `cid:` (sent as multipart/related parts,
    /// which common mail clients display inline; SVG and `data:` URIs are
    /// not shown by most).
    pub inline: Vec<InlineImage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    /// The Content-ID the HTML refers to (`cid:<id>`).
    pub cid: String,
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

/// A ticket in a confirmation email: its seat, its code, and the
/// Content-ID of its QR picture.
#[derive(Debug, Clone, Serialize)]
pub struct TicketLine {
    pub seat_id: String,
    pub code: String,
    pub cid: String,
}

/// What a booking's confirmation or cancellation email says.
#[derive(Debug, Clone, Serialize)]
pub struct BookingEmail {
    pub name: String,
    pub event_name: String,
    pub starts_at: String,
    pub venue: String,
    pub section: String,
    pub seats: Vec<String>,
    pub booking_id: String,
    pub total_price: String,
    pub currency: String,
    pub manage_url: String,
    /// Confirmation: the tickets (none when the codes were not signed:
    /// the email then links to them).
    pub tickets: Vec<TicketLine>,
    /// Cancellation: the fee kept and the refund.
    pub fee: String,
    pub refund: String,
    pub refund_owed: bool,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // HTML-escape the .html template only (by file name), plain text stays plain.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    // Compiled-in: a Lambda has no template files next to it.
    let templates = [
        ("offer.html", include_str!("../templates/offer.html")),
        ("offer.txt", include_str!("../templates/offer.txt")),
        (
            "event_cancelled.html",
            include_str!("../templates/event_cancelled.html"),
        ),
        (
            "event_cancelled.txt",
            include_str!("../templates/event_cancelled.txt"),
        ),
        (
            "booking_confirmed.html",
            include_str!("../templates/booking_confirmed.html"),
        ),
        (
            "booking_confirmed.txt",
            include_str!("../templates/booking_confirmed.txt"),
        ),
        (
            "booking_cancelled.html",
            include_str!("../templates/booking_cancelled.html"),
        ),
        (
            "booking_cancelled.txt",
            include_str!("../templates/booking_cancelled.txt"),
        ),
        (
            "password_reset.html",
            include_str!("../templates/password_reset.html"),
        ),
        (
            "password_reset.txt",
            include_str!("../templates/password_reset.txt"),
        ),
    ];
    for (name, source) in templates {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "email template does not parse");
        }
    }
    env
}

/// `<name>.html` and `<name>.txt` rendered with `email` and `subject`.
fn render<T: Serialize>(
    name: &str,
    subject: String,
    email: &T,
    inline: Vec<InlineImage>,
) -> Result<Rendered, minijinja::Error> {
    let env = environment();
    let ctx =
        minijinja::context! { subject => &subject, ..minijinja::Value::from_serialize(email) };
    Ok(Rendered {
        html: env.get_template(&format!("{name}.html"))?.render(&ctx)?,
        text: env.get_template(&format!("{name}.txt"))?.render(&ctx)?,
        subject,
        inline,
    })
}

pub fn render_offer(email: &OfferEmail) -> Result<Rendered, minijinja::Error> {
    let subject = format!(
        "Your seats for {} are held until {}",
        email.event_name, email.expires_at
    );
    render("offer", subject, email, Vec::new())
}

/// What an event-cancellation email says: to a booking holder (with the
/// booking and its refund) or to someone on the waitlist (without).
#[derive(Debug, Clone, Serialize)]
pub struct CancellationEmail {
    pub name: String,
    pub event_name: String,
    pub starts_at: String,
    pub venue: String,
    pub currency: String,
    pub booking_id: Option<String>,
    pub section: String,
    pub seats: Vec<String>,
    pub refund: String,
}

pub fn render_cancellation(email: &CancellationEmail) -> Result<Rendered, minijinja::Error> {
    let subject = match email.booking_id {
        Some(_) => format!(
            "{} is cancelled: your booking is refunded in full",
            email.event_name
        ),
        None => format!("{} is cancelled: the waitlist is closed", email.event_name),
    };
    render("event_cancelled", subject, email, Vec::new())
}

/// The confirmation: event, date, venue, seats, total, and each ticket's
/// QR code as an inline PNG.
pub fn render_booking_confirmed(email: &BookingEmail) -> Result<Rendered, minijinja::Error> {
    let subject = format!("Your tickets for {}", email.event_name);
    let inline = email
        .tickets
        .iter()
        .filter_map(|t| {
            let data = crate::qr::png(&t.code)?;
            Some(InlineImage {
                cid: t.cid.clone(),
                content_type: "image/png",
                data,
            })
        })
        .collect();
    render("booking_confirmed", subject, email, inline)
}

/// The customer's own cancellation: what was paid, the fee, the refund.
pub fn render_booking_cancelled(email: &BookingEmail) -> Result<Rendered, minijinja::Error> {
    let subject = format!(
        "Booking cancelled: {} — refund {} {}",
        email.event_name, email.refund, email.currency
    );
    render("booking_cancelled", subject, email, Vec::new())
}

/// What a password reset email says: the single-use link and until when
/// it works.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordResetEmail {
    pub name: String,
    pub reset_url: String,
    pub token: String,
    pub expires_at: String,
}

pub fn render_password_reset(email: &PasswordResetEmail) -> Result<Rendered, minijinja::Error> {
    render(
        "password_reset",
        "Reset your Evently password".into(),
        email,
        Vec::new(),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// SES refused this message (unverified sender, bad address…):
    /// retrying the same message will not help.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Throttling, network, service trouble: worth retrying later.
    #[error("not sent: {0}")]
    Transient(String),
}

#[derive(Debug, Clone)]
pub struct Mailer {
    client: aws_sdk_ses::Client,
    sender: String,
}

/// An SES client that waits for a slow send instead of sending again. SES
/// takes no idempotency key: an attempt cut off by a timeout may still go
/// out, and the SDK's retry would send the email twice. So an attempt may
/// take `SES_ATTEMPT_TIMEOUT_MS` (10 s; SES answers in a fraction of a
/// second), while throttling and 5xx answers — which send nothing — are
/// still retried.
pub fn ses_client(sdk: &aws_config::SdkConfig) -> aws_sdk_ses::Client {
    let attempt = std::env::var("SES_ATTEMPT_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &u64| *v > 0)
        .unwrap_or(10_000);
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_millis(attempt))
        .operation_timeout(std::time::Duration::from_millis(attempt * 2))
        .build();
    aws_sdk_ses::Client::from_conf(
        aws_sdk_ses::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .build(),
    )
}

impl Mailer {
    pub fn new(client: aws_sdk_ses::Client, sender: impl Into<String>) -> Self {
        Self {
            client,
            sender: sender.into(),
        }
    }

    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// Sends one email (HTML and text alternatives, as raw MIME so both
    /// parts travel as written); returns SES's message id.
    pub async fn send(&self, to: &str, mail: &Rendered) -> Result<String, SendError> {
        use aws_sdk_ses::primitives::Blob;
        use aws_sdk_ses::types::RawMessage;
        let raw = RawMessage::builder()
            .data(Blob::new(mime(&self.sender, to, mail)))
            .build()
            .map_err(|e| SendError::Rejected(e.to_string()))?;
        let result = self
            .client
            .send_raw_email()
            .source(&self.sender)
            // Recipients come from the message's To header.
            .raw_message(raw)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.message_id().to_owned()),
            Err(e) => {
                // What SES said, briefly: this is stored on the notification
                // (and shown to its user), so not the whole HTTP exchange
                // the SDK's error context carries.
                let text = match e.as_service_error() {
                    Some(se) => format!(
                        "{}: {}",
                        aws_sdk_ses::error::ProvideErrorMetadata::code(se).unwrap_or("SES error"),
                        aws_sdk_ses::error::ProvideErrorMetadata::message(se).unwrap_or_default()
                    ),
                    None => aws_sdk_ses::error::DisplayErrorContext(&e)
                        .to_string()
                        .chars()
                        .take(300)
                        .collect(),
                };
                match e.as_service_error() {
                    Some(se)
                        if se.is_message_rejected()
                            || se.is_mail_from_domain_not_verified_exception() =>
                    {
                        Err(SendError::Rejected(text))
                    }
                    _ => Err(SendError::Transient(text)),
                }
            }
        }
    }
}

/// A multipart/alternative message (text first, HTML preferred), inside a
/// multipart/related one with the HTML's pictures when it has any.
fn mime(from: &str, to: &str, mail: &Rendered) -> Vec<u8> {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let wrap = |bytes: &[u8]| {
        let encoded = STANDARD.encode(bytes);
        encoded
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    // Neither boundary is a prefix of the other (a lax parser would take
    // one for the other).
    let base = format!("evently-{:016x}", rand_boundary(mail));
    let boundary = format!("{base}-a");
    let related = format!("{base}-r");
    let mut out = String::new();
    out.push_str(&format!("From: {from}\r\nTo: {to}\r\n"));
    out.push_str(&format!(
        "Subject: =?UTF-8?B?{}?=\r\n",
        STANDARD.encode(mail.subject.as_bytes())
    ));
    out.push_str("MIME-Version: 1.0\r\n");
    if !mail.inline.is_empty() {
        out.push_str(&format!(
            "Content-Type: multipart/related; boundary=\"{related}\"; type=\"multipart/alternative\"\r\n\r\n--{related}\r\n"
        ));
    }
    out.push_str(&format!(
        "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
    ));
    for (kind, body) in [("text/plain", &mail.text), ("text/html", &mail.html)] {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: {kind}; charset=UTF-8\r\n"
        ));
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        out.push_str(&wrap(body.as_bytes()));
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    if !mail.inline.is_empty() {
        for image in &mail.inline {
            out.push_str(&format!(
                "--{related}\r\nContent-Type: {}\r\nContent-Transfer-Encoding: base64\r\n\
                 Content-ID: <{}>\r\nContent-Disposition: inline; filename=\"{}.png\"\r\n\r\n",
                image.content_type, image.cid, image.cid
            ));
            out.push_str(&wrap(&image.data));
            out.push_str("\r\n");
        }
        out.push_str(&format!("--{related}--\r\n"));
    }
    out.into_bytes()
}

/// A boundary that cannot occur in base64 bodies (they have no '-').
fn rand_boundary(mail: &Rendered) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    mail.subject.hash(&mut h);
    mail.text.len().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_names_event_seats_price_expiry_and_link_and_escapes_html() {
        let mail = render_offer(&OfferEmail {
            name: "Ben <b>".into(),
            event_name: "Evently Demo Night".into(),
            starts_at: "Friday 25 December 2026, 19:00 UTC".into(),
            venue: "Evently Studio, Berlin".into(),
            section: "Section A".into(),
            seats: vec!["A-1-1".into(), "A-1-2".into()],
            total_price: "240.00".into(),
            currency: "USD".into(),
            expires_at: "20:15 UTC on 25 November 2026".into(),
            claim_url: "http://127.0.0.1:3000/offers/abc".into(),
        })
        .expect("renders");
        for body in [&mail.html, &mail.text] {
            for needle in [
                "Evently Demo Night",
                "A-1-1, A-1-2",
                "240.00 USD",
                "20:15 UTC",
                "/offers/abc",
                "Evently Studio, Berlin",
            ] {
                assert!(body.contains(needle), "{needle} missing from {body}");
            }
        }
        assert!(mail.html.contains("Ben &lt;b&gt;"), "HTML is escaped");
        assert!(mail.text.contains("Ben <b>"), "text is not");
        assert!(mail.subject.contains("Evently Demo Night"));
        let raw = String::from_utf8(mime("offers@evently.test", "ben@example.com", &mail))
            .expect("ascii");
        assert!(
            raw.contains("multipart/alternative")
                && raw.contains("text/plain")
                && raw.contains("text/html")
        );
        assert!(raw.lines().all(|l| l.len() <= 998), "SMTP line limit");
    }

    #[test]
    fn a_confirmation_carries_each_tickets_qr_inline_and_the_booking() {
        let mail = render_booking_confirmed(&BookingEmail {
            name: "Ada".into(),
            event_name: "Evently Demo Night".into(),
            starts_at: "Friday 25 December 2026, 19:00 UTC".into(),
            venue: "Evently Studio, Berlin".into(),
            section: "Section A".into(),
            seats: vec!["A-1-1".into(), "A-1-2".into()],
            booking_id: "B1".into(),
            total_price: "240.00".into(),
            currency: "USD".into(),
            manage_url: "http://127.0.0.1:3000/bookings/B1".into(),
            tickets: ["A-1-1", "A-1-2"]
                .iter()
                .enumerate()
                .map(|(i, s)| TicketLine {
                    seat_id: (*s).into(),
                    code: format!("B1-{}-0123456789abcdef0123", i + 1),
                    cid: format!("ticket-{}@evently", i + 1),
                })
                .collect(),
            fee: "0.00".into(),
            refund: "0.00".into(),
            refund_owed: false,
        })
        .expect("renders");
        assert_eq!(mail.inline.len(), 2);
        for needle in [
            "cid:ticket-1@evently",
            "cid:ticket-2@evently",
            "240.00 USD",
            "http://127.0.0.1:3000/bookings/B1",
        ] {
            assert!(mail.html.contains(needle), "{needle}");
        }
        assert!(mail.text.contains("B1-2-0123456789abcdef0123"));
        let raw =
            String::from_utf8(mime("a@evently.test", "ada@example.com", &mail)).expect("ascii");
        assert!(
            raw.contains("multipart/related") && raw.contains("Content-ID: <ticket-2@evently>")
        );
        assert!(raw.lines().all(|l| l.len() <= 998), "SMTP line limit");
    }
}
