//! Passwords (argon2id) and access tokens (HS256 JWTs with issuer, audience,
//! subject, role, issued-at and expiry, and a key id; anything else is
//! refused). In AWS the signing keys live in Secrets Manager and rotate
//! without logging anyone out (see `TokenService`, docs/operations.md).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use evently_core::{Role, User};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::Request;
use serde::{Deserialize, Serialize};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::ApiError;

pub const ISSUER: &str = "evently";
pub const AUDIENCE: &str = "evently-api";
/// The audience of admission tokens (the waiting room's pass to hold
/// seats): never accepted as an access token, nor the other way round.
pub const ADMISSION_AUDIENCE: &str = "evently-admission";

/// An admission out of an event's waiting room: this user, this event,
/// until `exp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionClaims {
    pub sub: String,
    pub evt: String,
    pub tkt: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// The account's token version when issued (see
    /// `evently_store::Account::token_version`); tokens from before
    /// versions count as 0.
    #[serde(default)]
    pub ver: u64,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// One signing key: its id (`kid` in every token's header) and secret,
/// and the key that signs ticket codes (see `tickets`).
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Vec<u8>,
    /// `ticket_key` in the secret: tickets are printed weeks before the
    /// door scans them, longer than a JWT key lives through rotations, so
    /// a rotation carries this one over unchanged. Without it, a key
    /// derived from `secret` (codes then last two rotations).
    pub ticket_key: Vec<u8>,
}

impl SigningKey {
    /// A secret as Secrets Manager holds it: `{"kid": "...", "key": "..."}`
    /// (a bare string is one key with kid `default`). At least 32 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (kid, secret, ticket_key) = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => (
                v["kid"].as_str().unwrap_or("default").to_owned(),
                v["key"]
                    .as_str()
                    .ok_or("signing key secret has no `key`")?
                    .to_owned(),
                v["ticket_key"].as_str().map(str::to_owned),
            ),
            _ => ("default".to_owned(), text.to_owned(), None),
        };
        if secret.len() < 32 {
            return Err("a JWT signing key must be at least 32 bytes".into());
        }
        let ticket_key = match ticket_key {
            Some(k) if k.len() < 32 => return Err("a ticket key must be at least 32 bytes".into()),
            Some(k) => k.into_bytes(),
            None => crate::tickets::derived_key(secret.as_bytes()),
        };
        Ok(Self {
            kid,
            secret: secret.into_bytes(),
            ticket_key,
        })
    }
}

/// Where the keys come from: fixed (tests, the local stack without
/// Secrets Manager) or a Secrets Manager secret whose AWSCURRENT version
/// signs and whose AWSPREVIOUS version still verifies, so tokens signed
/// before a rotation stay valid until they expire.
enum KeySource {
    Fixed,
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    },
}

struct Keys {
    signing: SigningKey,
    verifying: HashMap<String, DecodingKey>,
    /// Ticket keys that verify codes: the current one first.
    ticket_keys: Vec<Vec<u8>>,
    fetched: std::time::Instant,
}

/// Issues and checks access tokens. With Secrets Manager the keys are read
/// on first use (not at cold start: a function that never sees a token
/// never asks), and read again — at most every few seconds — when a token
/// names a key this container has not seen (a rotation that happened after
/// it started).
pub struct TokenService {
    source: KeySource,
    keys: RwLock<Option<Arc<Keys>>>,
    validation: Validation,
    /// How soon an unknown `kid` may make this container read the keys
    /// again (so random kids cannot turn into a flood of reads).
    refresh_after: std::time::Duration,
}

