//! RFC 9457 problem documents. `ApiError` is the one error type handlers
//! return; `into_response` is the one place it becomes HTTP.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};

use evently_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String, Map<String, Value>),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{field}: {message}")]
    Unprocessable { field: String, message: String },
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    PaymentRequired(String),
    #[error("{0}")]
    Gone(String),
    /// Nothing was done (or it is not known yet): try again after
    /// `retry_after` seconds (`Retry-After`).
    #[error("{detail}")]
    Unavailable { detail: String, retry_after: u64 },
    /// Too many attempts from this account or address for now.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict(detail.into(), Map::new())
    }

    /// A 503 that asks for a retry in a second.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        ApiError::Unavailable {
            detail: detail.into(),
            retry_after: 1,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Unavailable { retry_after, .. }
            | ApiError::TooManyRequests { retry_after, .. } => Some((*retry_after).max(1)),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `type` slug; documented in docs/openapi.yaml.
    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::PaymentRequired(_) => "payment-declined",
            ApiError::Gone(_) => "gone",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Conflict(..) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::Unprocessable { .. } => "validation-failed",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let detail = match &self {
            // Never leak internals to the client; the log has them.
            ApiError::Internal(msg) => {
                tracing::error!(error = %msg, "request failed");
                "something went wrong on our side; try again".to_owned()
            }
            other => other.to_string(),
        };
        let mut doc = json!({
            "type": format!("/problems/{}", self.slug()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        });
        if let (Some(obj), ApiError::Conflict(_, extras)) = (doc.as_object_mut(), &self) {
            obj.extend(extras.clone());
        }
        if let (Some(obj), ApiError::Unprocessable { field, .. }) = (doc.as_object_mut(), &self) {
            obj.insert("field".into(), Value::String(field.clone()));
        }
        let retry_after = self.retry_after();
        if let (Some(obj), Some(secs)) = (doc.as_object_mut(), retry_after) {
            obj.insert("retry_after".into(), json!(secs));
        }
        let mut resp = Response::new(Body::Text(doc.to_string()));
        *resp.status_mut() = status;
        if let Ok(v) = "application/problem+json".parse() {
            resp.headers_mut().insert("content-type", v);
        }
        if let Some(v) = retry_after.and_then(|secs| secs.to_string().parse().ok()) {
            resp.headers_mut().insert("retry-after", v);
        }
        resp
    }
}

impl From<evently_core::Invalid> for ApiError {
    fn from(e: evently_core::Invalid) -> Self {
        ApiError::Unprocessable {
            field: e.field.to_owned(),
            message: e.message,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // Throttled or failing for the moment, after the retries a
            // request's budget allows: the client tries again, nothing is
            // claimed about the outcome.
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "DynamoDB unavailable; answering 503");
                ApiError::unavailable("the service is busy right now; try again in a moment")
            }
            StoreError::SessionEnded => ApiError::Unauthorized(crate::app::SESSION_ENDED.into()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
