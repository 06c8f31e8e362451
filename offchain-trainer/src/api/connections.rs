//! Inbound connections, bounded: how many are open at once, how long one may stay idle, and
//! how long one may last.
//!
//! axum serves a connection as long as the client keeps it open and never times out one that
//! sends no request, so a client holding many idle connections (or trickling a request's
//! headers) would pin sockets and memory for ever. [`Guarded`] accepts at most
//! [`Connections::most`] at once, and [`Connections::per_client`] from one address, and
//! closes any beyond at once, so that one client cannot take every place; a connection on which no byte
//! moves either way for [`Connections::idle`], or that is older than
//! [`Connections::lifetime`], is closed the next time it is polled. A client is a
//! [`ClientKey`]: an IPv4 address or an IPv6 /64 network.

use axum::{
	extract::connect_info::Connected,
	serve::{IncomingStream, Listener},
};
use std::{
	collections::HashMap,
	future::Future,
	io,
	net::{IpAddr, Ipv6Addr, SocketAddr},
	pin::Pin,
	sync::{Arc, Mutex},
	task::{Context, Poll},
	time::Duration,
};
use tokio::{
	io::{AsyncRead, AsyncWrite, ReadBuf},
	net::{TcpListener, TcpStream},
	sync::{OwnedSemaphorePermit, Semaphore},
	time::{sleep, Instant, Sleep},
};

/// Who connections and requests are counted against: an IPv4 address, or the /64 network of
/// an IPv6 address. A host is commonly given a whole IPv6 /64, so counting single IPv6
/// addresses would let one client multiply its share by picking new source addresses. An
/// IPv4 address written as IPv6 (`::ffff:a.b.c.d`) counts as itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl From<IpAddr> for ClientKey {
	fn from(address: IpAddr) -> Self {
		match address {
			IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
			IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
				Some(v4) => Self(IpAddr::V4(v4)),
				None => {
					let network = u128::from(v6) & !(u128::from(u64::MAX));
					Self(IpAddr::V6(Ipv6Addr::from(network)))
				}
			},
		}
	}
}

/// The bounds on a listener's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connections {
	/// Open at once; those beyond are closed as soon as they are accepted.
	pub most: usize,
	/// Open at once from one client ([`ClientKey`]).
	pub per_client: usize,
	/// How long a connection may move no byte.
	pub idle: Duration,
	/// How long a connection may last.
	pub lifetime: Duration,
}

impl Connections {
	/// The public listener's: 256 connections, 8 from one address, ten idle seconds, five
	/// minutes each (a 256 MiB blob in five minutes is 0.9 MB/s).
	pub const PUBLIC: Self = Self {
		most: 256,
		per_client: 8,
		idle: Duration::from_secs(10),
		lifetime: Duration::from_secs(300),
	};
	/// The control API's: 64 connections (all from the node's machine, or holders of its
	/// token), five idle minutes (a request may wait its turn in a queue that long), an hour
	/// each.
	pub const CONTROL: Self = Self {
		most: 64,
		per_client: 64,
		idle: Duration::from_secs(300),
		lifetime: Duration::from_secs(3600),
	};
}

/// A TCP listener whose connections keep within [`Connections`].
pub struct Guarded {
	listener: TcpListener,
	bounds: Connections,
	open: Arc<Semaphore>,
	clients: Arc<Mutex<HashMap<ClientKey, usize>>>,
}

impl Guarded {
	/// Guards `listener`'s connections with `bounds`.
	pub fn new(listener: TcpListener, bounds: Connections) -> Self {
		Self {
			listener,
			bounds,
			open: Arc::new(Semaphore::new(bounds.most)),
			clients: Arc::default(),
		}
	}
}

impl Guarded {
	/// A place for a connection from `client`, if there is one.
	fn place_for(&self, client: ClientKey) -> Option<Place> {
		let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
		let open = clients.entry(client).or_default();
		if *open >= self.bounds.per_client {
			return None;
		}
		let permit = self.open.clone().try_acquire_owned().ok()?;
		*open += 1;
		Some(Place { _permit: permit, client, clients: self.clients.clone() })
	}
}

