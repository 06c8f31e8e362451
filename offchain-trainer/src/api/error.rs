//! Errors as the HTTP API reports them: a status and a JSON body `{ "error", "message" }`.

use super::request::RequestError;
use crate::{limits::OverLimit, state::StateError, store::StoreError};
use axum::{
	extract::rejection::JsonRejection,
	http::{header, StatusCode},
	response::{IntoResponse, Response},
	Json,
};
use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
	/// A stable, machine-readable code.
	pub error: String,
	/// What went wrong, for people.
	pub message: String,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
	status: StatusCode,
	body: ErrorBody,
	/// For a refusal that passes: when to ask again, sent as `Retry-After` (whole seconds).
	retry_after: Option<std::time::Duration>,
}

impl ApiError {
	/// An error with this status, code and message.
	pub fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
		Self {
			status,
			body: ErrorBody { error: error.to_owned(), message: message.into() },
			retry_after: None,
		}
	}

	/// The same error, telling the client to ask again after `wait` (rounded up to seconds).
	pub fn retry_after(self, wait: std::time::Duration) -> Self {
		Self { retry_after: Some(wait), ..self }
	}

	/// The request is malformed or asks for something impossible.
	pub fn bad_request(error: &str, message: impl Into<String>) -> Self {
		Self::new(StatusCode::BAD_REQUEST, error, message)
	}

	/// Nothing is known under this name.
	pub fn not_found(error: &str, message: impl Into<String>) -> Self {
		Self::new(StatusCode::NOT_FOUND, error, message)
	}

	/// The trainer failed at something the request was entitled to.
	pub fn internal(message: impl Into<String>) -> Self {
		Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
	}

	/// What went wrong, for people.
	pub fn message(&self) -> &str {
		&self.body.message
	}

	/// The response status.
	pub fn status(&self) -> StatusCode {
		self.status
	}
}

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		let mut response = (self.status, Json(self.body)).into_response();
		if let Some(wait) = self.retry_after {
			let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
			response.headers_mut().insert(header::RETRY_AFTER, seconds.max(1).into());
		}
		response
	}
}

impl From<JsonRejection> for ApiError {
	fn from(rejection: JsonRejection) -> Self {
		Self::new(rejection.status(), "invalid_json", rejection.body_text())
	}
}

impl From<RequestError> for ApiError {
	fn from(error: RequestError) -> Self {
		let error_code = match error {
			RequestError::UnsupportedBackend(_) => "unsupported_backend",
			RequestError::InvalidDigest(_) => "invalid_digest",
			RequestError::NotReference(_) => "reference_only",
		};
		Self::new(StatusCode::UNPROCESSABLE_ENTITY, error_code, error.to_string())
	}
}

impl From<OverLimit> for ApiError {
	fn from(error: OverLimit) -> Self {
		Self::new(StatusCode::UNPROCESSABLE_ENTITY, "over_limit", error.to_string())
	}
}

impl From<StoreError> for ApiError {
	fn from(error: StoreError) -> Self {
		let message = error.to_string();
		match error {
			StoreError::NotFound(_) => Self::not_found("not_found", message),
			StoreError::InvalidCid(_) => Self::bad_request("invalid_cid", message),
			StoreError::InvalidPeer(_) => Self::bad_request("invalid_peer", message),
			StoreError::Unreachable { cid, .. } => {
				// What the transport said is for the operator, not for whoever asked.
				eprintln!("{message}");
				Self::new(
					StatusCode::BAD_GATEWAY,
					"peer_unreachable",
					format!("{cid} could not be fetched: the peer did not answer"),
				)
			}
			StoreError::Corrupt(_) => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, "cid_mismatch", message)
			}
			StoreError::Unsupported { .. } => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unsupported_block", message)
			}
			StoreError::Fetch { .. } => Self::new(StatusCode::BAD_GATEWAY, "fetch_failed", message),
			StoreError::Io(_) => Self::internal(message),
		}
	}
}

impl From<StateError> for ApiError {
	fn from(error: StateError) -> Self {
		let message = error.to_string();
		match error {
			StateError::Unusable { .. } => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_state", message)
			}
			StateError::WrongWeights { .. } => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, "wrong_state", message)
			}
			StateError::Store(error) => error.into(),
			StateError::Record(_) => Self::internal(message),
		}
	}
}
