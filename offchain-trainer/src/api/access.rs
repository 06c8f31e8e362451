//! Who may reach the control API, checked before any route runs.
//!
//! The control API starts, cancels and verifies work, stores and collects content and has the
//! trainer fetch from peers, so it answers only:
//! - requests naming a host it can be reached by: an IP address, `localhost`, or a name the
//!   operator listed. A web page whose name an attacker re-points at 127.0.0.1 (DNS rebinding)
//!   still sends its own name as `Host`, and is refused (`403 host_not_allowed`);
//! - requests from no web page, or from an origin the operator allowed (the dashboard's):
//!   browsers send `Origin` on every cross-origin request and on every same-origin POST
//!   (`403 origin_not_allowed`);
//! - requests carrying its bearer token, when it has one; it must have one to listen beyond
//!   loopback (`401 unauthorized`);
//! - POSTs whose body is declared `application/json` (`415 json_required`): the content types a
//!   browser may send without asking first (forms, plain text) are all refused, so no page can
//!   reach a state-changing route with a "simple request" even where it could reach the API.

use super::ApiError;
use axum::{
	extract::{Request, State},
	http::{header, HeaderMap, HeaderValue, Method, StatusCode},
	middleware::Next,
	response::{IntoResponse, Response},
};
use std::{net::SocketAddr, sync::Arc};

/// The environment variable holding the control API's bearer token.
pub const TOKEN_VARIABLE: &str = "TESSERA_TRAINER_TOKEN";

/// What the control API admits.
#[derive(Clone, Debug, Default)]
pub struct ControlAccess {
	token: Option<String>,
	hosts: Vec<String>,
	origins: Vec<HeaderValue>,
}

/// A control API that could not be configured safely.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
	/// Listening beyond loopback without a token would hand the API to the network.
	#[error(
		"the control API would listen on {0}, beyond loopback, without a token: set \
		 {TOKEN_VARIABLE} (or --control-token), or listen on 127.0.0.1"
	)]
	NoToken(SocketAddr),
	/// A token that is empty or that a header cannot carry.
	#[error("the control token must be non-empty visible ASCII")]
	BadToken,
	/// An allowed origin that is not `scheme://host[:port]`.
	#[error("{0:?} is not a web origin (http or https, a host, an optional port, nothing else)")]
	BadOrigin(String),
}

impl ControlAccess {
	/// The access of a control API listening on `listen`: with `token` if given, which it must
	/// be beyond loopback.
	pub fn for_listener(listen: SocketAddr, token: Option<String>) -> Result<Self, AccessError> {
		if let Some(token) = &token {
			if token.is_empty() || !token.bytes().all(|byte| byte.is_ascii_graphic()) {
				return Err(AccessError::BadToken);
			}
		}
		if token.is_none() && !listen.ip().is_loopback() {
			return Err(AccessError::NoToken(listen));
		}
		Ok(Self { token, ..Self::default() })
	}

	/// Also answers requests naming these hosts (names the API is reached by, beside IP
	/// addresses and `localhost`).
	pub fn allowing_hosts(self, hosts: impl IntoIterator<Item = String>) -> Self {
		Self { hosts: hosts.into_iter().collect(), ..self }
	}

	/// Also answers requests from web pages of these origins, which may read what GET
	/// answers (the dashboard draws loss curves from job reports).
	pub fn allowing_origins(self, origins: &[String]) -> Result<Self, AccessError> {
		let origins = origins
			.iter()
			.map(|origin| web_origin(origin).ok_or_else(|| AccessError::BadOrigin(origin.clone())))
			.collect::<Result<_, _>>()?;
		Ok(Self { origins, ..self })
	}

	/// The origins whose pages may read.
	pub fn origins(&self) -> &[HeaderValue] {
		&self.origins
	}

	/// Why a request may not reach the API, if it may not.
	fn refusal(&self, method: &Method, headers: &HeaderMap) -> Option<ApiError> {
		if !self.host_allowed(headers) {
			return Some(ApiError::new(
				StatusCode::FORBIDDEN,
				"host_not_allowed",
				"the control API answers only requests for its own address",
			));
		}
		if let Some(origin) = headers.get(header::ORIGIN) {
			if !self.origins.contains(origin) {
				return Some(ApiError::new(
					StatusCode::FORBIDDEN,
					"origin_not_allowed",
					"web pages of this origin may not use the control API",
				));
			}
		}
		if *method == Method::OPTIONS {
			// A preflight from an allowed origin, which the CORS layer answers.
			return None;
		}
		if let Some(token) = &self.token {
			let offered = headers
				.get(header::AUTHORIZATION)
				.and_then(|value| value.as_bytes().strip_prefix(b"Bearer "));
			if !offered.is_some_and(|offered| same_secret(offered, token.as_bytes())) {
				return Some(ApiError::new(
					StatusCode::UNAUTHORIZED,
					"unauthorized",
					"the control API needs its bearer token (Authorization: Bearer …)",
				));
			}
		}
		if *method == Method::POST && !declares_json(headers) {
			return Some(ApiError::new(
				StatusCode::UNSUPPORTED_MEDIA_TYPE,
				"json_required",
				"a POST must declare Content-Type: application/json",
			));
		}
		None
	}

	fn host_allowed(&self, headers: &HeaderMap) -> bool {
		// Browsers always send `Host`; a request without one comes from no web page.
		let Some(host) = headers.get(header::HOST) else { return true };
		let Ok(host) = host.to_str() else { return false };
		let name = host_name(host);
		name.parse::<std::net::IpAddr>().is_ok()
			|| name.eq_ignore_ascii_case("localhost")
			|| self.hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(name))
	}
}

/// Refuses what [`ControlAccess`] does not admit, before the route runs.
pub(super) async fn guard(
	State(access): State<Arc<ControlAccess>>,
	request: Request,
	next: Next,
) -> Response {
	match access.refusal(request.method(), request.headers()) {
		Some(refusal) => {
			let unauthorized = refusal.status() == StatusCode::UNAUTHORIZED;
			let mut response = refusal.into_response();
			if unauthorized {
				response
					.headers_mut()
					.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
			}
			response
		}
		None => next.run(request).await,
	}
}

/// The name in a `Host` header: `[::1]:7070` names `::1`, `localhost:7070` names `localhost`.
fn host_name(host: &str) -> &str {
	match host.strip_prefix('[') {
		Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
		None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
	}
}

/// `origin` as browsers send it, if it is one: `http` or `https`, a host, an optional port.
fn web_origin(origin: &str) -> Option<HeaderValue> {
	let origin = origin.trim_end_matches('/');
	let uri: axum::http::Uri = origin.parse().ok()?;
	let web = matches!(uri.scheme_str(), Some("http" | "https"));
	let bare = uri.path_and_query().is_none_or(|path| matches!(path.as_str(), "" | "/"));
	(web && uri.host().is_some_and(|host| !host.is_empty()) && bare)
		.then(|| HeaderValue::from_str(&origin.to_ascii_lowercase()).ok())
		.flatten()
}

fn declares_json(headers: &HeaderMap) -> bool {
	headers
		.get(header::CONTENT_TYPE)
		.and_then(|value| value.to_str().ok())
		.and_then(|value| value.split(';').next())
		.is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(offered: &[u8], expected: &[u8]) -> bool {
	offered.len() == expected.len()
		&& offered.iter().zip(expected).fold(0, |differ, (a, b)| differ | (a ^ b)) == 0
}
