//! The public listener: content by CID and nothing else.
//!
//! This is the URL an operator publishes (`nodeRegistry.setEndpoint`) and other trainers fetch
//! committed states, checkpoints and datasets from. It answers `GET` and `HEAD
//! /v1/blobs/{cid}`, with content checked against its CID, and refuses everything else with
//! `404 not_served` (or `405`). Each client ([`ClientKey`]: an IPv4 address or an IPv6 /64)
//! may ask [`PublicLimits::burst`] times at
//! once and then [`PublicLimits::per_second`] times a second (`429 rate_limited` with
//! `Retry-After`), and at most [`PublicLimits::concurrent`] requests are served at a time
//! (`503 busy` with `Retry-After`).

use super::{
	connections::{Client, ClientKey},
	ApiError, Service,
};
use axum::{
	body::Body,
	extract::{ConnectInfo, Request, State},
	http::StatusCode,
	middleware::Next,
	response::{IntoResponse, Response},
	routing::get,
	Router,
};
use futures_util::StreamExt;
use std::{
	collections::HashMap,
	net::{IpAddr, Ipv4Addr, SocketAddr},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use tokio::sync::Semaphore;

/// How much the public listener serves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PublicLimits {
	/// Requests served at once, across clients.
	pub concurrent: usize,
	/// Requests one client may make at once after being idle.
	pub burst: u32,
	/// Requests one client may make each second after that.
	pub per_second: f64,
	/// Clients whose rates are tracked; beyond them new clients wait.
	pub clients: usize,
}

impl PublicLimits {
	/// Sixteen blobs served at once; 32 requests at once and then 8 a second per client,
	/// for up to 4 096 clients. A validator's trainer fetches a few blobs per job.
	pub const DEFAULT: Self = Self { concurrent: 16, burst: 32, per_second: 8.0, clients: 4096 };
}

/// What the gate in front of the public routes keeps.
struct Gate {
	limits: PublicLimits,
	serving: Arc<Semaphore>,
	clients: Mutex<HashMap<ClientKey, Bucket>>,
}

/// A client's allowance: a token bucket.
#[derive(Clone, Copy)]
struct Bucket {
	tokens: f64,
	at: Instant,
}

impl Gate {
	/// Takes one request from `client`'s allowance, or says how long until there is one.
	fn admit(&self, client: ClientKey, now: Instant) -> Result<(), Duration> {
		let PublicLimits { burst, per_second, clients: most, .. } = self.limits;
		let refilled = |bucket: &Bucket| {
			let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
			(bucket.tokens + elapsed * per_second).min(f64::from(burst))
		};
		let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
		if !clients.contains_key(&client) && clients.len() >= most {
			// Clients whose allowance is whole again are as good as new: forget them.
			clients.retain(|_, bucket| refilled(bucket) < f64::from(burst));
			if clients.len() >= most {
				return Err(Duration::from_secs(1));
			}
		}
		let bucket = clients.entry(client).or_insert(Bucket { tokens: f64::from(burst), at: now });
		let tokens = refilled(bucket);
		if tokens < 1.0 {
			return Err(Duration::from_secs_f64(((1.0 - tokens) / per_second).ceil().max(1.0)));
		}
		*bucket = Bucket { tokens: tokens - 1.0, at: now };
		Ok(())
	}
}

impl Service {
	/// The routes of the public listener, within `limits`. Served with
	/// `into_make_service_with_connect_info` (of [`Client`] on a guarded listener, of
	/// `SocketAddr` on a bare one), each client has an allowance of its own; without
	/// it, all share one.
	pub fn public(self, limits: PublicLimits) -> Router {
		let gate = Arc::new(Gate {
			limits,
			serving: Arc::new(Semaphore::new(limits.concurrent)),
			clients: Mutex::default(),
		});
		Router::new()
			.route("/v1/blobs/{cid}", get(super::get_blob))
			.method_not_allowed_fallback(read_only)
			.fallback(not_served)
			.layer(axum::middleware::from_fn_with_state(gate, admit))
			.with_state(self)
	}
}

async fn admit(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
	let extensions = request.extensions();
	let client = extensions
		.get::<ConnectInfo<Client>>()
		.map(|ConnectInfo(Client(address))| address.ip())
		.or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()))
		.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
	if let Err(wait) = gate.admit(client.into(), Instant::now()) {
		return ApiError::new(
			StatusCode::TOO_MANY_REQUESTS,
			"rate_limited",
			"this client asked too often; ask again after Retry-After seconds",
		)
		.retry_after(wait)
		.into_response();
	}
	let Ok(serving) = gate.serving.clone().try_acquire_owned() else {
		return ApiError::new(
			StatusCode::SERVICE_UNAVAILABLE,
			"busy",
			format!("{} requests are being served; ask again later", gate.limits.concurrent),
		)
		.retry_after(Duration::from_secs(1))
		.into_response();
	};
	let response = next.run(request).await;
	if !response.status().is_success() {
		return response;
	}
	// Content is read as it is sent: a request is served until its body is.
	response.map(|body| {
		Body::from_stream(body.into_data_stream().map(move |piece| {
			let _serving = &serving;
			piece
		}))
	})
}

async fn not_served() -> ApiError {
	ApiError::not_found(
		"not_served",
		"this listener serves content by CID only: GET /v1/blobs/{cid}",
	)
}

async fn read_only() -> ApiError {
	ApiError::new(
		StatusCode::METHOD_NOT_ALLOWED,
		"not_served",
		"this listener only serves content: GET or HEAD /v1/blobs/{cid}",
	)
}

#[cfg(test)]
mod tests {
	use super::{Gate, PublicLimits};
	use std::{net::IpAddr, sync::Arc, time::Instant};
	use tokio::sync::Semaphore;

	#[test]
	fn new_source_addresses_of_one_ipv6_64_share_one_allowance() {
		let limits = PublicLimits { burst: 2, per_second: 0.001, ..PublicLimits::DEFAULT };
		let gate = Gate {
			limits,
			serving: Arc::new(Semaphore::new(limits.concurrent)),
			clients: Default::default(),
		};
		let now = Instant::now();
		let admit = |address: &str| gate.admit(address.parse::<IpAddr>().unwrap().into(), now);
		assert!(admit("2001:db8:7:7::1").is_ok());
		assert!(admit("2001:db8:7:7::2").is_ok());
		assert!(admit("2001:db8:7:7::3").is_err(), "a third address of the /64 finds it spent");
		assert!(admit("2001:db8:7:8::1").is_ok(), "the next /64 is another client");
	}
}