impl TokenService {
    /// One fixed key (kid `default`), at least 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        let key = SigningKey::parse(std::str::from_utf8(secret).map_err(|e| e.to_string())?)?;
        Ok(Self::with_keys(KeySource::Fixed, Some(keys_of(key, None))))
    }

    /// Keys from a Secrets Manager secret (`JWT_SECRET_ARN`).
    pub fn from_secrets_manager(client: aws_sdk_secretsmanager::Client, secret_id: String) -> Self {
        Self::with_keys(KeySource::SecretsManager { client, secret_id }, None)
    }

    /// No keys at all: for functions that answer without a token (the
    /// catalog, claim links). Any token check there is a 401.
    pub fn none() -> Self {
        Self::with_keys(KeySource::Fixed, None)
    }

    fn with_keys(source: KeySource, keys: Option<Keys>) -> Self {
        // Only HS256: a token claiming `none` or any other algorithm fails.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        Self {
            source,
            keys: RwLock::new(keys.map(Arc::new)),
            validation,
            refresh_after: std::time::Duration::from_secs(5),
        }
    }

    /// The same keys, read from Secrets Manager (if that is where they come
    /// from) with access key `key`: the local runtime gives each function
    /// its own identity. Keys already read are not shared (each function
    /// reads its own, as each Lambda container does).
    pub fn with_access_key(&self, key: &str) -> Self {
        let (source, keys) = match &self.source {
            KeySource::Fixed => (
                KeySource::Fixed,
                self.keys.read().ok().and_then(|k| k.clone()),
            ),
            KeySource::SecretsManager { client, secret_id } => (
                KeySource::SecretsManager {
                    client: secrets_client_as(client, key),
                    secret_id: secret_id.clone(),
                },
                None,
            ),
        };
        let mut out = Self::with_keys(source, None);
        out.keys = RwLock::new(keys);
        out.refresh_after = self.refresh_after;
        out
    }

    /// Sets how soon an unknown `kid` may trigger another read of the keys.
    pub fn refreshing_after(mut self, after: std::time::Duration) -> Self {
        self.refresh_after = after;
        self
    }

    fn cached(&self) -> Option<Arc<Keys>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The keys, fetched if never fetched (or, with `refresh`, fetched
    /// again if the last fetch is older than a minute).
    async fn keys(&self, refresh: bool) -> Result<Arc<Keys>, ApiError> {
        let cached = self.cached();
        if let Some(k) = &cached {
            if !refresh || k.fetched.elapsed() < self.refresh_after {
                return Ok(k.clone());
            }
        }
        let KeySource::SecretsManager { client, secret_id } = &self.source else {
            return cached.ok_or_else(|| {
                ApiError::Unauthorized("this route does not take access tokens".into())
            });
        };
        let fetched = Arc::new(fetch_keys(client, secret_id).await?);
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(fetched.clone());
        Ok(fetched)
    }

    /// A signed access token for `user` under its token `version`, valid
    /// for `ttl_secs` from `now`.
    pub async fn issue(
        &self,
        user: &User,
        version: u64,
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> Result<String, ApiError> {
        let keys = self.keys(false).await?;
        let claims = Claims {
            sub: user.id.clone(),
            role: user.role,
            ver: version,
            iat: now.timestamp(),
            exp: now.timestamp() + ttl_secs,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys.signing.kid.clone());
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(&keys.signing.secret),
        )
        .map_err(|e| ApiError::Internal(format!("signing token: {e}")))
    }

    /// A signed admission for `claims` (the same keys as access tokens).
    pub async fn issue_admission(&self, claims: &AdmissionClaims) -> Result<String, ApiError> {
        let keys = self.keys(false).await?;
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys.signing.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_secret(&keys.signing.secret),
        )
        .map_err(|e| ApiError::Internal(format!("signing admission: {e}")))
    }

    /// The claims of an admission token whose signature is ours, or None.
    /// Its expiry is the caller's to judge (against the app's clock).
    pub async fn verify_admission(&self, token: &str) -> Result<Option<AdmissionClaims>, ApiError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        let kid = header.kid.unwrap_or_else(|| "default".into());
        let mut keys = self.keys(false).await?;
        if !keys.verifying.contains_key(&kid) {
            keys = self.keys(true).await?;
        }
        let Some(key) = keys.verifying.get(&kid) else {
            return Ok(None);
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[ADMISSION_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.validate_exp = false;
        Ok(
            jsonwebtoken::decode::<AdmissionClaims>(token, key, &validation)
                .ok()
                .map(|data| data.claims),
        )
    }

    /// Signs ticket codes with the current ticket key, without awaiting
    /// each (the keys are this container's copy).
    pub async fn ticket_signer(&self) -> Result<crate::tickets::Signer, ApiError> {
        let keys = self.keys(false).await?;
        Ok(crate::tickets::Signer(keys.signing.ticket_key.clone()))
    }

    /// The code a door scans for ticket `at` (see `tickets`).
    pub async fn ticket_code(&self, at: &evently_core::TicketRef) -> Result<String, ApiError> {
        let keys = self.keys(false).await?;
        Ok(crate::tickets::sign(&keys.signing.ticket_key, at))
    }

    /// The ticket a code names, if the code is ours (signed by the current
    /// or the previous ticket key); None for anything forged or garbled.
    pub async fn read_ticket_code(
        &self,
        code: &str,
    ) -> Result<Option<evently_core::TicketRef>, ApiError> {
        let keys = self.keys(false).await?;
        Ok(keys
            .ticket_keys
            .iter()
            .find_map(|k| crate::tickets::verify(k, code)))
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = || ApiError::Unauthorized("the access token is not valid".into());
        let kid = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid())?
            .kid
            .unwrap_or_else(|| "default".into());
        let mut keys = self.keys(false).await?;
        if !keys.verifying.contains_key(&kid) {
            keys = self.keys(true).await?;
        }
        let key = keys.verifying.get(&kid).ok_or_else(invalid)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => {
                        ApiError::Unauthorized("the access token has expired; log in again".into())
                    }
                    _ => invalid(),
                }
            })
    }

    /// The caller's claims from `Authorization: Bearer <token>`, checked
    /// for signature and expiry only: `App::authenticate` also checks that
    /// no password change has ended the session since.
    pub async fn authenticate(&self, req: &Request) -> Result<Claims, ApiError> {
        let header = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::Unauthorized("send Authorization: Bearer <access token>".into())
            })?;
        let (scheme, token) = header.trim().split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::Unauthorized(
                "send Authorization: Bearer <access token>".into(),
            ));
        }
        self.verify(token.trim()).await
    }
}

