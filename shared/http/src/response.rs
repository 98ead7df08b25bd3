use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::ApiError;

pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<Response<Body>, ApiError> {
    let text = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut resp = Response::new(Body::Text(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

pub fn ok<T: Serialize>(body: &T) -> Result<Response<Body>, ApiError> {
    json(StatusCode::OK, body)
}

pub fn created<T: Serialize>(body: &T) -> Result<Response<Body>, ApiError> {
    json(StatusCode::CREATED, body)
}
