//! The client's address when the API is reached through CloudFront.
//!
//! Behind the web app's distribution (template.yaml, `WebDistribution`)
//! every request reaches API Gateway from a CloudFront edge, so the
//! request context's `sourceIp` is the edge's address: the failed-login
//! limits per address would count everyone at one edge together and lock
//! them all out at once. The distribution therefore sends two headers to
//! the API: the viewer's address (`x-evently-viewer-ip`, set by a
//! CloudFront Function from `event.viewer.ip`, overwriting whatever the
//! client sent) and a secret only CloudFront and the functions know
//! (`x-evently-edge`, an origin custom header holding the `EdgeKey`
//! secret). The viewer's address is believed only next to the right
//! secret: a client calling the execute-api URL directly and naming any
//! address it likes is counted by its own `sourceIp`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::Request;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

/// The header carrying the edge secret (an origin custom header).
pub const EDGE_HEADER: &str = "x-evently-edge";
/// The header carrying the viewer's address (set by a CloudFront Function).
pub const VIEWER_IP_HEADER: &str = "x-evently-viewer-ip";

enum KeySource {
    /// Not behind CloudFront (the local stack, tests): `sourceIp` only.
    Off,
    Fixed(String),
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    },
}

/// Whether, and with which secret, an edge's word for the viewer's
/// address is taken. The secret is read on first use and again when a
/// request presents another value (after a rotation), at most once a
/// minute; a failed read falls back to `sourceIp` for that request.
pub struct EdgeTrust {
    source: KeySource,
    key: Mutex<Option<(Arc<str>, Instant)>>,
}

/// How soon a presented value that differs from the secret read may make
/// the function read the secret again.
const REREAD_AFTER: Duration = Duration::from_secs(60);

impl EdgeTrust {
    pub fn off() -> Self {
        Self::of(KeySource::Off)
    }

    /// Trusts requests that carry `key` (tests, and the local stack when
    /// it plays CloudFront).
    pub fn fixed(key: impl Into<String>) -> Self {
        Self::of(KeySource::Fixed(key.into()))
    }

    /// Trusts requests that carry the string held by Secrets Manager
    /// secret `secret_id` (the `EdgeKey` of template.yaml).
    pub fn from_secrets_manager(client: aws_sdk_secretsmanager::Client, secret_id: String) -> Self {
        Self::of(KeySource::SecretsManager { client, secret_id })
    }

    fn of(source: KeySource) -> Self {
        Self {
            source,
            key: Mutex::new(None),
        }
    }

    /// The same trust with its Secrets Manager client signing as `key` (the
    /// local runtime's identity of one function).
    pub fn with_access_key(&self, key: &str) -> Self {
        Self::of(match &self.source {
            KeySource::Off => KeySource::Off,
            KeySource::Fixed(k) => KeySource::Fixed(k.clone()),
            KeySource::SecretsManager { client, secret_id } => KeySource::SecretsManager {
                client: crate::auth::secrets_client_as(client, key),
                secret_id: secret_id.clone(),
            },
        })
    }

    async fn read(&self) -> Option<Arc<str>> {
        match &self.source {
            KeySource::Off => None,
            KeySource::Fixed(k) => Some(Arc::from(k.as_str())),
            KeySource::SecretsManager { client, secret_id } => {
                match client.get_secret_value().secret_id(secret_id).send().await {
                    Ok(out) => out.secret_string().map(Arc::from),
                    Err(e) => {
                        tracing::error!(error = %aws_sdk_secretsmanager::error::DisplayErrorContext(&e), "the edge secret could not be read; counting by sourceIp");
                        None
                    }
                }
            }
        }
    }

    /// Whether `presented` is the edge secret: compared with the one read
    /// before, and with a fresh read when it differs and the last read is
    /// over a minute old.
    async fn is_secret(&self, presented: &[u8]) -> bool {
        let same = |k: &str| Sha256::digest(presented) == Sha256::digest(k.as_bytes());
        let mut held = self.key.lock().await;
        if let Some((k, at)) = held.as_ref() {
            if same(k) {
                return true;
            }
            if at.elapsed() < REREAD_AFTER {
                return false;
            }
        }
        match self.read().await {
            Some(k) => {
                let ok = same(&k);
                *held = Some((k, Instant::now()));
                ok
            }
            None => false,
        }
    }

    /// The viewer's address as the edge vouched for it, when `req` carries
    /// the edge secret and a well-formed address; otherwise None (use the
    /// request context's `sourceIp`).
    pub async fn viewer_ip(&self, req: &Request) -> Option<String> {
        if matches!(self.source, KeySource::Off) {
            return None;
        }
        let presented = req.headers().get(EDGE_HEADER)?.as_bytes();
        // Compared as digests: equal-length, and no early exit on the
        // secret's own bytes.
        if !self.is_secret(presented).await {
            tracing::warn!("a request named a viewer address without the edge secret; ignored");
            return None;
        }
        let ip: std::net::IpAddr = req
            .headers()
            .get(VIEWER_IP_HEADER)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Some(ip.to_string())
    }
}

impl std::fmt::Debug for EdgeTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source {
            KeySource::Off => "off",
            KeySource::Fixed(_) => "fixed",
            KeySource::SecretsManager { .. } => "secrets-manager",
        };
        f.debug_struct("EdgeTrust").field("source", &kind).finish()
    }
}
