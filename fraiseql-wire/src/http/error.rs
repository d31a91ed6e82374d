//! Errors as HTTP responses: a status code from the error's kind, and a JSON body that tells the API's client
//! what it can act on and nothing about the server's insides.

use bytes::Bytes;
use serde_json::json;

use super::body::JsonBody;
use crate::error::{Error, ErrorKind};

/// The status code for `error`: `400` for request input ([`ErrorKind::Input`]), `504` for a timeout, `503` for
/// what may pass if retried ([`Error::is_retriable`]: the server unreachable, restarting, overloaded), `500`
/// for everything else (the application's or the server's fault, which the client cannot fix).
pub fn status_for(error: &Error) -> http::StatusCode {
    match error.kind() {
        ErrorKind::Input => http::StatusCode::BAD_REQUEST,
        ErrorKind::Timeout => http::StatusCode::GATEWAY_TIMEOUT,
        _ if error.is_retriable() => http::StatusCode::SERVICE_UNAVAILABLE,
        _ => http::StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The response for `error` before any byte of a body was sent: [`status_for`], and a JSON body
/// `{"error": {"kind": …, "retriable": …}}`. An input error adds its `message`, `path`, `advice` and
/// `input_kind`, which are about the request alone; other errors say nothing more, as their messages may name
/// servers, users or SQL (log them on the server: `tracing` already records them).
pub fn error_response(error: &Error) -> http::Response<JsonBody> {
    let mut detail = json!({"kind": error.kind().as_str(), "retriable": error.is_retriable()});
    if let Error::Input(input) = error {
        detail["input_kind"] = json!(input.kind().as_str());
        detail["message"] = json!(input.message());
        detail["path"] = json!(input.path());
        detail["advice"] = json!(input.advice());
    }
    let body = Bytes::from(json!({ "error": detail }).to_string());
    let mut response = http::Response::new(JsonBody::once("application/json", body));
    *response.status_mut() = status_for(error);
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// An [`Error`] as a handler's error: `?` on anything that converts into an `Error` (an `InputError` from a
/// request's filter included), answered with [`error_response`]. With feature `axum` it implements axum's
/// `IntoResponse`.
#[derive(Debug)]
pub struct ErrorResponse(pub Error);

impl<E: Into<Error>> From<E> for ErrorResponse {
    fn from(error: E) -> Self {
        ErrorResponse(error.into())
    }
}

impl ErrorResponse {
    /// The response.
    pub fn into_response(self) -> http::Response<JsonBody> {
        error_response(&self.0)
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for ErrorResponse {
    fn into_response(self) -> axum_core::response::Response {
        error_response(&self.0).map(axum_core::body::Body::new)
    }
}