/// A connection's place among a listener's; given up when dropped.
struct Place {
	_permit: OwnedSemaphorePermit,
	client: ClientKey,
	clients: Arc<Mutex<HashMap<ClientKey, usize>>>,
}

impl Drop for Place {
	fn drop(&mut self) {
		let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
		if let Some(open) = clients.get_mut(&self.client) {
			*open = open.saturating_sub(1);
			if *open == 0 {
				clients.remove(&self.client);
			}
		}
	}
}

impl Listener for Guarded {
	type Io = Guard;
	type Addr = SocketAddr;

	async fn accept(&mut self) -> (Guard, SocketAddr) {
		loop {
			let (stream, address) = Listener::accept(&mut self.listener).await;
			// One too many is closed here, before anything is read from it.
			let Some(place) = self.place_for(address.ip().into()) else { continue };
			return (Guard::new(stream, place, self.bounds), address);
		}
	}

	fn local_addr(&self) -> io::Result<SocketAddr> {
		self.listener.local_addr()
	}
}

/// The address a connection to a [`Guarded`] listener comes from, as `ConnectInfo` when served
/// with `into_make_service_with_connect_info::<Client>()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client(pub SocketAddr);

impl Connected<IncomingStream<'_, Guarded>> for Client {
	fn connect_info(stream: IncomingStream<'_, Guarded>) -> Self {
		Self(*stream.remote_addr())
	}
}

/// A connection within its bounds; closing it gives its place up.
pub struct Guard {
	stream: TcpStream,
	_place: Place,
	idle: Duration,
	quiet: Pin<Box<Sleep>>,
	ends: Pin<Box<Sleep>>,
}

impl Guard {
	fn new(stream: TcpStream, place: Place, bounds: Connections) -> Self {
		Self {
			stream,
			_place: place,
			idle: bounds.idle,
			quiet: Box::pin(sleep(bounds.idle)),
			ends: Box::pin(sleep(bounds.lifetime)),
		}
	}

	/// `poll`'s answer, unless the connection has overstayed: then an error, which ends it.
	fn within_bounds<T>(
		&mut self,
		cx: &mut Context<'_>,
		poll: Poll<io::Result<T>>,
	) -> Poll<io::Result<T>> {
		if self.ends.as_mut().poll(cx).is_ready() {
			return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection too old")));
		}
		match poll {
			Poll::Ready(result) => {
				let deadline = Instant::now() + self.idle;
				self.quiet.as_mut().reset(deadline);
				Poll::Ready(result)
			}
			Poll::Pending if self.quiet.as_mut().poll(cx).is_ready() => {
				Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle")))
			}
			Poll::Pending => Poll::Pending,
		}
	}
}

impl AsyncRead for Guard {
	fn poll_read(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &mut ReadBuf<'_>,
	) -> Poll<io::Result<()>> {
		let this = self.get_mut();
		let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
		this.within_bounds(cx, poll)
	}
}

impl AsyncWrite for Guard {
	fn poll_write(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &[u8],
	) -> Poll<io::Result<usize>> {
		let this = self.get_mut();
		let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
		this.within_bounds(cx, poll)
	}

	fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		Pin::new(&mut self.get_mut().stream).poll_flush(cx)
	}

	fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
	}
}

#[cfg(test)]
mod tests {
	use super::ClientKey;
	use std::net::IpAddr;

	fn key(address: &str) -> ClientKey {
		address.parse::<IpAddr>().expect("an address").into()
	}

	#[test]
	fn an_ipv6_host_counts_as_its_64_network_whatever_source_address_it_picks() {
		assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:fffe"));
		assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
		assert_eq!(key("2001:db8:1:2:aaaa::"), key("2001:db8:1:2::"));
	}

	#[test]
	fn ipv4_addresses_count_one_by_one_also_when_written_as_ipv6() {
		assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
		assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
		assert_ne!(key("::ffff:192.0.2.1"), key("::ffff:192.0.2.2"));
	}
}