fn keys_of(signing: SigningKey, previous: Option<SigningKey>) -> Keys {
    let mut verifying = HashMap::new();
    for k in previous.iter().chain(std::iter::once(&signing)) {
        verifying.insert(k.kid.clone(), DecodingKey::from_secret(&k.secret));
    }
    let mut ticket_keys = vec![signing.ticket_key.clone()];
    ticket_keys.extend(
        previous
            .iter()
            .map(|k| k.ticket_key.clone())
            .filter(|k| *k != signing.ticket_key),
    );
    Keys {
        signing,
        verifying,
        ticket_keys,
        fetched: std::time::Instant::now(),
    }
}

/// AWSCURRENT signs; AWSPREVIOUS (if the secret was ever rotated) still
/// verifies.
async fn fetch_keys(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Keys, ApiError> {
    let version = |stage: &'static str| {
        let req = client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage);
        async move { req.send().await }
    };
    let unavailable = |e: String| {
        tracing::error!(error = %e, "JWT signing key not readable");
        ApiError::unavailable("the service is starting up; try again in a moment")
    };
    let current = version("AWSCURRENT").await.map_err(|e| {
        unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
    })?;
    let current =
        SigningKey::parse(current.secret_string().unwrap_or_default()).map_err(unavailable)?;
    let previous = match version("AWSPREVIOUS").await {
        Ok(v) => SigningKey::parse(v.secret_string().unwrap_or_default()).ok(),
        Err(e) => {
            // Never rotated: there is no previous version.
            tracing::debug!(error = %aws_sdk_secretsmanager::error::DisplayErrorContext(e), "no previous signing key");
            None
        }
    };
    Ok(keys_of(current, previous))
}

/// A new password (change or reset) held to the registration rules for
/// `email` (`""` before the account is known: length and repetition only);
/// 422 naming `new_password`, the field both routes take.
pub fn check_new_password(password: &str, email: &str) -> Result<(), ApiError> {
    evently_core::user::validate_password(password, email).map_err(|e| ApiError::Unprocessable {
        field: "new_password".into(),
        message: e.message,
    })
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("hashing password: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the same argon2 work as a real check, so an unknown email takes
/// as long to refuse as a wrong password.
pub fn burn_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// A new password reset token (what the email's link carries: 256 random
/// bits as 64 hex digits) and the hash the table keeps of it.
pub fn new_reset_token() -> (String, String) {
    let token: String = (0..2).map(|_| format!("{:032x}", rand_u128())).collect();
    let hash = reset_token_hash(&token).unwrap_or_default();
    (token, hash)
}

fn rand_u128() -> u128 {
    use argon2::password_hash::rand_core::RngCore;
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    u128::from_le_bytes(bytes)
}

/// The key a reset token is kept under (its SHA-256, hex), or None when
/// the text cannot be a token of ours (64 lower-case hex digits).
pub fn reset_token_hash(token: &str) -> Option<String> {
    use sha2::{Digest, Sha256};
    let well_formed = token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    well_formed.then(|| {
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// `client` signing with access key `key` (the local runtime's identity of
/// one function; see local/src/iam.rs).
pub(crate) fn secrets_client_as(
    client: &aws_sdk_secretsmanager::Client,
    key: &str,
) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::from_conf(
        client
            .config()
            .to_builder()
            .credentials_provider(evently_store::aws::credentials(key))
            .build(),
    )
}

#[cfg(test)]
mod reset_tests {
    use super::*;

    #[test]
    fn a_reset_token_is_random_well_formed_and_kept_only_as_its_hash() {
        let (a, hash_a) = new_reset_token();
        let (b, _) = new_reset_token();
        assert_ne!(a, b);
        assert_eq!(reset_token_hash(&a).as_deref(), Some(hash_a.as_str()));
        assert_ne!(a, hash_a);
        assert_eq!(reset_token_hash("not-a-token"), None);
        assert_eq!(reset_token_hash(&a.to_uppercase()), None);
        assert_eq!(reset_token_hash(&a[..63]), None);
    }
}
