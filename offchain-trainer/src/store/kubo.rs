//! An external IPFS daemon (Kubo) behind the embedded store: what the trainer stores is
//! also added to the daemon, and what is missing locally is fetched from it, so content can
//! live on the public IPFS network. Kubo's RPC API (`/api/v0/add`, `/api/v0/cat`) is the
//! only interface used; the daemon is never trusted: every CID it returns and every byte it
//! serves is checked against Tessera's own CID computation.

use super::{cid_of, StoreError};
use cid::Cid;

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

	/// Adds and pins `content` with the chunking the embedded store uses, and checks that the
	/// daemon arrived at the same CID.
	pub fn add(&self, content: &[u8]) -> Result<Cid, StoreError> {
		let expected = cid_of(content);
		let mut body = format!(
			"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\n\
			 Content-Type: application/octet-stream\r\n\r\n"
		)
		.into_bytes();
		body.extend_from_slice(content);
		body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
		let url = format!(
			"{}/api/v0/add?cid-version=1&raw-leaves=true&chunker=size-{}&pin=true",
			self.api,
			super::CHUNK_SIZE
		);
		let reply: AddReply = ureq::post(&url)
			.header("Content-Type", &format!("multipart/form-data; boundary={BOUNDARY}"))
			.send(&body[..])
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

	/// The content with this CID, from the daemon (and through it the IPFS network),
	/// checked against the CID.
	pub fn cat(&self, cid: &Cid, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
		let url = format!("{}/api/v0/cat?arg={cid}", self.api);
		let content = ureq::post(&url)
			.send_empty()
			.map_err(|error| self.failed(*cid, error))?
			.body_mut()
			.with_config()
			.limit(max_bytes)
			.read_to_vec()
			.map_err(|error| self.failed(*cid, error))?;
		if cid_of(&content) != *cid {
			return Err(StoreError::Corrupt(*cid));
		}
		Ok(content)
	}
}

#[derive(serde::Deserialize)]
struct AddReply {
	#[serde(rename = "Hash")]
	hash: String,
}
