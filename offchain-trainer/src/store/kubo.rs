//! An external IPFS daemon (Kubo) behind the embedded store: what the trainer stores is
//! also added to the daemon, and what is missing locally is fetched from it, so content can
//! live on the public IPFS network. Kubo's RPC API (`/api/v0/add`, `/api/v0/cat`) is the
//! only interface used; the daemon is never trusted: every CID it returns and every byte it
//! serves is checked against Tessera's own CID computation.

use super::{ContentStore, StoreError};
use cid::Cid;
use std::io::Read;
use ureq::SendBody;

/// A Kubo daemon's RPC endpoint, e.g. `http://127.0.0.1:5001`.
#[derive(Clone, Debug)]
pub struct Kubo {
	api: String,
}

const BOUNDARY: &str = "tessera-trainer-content-boundary";

impl Kubo {
	/// A client of the daemon whose RPC API listens at `api`.
	pub fn new(api: impl Into<String>) -> Self {
		Self { api: api.into().trim_end_matches('/').to_owned() }
	}

	fn failed(&self, cid: Cid, error: ureq::Error) -> StoreError {
		StoreError::from_peer(cid, &self.api, error)
	}

	/// Adds and pins `content`, which has the CID `expected`, with the chunking the embedded
	/// store uses, and checks that the daemon arrived at the same CID. The content is sent as
	/// it is read.
	pub fn add(&self, expected: Cid, content: impl Read) -> Result<Cid, StoreError> {
		let head = format!(
			"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\n\
			 Content-Type: application/octet-stream\r\n\r\n"
		);
		let tail = format!("\r\n--{BOUNDARY}--\r\n");
		let mut body = head.as_bytes().chain(content).chain(tail.as_bytes());
		let url = format!(
			"{}/api/v0/add?cid-version=1&raw-leaves=true&chunker=size-{}&pin=true",
			self.api,
			super::CHUNK_SIZE
		);
		let reply: AddReply = ureq::post(&url)
			.header("Content-Type", &format!("multipart/form-data; boundary={BOUNDARY}"))
			.send(SendBody::from_reader(&mut body))
			.map_err(|error| self.failed(expected, error))?
			.body_mut()
			.read_json()
			.map_err(|error| self.failed(expected, error))?;
		if reply.hash != expected.to_string() {
			return Err(StoreError::Fetch {
				cid: expected,
				peer: self.api.clone(),
				reason: format!("the daemon named the content {}", reply.hash),
			});
		}
		Ok(expected)
	}

	/// Stores in `store` the content with this CID from the daemon (and through it the IPFS
	/// network), at most `max_bytes` of it, as it arrives; it is kept only if it has the CID.
	/// Returns its size.
	pub fn cat(&self, cid: &Cid, max_bytes: u64, store: &ContentStore) -> Result<u64, StoreError> {
		let url = format!("{}/api/v0/cat?arg={cid}", self.api);
		let content = ureq::post(&url)
			.send_empty()
			.map_err(|error| self.failed(*cid, error))?
			.into_body()
			.into_with_config()
			.limit(max_bytes)
			.reader();
		store.put_expecting(cid, content, |error| self.failed(*cid, error.into()))
	}
}

#[derive(serde::Deserialize)]
struct AddReply {
	#[serde(rename = "Hash")]
	hash: String,
}
