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
    ];
    for (name, source) in templates {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "email template does not parse");
        }
    }
    env
}

pub fn render_offer(email: &OfferEmail) -> Result<Rendered, minijinja::Error> {
    let env = environment();
    let subject = format!(
        "Your seats for {} are held until {}",
        email.event_name, email.expires_at
    );
    let ctx =
        minijinja::context! { subject => &subject, ..minijinja::Value::from_serialize(email) };
    Ok(Rendered {
        html: env.get_template("offer.html")?.render(&ctx)?,
        text: env.get_template("offer.txt")?.render(&ctx)?,
        subject,
    })
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
    let env = environment();
    let subject = match email.booking_id {
        Some(_) => format!(
            "{} is cancelled: your booking is refunded in full",
            email.event_name
        ),
        None => format!("{} is cancelled: the waitlist is closed", email.event_name),
    };
    let ctx =
        minijinja::context! { subject => &subject, ..minijinja::Value::from_serialize(email) };
    Ok(Rendered {
        html: env.get_template("event_cancelled.html")?.render(&ctx)?,
        text: env.get_template("event_cancelled.txt")?.render(&ctx)?,
        subject,
    })
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
                let text = aws_sdk_ses::error::DisplayErrorContext(&e).to_string();
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

/// A multipart/alternative message: text first, HTML preferred.
fn mime(from: &str, to: &str, mail: &Rendered) -> Vec<u8> {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let wrap = |s: &str| {
        let encoded = STANDARD.encode(s.as_bytes());
        encoded
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let boundary = format!("evently-{:016x}", rand_boundary(mail));
    let mut out = String::new();
    out.push_str(&format!("From: {from}\r\nTo: {to}\r\n"));
    out.push_str(&format!(
        "Subject: =?UTF-8?B?{}?=\r\n",
        STANDARD.encode(mail.subject.as_bytes())
    ));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str(&format!(
        "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
    ));
    for (kind, body) in [("text/plain", &mail.text), ("text/html", &mail.html)] {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: {kind}; charset=UTF-8\r\n"
        ));
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        out.push_str(&wrap(body));
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
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
            claim_url: "http://127.0.0.1:3000/api/v1/waitlist/offers/abc".into(),
        })
        .expect("renders");
        for body in [&mail.html, &mail.text] {
            for needle in [
                "Evently Demo Night",
                "A-1-1, A-1-2",
                "240.00 USD",
                "20:15 UTC",
                "/waitlist/offers/abc",
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
}
