//! What the tests that run the trainer as a process share: a free port and a
//! `tessera-trainer serve` that never outlives its test.

use std::{
	net::{SocketAddr, TcpListener},
	path::Path,
	process::{Child, Command, Stdio},
};

/// A loopback address no one listens on yet.
pub fn free_port() -> SocketAddr {
	TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// A running `tessera-trainer serve`, killed when dropped.
pub struct Service(pub Child);

impl Service {
	/// Starts `serve` on `store`, listening for control requests on `control` and, when
	/// given, for public ones on `public`.
	pub fn start(store: &Path, control: SocketAddr, public: Option<SocketAddr>) -> Self {
		let mut command = Command::new(env!("CARGO_BIN_EXE_tessera-trainer"));
		command.arg("--store").arg(store).args(["serve", "--listen", &control.to_string()]);
		if let Some(public) = public {
			command.args(["--public-listen", &public.to_string()]);
		}
		Self(command.stderr(Stdio::null()).spawn().unwrap())
	}
}

impl Drop for Service {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}
