//! Reading requests: JSON bodies with a size cap and shape errors that say
//! what is wrong, path and query parameters.

use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Larger bodies are refused before parsing: no route needs more.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    optional_json_body(req)?.ok_or_else(|| ApiError::BadRequest("a JSON body is required".into()))
}

/// `json_body` for a route whose body may also be left empty (None).
pub fn optional_json_body<T: DeserializeOwned>(req: &Request) -> Result<Option<T>, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    // The body is read as JSON whatever Content-Type says: `curl -d` sends
    // form encoding by default, and refusing it helps nobody.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes).map(Some).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::Unprocessable {
                field: "body".into(),
                message: e.to_string(),
            },
            _ => ApiError::BadRequest(format!("malformed JSON: {e}")),
        }
    })
}

/// A path parameter the route template guarantees; missing means the
/// gateway and the template disagree, which is our bug.
pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters()
        .first(name)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::Internal(format!("route has no `{name}` parameter")))
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters().first(name).map(str::to_owned)
}
