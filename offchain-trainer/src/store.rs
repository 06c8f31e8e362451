//! The content store: training states, checkpoints, gradients and datasets, addressed by
//! IPFS-compatible CIDv1.
//!
//! Content gets the CID that `ipfs add --cid-version=1 --raw-leaves` (Kubo's defaults: a
//! fixed-size chunker of [`CHUNK_SIZE`] bytes and the balanced layout with at most
//! [`MAX_LINKS`] links per node) gives it, so that anything stored here can be published
//! to, and found on, the public IPFS network:
//!
//! - content of at most one chunk is a single `raw` block: `CIDv1(raw, sha2-256(content))`;
//! - larger content is a UnixFS file: `raw` leaves of one chunk each under `dag-pb` nodes
//!   whose UnixFS data records the file size and each child's size.
//!
//! The embedded blockstore keeps one file per block under `blocks/`, named by the block's
//! CID, and one empty file per pinned root under `pins/`. Every block read is checked
//! against its CID, so a corrupted or substituted block is an error, never content, and the
//! next write of the same content replaces it. Blocks that no pin reaches are removed by
//! [`ContentStore::gc`], which waits for writes under way (see [`ContentStore::put_reader`]).
//! A write is on disk before it is acknowledged: each block's bytes are synced before it is
//! renamed into place, the blocks' directory before the pin is written, and the pin and its
//! directory before `put` returns, so an acknowledged CID survives a power loss, not only
//! a killed process.
//!
//! The CIDs (256 KiB raw leaves, a balanced UnixFS DAG of 174 links a node) are checked
//! against golden CIDs computed by IPFS's JavaScript importer (`scripts/golden-cids/`).
//! Blobs fetched from other trainers over HTTP are checked the same way; unpinned content
//! is garbage-collected; `--features kubo` (`--kubo-api`) backs the store with an IPFS
//! daemon it does not trust (the `kubo` module).

use cid::Cid;
use multihash_codetable::{Code, MultihashDigest};
use prost::Message;
use std::{
	collections::HashSet,
	fs,
	io::{self, Read},
	path::{Path, PathBuf},
	sync::atomic::{AtomicU64, Ordering},
	time::Duration,
};

/// Bytes per leaf: Kubo's default `size-262144` chunker.
pub const CHUNK_SIZE: usize = 262_144;
/// Links per `dag-pb` node: Kubo's default for the balanced layout.
pub const MAX_LINKS: usize = 174;
/// The multicodec of a block that is content itself.
const RAW: u64 = 0x55;
/// The multicodec of a protobuf Merkle DAG node.
const DAG_PB: u64 = 0x70;
/// The UnixFS node type of a file.
const UNIXFS_FILE: i32 = 2;

/// What can go wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// No block with this CID is in the store.
	#[error("{0} is not in the store")]
	NotFound(Cid),
	/// A block's bytes do not hash to its CID.
	#[error("content for {0} does not match its CID")]
	Corrupt(Cid),
	/// A block decodes to something this store does not write.
	#[error("{cid} is not a UnixFS file block: {reason}")]
	Unsupported {
		/// The block.
		cid: Cid,
		/// What is wrong with it.
		reason: String,
	},
	/// Not a CID.
	#[error("invalid CID {0:?}")]
	InvalidCid(String),
	/// Not a peer this store fetches from: only `http` and `https` base URLs are.
	#[error("invalid peer {0:?}: expected an http(s) base URL such as http://10.0.0.2:7070")]
	InvalidPeer(String),
	/// Another trainer (or the IPFS daemon) could not be reached, did not answer in time or
	/// stopped answering. `detail` is the transport's own account, for the trainer's log: it
	/// says things about the network a client need not learn.
	#[error("fetching {cid} from {peer}: {detail}")]
	Unreachable {
		/// The CID asked for.
		cid: Cid,
		/// The peer asked.
		peer: String,
		/// What the transport reported.
		detail: String,
	},
	/// Another trainer (or the IPFS daemon) answered, but not with the content.
	#[error("fetching {cid} from {peer}: {reason}")]
	Fetch {
		/// The CID asked for.
		cid: Cid,
		/// The peer asked.
		peer: String,
		/// Why it failed.
		reason: String,
	},
	/// The file system failed.
	#[error(transparent)]
	Io(#[from] io::Error),
}

impl StoreError {
	/// What a failed exchange with `peer` about `cid` tells: an answer that was not the
	/// content, or no usable answer at all.
	fn from_peer(cid: Cid, peer: &str, error: ureq::Error) -> Self {
		let peer = peer.to_owned();
		match error {
			ureq::Error::StatusCode(status) => {
				Self::Fetch { cid, peer, reason: format!("the peer answered with status {status}") }
			}
			ureq::Error::BodyExceedsLimit(limit) => {
				Self::Fetch { cid, peer, reason: format!("the peer sent more than {limit} bytes") }
			}
			other => Self::Unreachable { cid, peer, detail: other.to_string() },
		}
	}
}

/// Parses a CID given as text.
pub fn parse_cid(text: &str) -> Result<Cid, StoreError> {
	Cid::try_from(text).map_err(|_| StoreError::InvalidCid(text.to_owned()))
}

/// Time limits on fetching from a peer, so that a slow or silent peer cannot hold one of the
/// service's blocking threads for long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerTimeouts {
	/// For the connection to be established.
	pub connect: Duration,
	/// For the response headers, once the request is sent: a peer that accepts connections
	/// and never answers.
	pub response: Duration,
	/// For any one read: a peer that stops sending mid-body.
	pub read: Duration,
	/// For the whole fetch, body included: a peer that trickles bytes just fast enough to
	/// escape the other limits.
	pub total: Duration,
}

impl PeerTimeouts {
	/// The limits a store uses: five seconds to connect, ten for the headers and for any one
	/// read, and a minute in all, which a [`crate::api::MAX_BLOB_BYTES`] blob (256 MiB)
	/// meets at 4.5 MB/s.
	pub const DEFAULT: Self = Self {
		connect: Duration::from_secs(5),
		response: Duration::from_secs(10),
		read: Duration::from_secs(10),
		total: Duration::from_secs(60),
	};
}

/// The base URL of a peer to fetch from: an absolute `http` or `https` URL with a host and
/// nothing after its path, so that `/v1/blobs/{cid}` can follow it.
fn peer_base(peer: &str) -> Result<&str, StoreError> {
	let invalid = || StoreError::InvalidPeer(peer.to_owned());
	let uri: ureq::http::Uri = peer.parse().map_err(|_| invalid())?;
	let web = matches!(uri.scheme_str(), Some("http" | "https"));
	if !web || uri.host().is_none_or(str::is_empty) || uri.query().is_some() {
		return Err(invalid());
	}
	Ok(peer.trim_end_matches('/'))
}

/// Protobuf messages of `dag-pb` and UnixFS (proto2).
mod pb {
	#[derive(Clone, PartialEq, prost::Message)]
	pub struct PbNode {
		#[prost(bytes = "vec", optional, tag = "1")]
		pub data: Option<Vec<u8>>,
		#[prost(message, repeated, tag = "2")]
		pub links: Vec<PbLink>,
	}

	impl PbNode {
		/// The canonical `dag-pb` encoding, which puts the links (field 2) before the data
		/// (field 1); prost would write fields in tag order.
		pub fn encode_canonical(&self) -> Vec<u8> {
			use prost::encoding::{bytes, message};
			let mut buffer = Vec::new();
			for link in &self.links {
				message::encode(2, link, &mut buffer);
			}
			if let Some(data) = &self.data {
				bytes::encode(1, data, &mut buffer);
			}
			buffer
		}
	}

	#[derive(Clone, PartialEq, prost::Message)]
	pub struct PbLink {
		#[prost(bytes = "vec", optional, tag = "1")]
		pub hash: Option<Vec<u8>>,
		#[prost(string, optional, tag = "2")]
		pub name: Option<String>,
		#[prost(uint64, optional, tag = "3")]
		pub tsize: Option<u64>,
	}

	#[derive(Clone, PartialEq, prost::Message)]
	pub struct UnixFsData {
		#[prost(int32, required, tag = "1")]
		pub kind: i32,
		#[prost(bytes = "vec", optional, tag = "2")]
		pub data: Option<Vec<u8>>,
		#[prost(uint64, optional, tag = "3")]
		pub filesize: Option<u64>,
		#[prost(uint64, repeated, packed = "false", tag = "4")]
		pub blocksizes: Vec<u64>,
	}
}

/// One block of a DAG: its CID and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
	/// The block's CID.
	pub cid: Cid,
	/// The block's bytes, as stored and hashed.
	pub bytes: Vec<u8>,
}

impl Block {
	fn new(codec: u64, bytes: Vec<u8>) -> Self {
		Self { cid: Cid::new_v1(codec, Code::Sha2_256.digest(&bytes)), bytes }
	}

	fn verified(cid: Cid, bytes: Vec<u8>) -> Result<Self, StoreError> {
		let code = Code::try_from(cid.hash().code()).map_err(|_| StoreError::Unsupported {
			cid,
			reason: format!("hash function 0x{:x}", cid.hash().code()),
		})?;
		if code.digest(&bytes) != *cid.hash() {
			return Err(StoreError::Corrupt(cid));
		}
		Ok(Self { cid, bytes })
	}
}

/// A subtree being built: its root block's CID, the file bytes under it and its `Tsize`
/// (the bytes of every block in it).
struct Subtree {
	cid: Cid,
	file_size: u64,
	tree_size: u64,
}

/// The one chunker: cuts content into leaves as it arrives and builds the nodes above them
/// at the end, as `ipfs add --cid-version=1 --raw-leaves` does. It holds at most one leaf's
/// bytes and the list of the leaves' links, whatever the content's size.
#[derive(Default)]
struct Chunker {
	/// The bytes of the leaf being filled.
	chunk: Vec<u8>,
	/// The leaves completed so far.
	leaves: Vec<Subtree>,
}

impl Chunker {
	/// Takes `bytes`, returning the leaves they complete.
	fn leaves<'a>(&'a mut self, mut bytes: &'a [u8]) -> impl Iterator<Item = Block> + 'a {
		std::iter::from_fn(move || {
			if self.chunk.is_empty() && !bytes.is_empty() {
				// One allocation per leaf, not a series of growing ones.
				self.chunk.reserve_exact(CHUNK_SIZE);
			}
			let (taken, rest) = bytes.split_at(bytes.len().min(CHUNK_SIZE - self.chunk.len()));
			self.chunk.extend_from_slice(taken);
			bytes = rest;
			(self.chunk.len() == CHUNK_SIZE).then(|| self.leaf())
		})
	}

	fn leaf(&mut self) -> Block {
		let leaf = Block::new(RAW, std::mem::take(&mut self.chunk));
		let size = leaf.bytes.len() as u64;
		self.leaves.push(Subtree { cid: leaf.cid, file_size: size, tree_size: size });
		leaf
	}

	/// The content's bytes so far.
	fn size(&self) -> u64 {
		self.leaves.iter().map(|leaf| leaf.file_size).sum::<u64>() + self.chunk.len() as u64
	}

	/// The blocks still to write once the content has ended, and the content's CID: its
	/// last leaf if it is not full (the empty content's only block, for empty content) and
	/// the nodes above the leaves, root last. Content of one full leaf has nothing left to
	/// write: that leaf is its root.
	fn finish(mut self) -> (Vec<Block>, Cid) {
		let mut blocks = Vec::new();
		if !self.chunk.is_empty() || self.leaves.is_empty() {
			blocks.push(self.leaf());
		}
		let mut level = self.leaves;
		while level.len() > 1 {
			level = level
				.chunks(MAX_LINKS)
				.map(|children| {
					let node = file_node(children);
					let subtree = Subtree {
						cid: node.cid,
						file_size: children.iter().map(|child| child.file_size).sum(),
						tree_size: node.bytes.len() as u64
							+ children.iter().map(|child| child.tree_size).sum::<u64>(),
					};
					blocks.push(node);
					subtree
				})
				.collect();
		}
		let root = level.first().map_or_else(|| Block::new(RAW, Vec::new()).cid, |root| root.cid);
		(blocks, root)
	}
}

/// Splits `content` into the blocks `ipfs add --cid-version=1 --raw-leaves` makes, root
/// last.
pub fn dag(content: &[u8]) -> Vec<Block> {
	let mut chunker = Chunker::default();
	let mut blocks: Vec<Block> = chunker.leaves(content).collect();
	blocks.extend(chunker.finish().0);
	blocks
}

fn file_node(children: &[Subtree]) -> Block {
	let unixfs = pb::UnixFsData {
		kind: UNIXFS_FILE,
		data: None,
		filesize: Some(children.iter().map(|child| child.file_size).sum()),
		blocksizes: children.iter().map(|child| child.file_size).collect(),
	};
	let node = pb::PbNode {
		data: Some(unixfs.encode_to_vec()),
		links: children
			.iter()
			.map(|child| pb::PbLink {
				hash: Some(child.cid.to_bytes()),
				name: Some(String::new()),
				tsize: Some(child.tree_size),
			})
			.collect(),
	};
	Block::new(DAG_PB, node.encode_canonical())
}

/// The CID `ipfs add --cid-version=1 --raw-leaves` gives `content`.
pub fn cid_of(content: &[u8]) -> Cid {
	dag(content).last().map(|root| root.cid).unwrap_or_else(|| Block::new(RAW, Vec::new()).cid)
}

/// The most the store takes from an IPFS daemon in one piece.
#[cfg(feature = "kubo")]
const MAX_DAEMON_BYTES: u64 = 1 << 30;

/// What a garbage collection removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
	/// Blocks deleted.
	pub blocks: usize,
	/// Bytes freed.
	pub bytes: u64,
}

/// How much of a source a write asks for at a time.
const READ_SIZE: usize = 64 << 10;

/// Temporary files written by this process so far: with the process id, a name no other
/// writer uses.
static TEMPORARIES: AtomicU64 = AtomicU64::new(0);

/// What a holder of the store's lock does.
#[derive(Clone, Copy)]
enum Access {
	/// Writes blocks and pins: any number at once.
	Write,
	/// Collects garbage: alone.
	Collect,
}

/// The embedded blockstore, optionally backed by an IPFS daemon.
#[derive(Clone, Debug)]
pub struct ContentStore {
	blocks: PathBuf,
	pins: PathBuf,
	lock: PathBuf,
	peer_timeouts: PeerTimeouts,
	#[cfg(feature = "kubo")]
	kubo: Option<kubo::Kubo>,
}

impl ContentStore {
	/// Opens the store under `root`, creating it if need be.
	pub fn open(root: impl AsRef<Path>) -> Result<Self, StoreError> {
		let store = Self {
			blocks: root.as_ref().join("blocks"),
			pins: root.as_ref().join("pins"),
			lock: root.as_ref().join("lock"),
			peer_timeouts: PeerTimeouts::DEFAULT,
			#[cfg(feature = "kubo")]
			kubo: None,
		};
		fs::create_dir_all(&store.blocks)?;
		fs::create_dir_all(&store.pins)?;
		Ok(store)
	}

	/// The same store fetching from peers within other limits: the tests' peers take
	/// seconds to be given up on, not minutes.
	#[cfg(test)]
	pub(crate) fn with_peer_timeouts(self, peer_timeouts: PeerTimeouts) -> Self {
		Self { peer_timeouts, ..self }
	}

	/// Adds every stored content to `daemon` too, and fetches what is missing here from it.
	#[cfg(feature = "kubo")]
	pub fn with_kubo(self, daemon: kubo::Kubo) -> Self {
		Self { kubo: Some(daemon), ..self }
	}

	/// Stores `content`, pins it and returns its CID.
	pub fn put(&self, content: &[u8]) -> Result<Cid, StoreError> {
		self.put_reader(content).map(|(cid, _)| cid)
	}

	/// Stores what `source` yields until it ends, pins it and returns its CID and size.
	///
	/// The content is cut into leaves as it is read and each leaf is written as it
	/// completes, so that a write holds about one leaf in memory whatever the content's size.
	/// Blocks and pin are written under the store's lock, shared with other writes and
	/// exclusive of [`Self::gc`], so that a collection never removes a block whose pin is
	/// not written yet: a collection waits for the writes under way, however slowly their
	/// sources yield. Content whose source fails is never pinned; the leaves written for it
	/// are garbage to the next collection.
	pub fn put_reader(&self, source: impl Read) -> Result<(Cid, u64), StoreError> {
		self.write(source, None, StoreError::Io)
	}

	/// Stores what `source` yields, which was asked for by `cid`, refusing it unless it has
	/// that CID; returns its size. `unreadable` says what a failure to read `source` means
	/// (a peer that stopped answering, say). Refused content is never pinned, and the leaves
	/// written before it was found not to match are garbage to the next collection.
	pub fn put_expecting(
		&self,
		cid: &Cid,
		source: impl Read,
		unreadable: impl FnOnce(io::Error) -> StoreError,
	) -> Result<u64, StoreError> {
		self.write(source, Some(cid), unreadable).map(|(_, size)| size)
	}

	fn write(
		&self,
		mut source: impl Read,
		expected: Option<&Cid>,
		unreadable: impl FnOnce(io::Error) -> StoreError,
	) -> Result<(Cid, u64), StoreError> {
		let mut chunker = Chunker::default();
		let mut piece = vec![0; READ_SIZE];
		let (root, size) = {
			let _writing = self.lock(Access::Write)?;
			loop {
				let read = match source.read(&mut piece) {
					Ok(0) => break,
					Ok(read) => read,
					Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
					Err(error) => return Err(unreadable(error)),
				};
				for leaf in chunker.leaves(&piece[..read]) {
					self.write_block(&leaf)?;
				}
			}
			let size = chunker.size();
			let (blocks, root) = chunker.finish();
			if let Some(expected) = expected.filter(|expected| **expected != root) {
				return Err(StoreError::Corrupt(*expected));
			}
			for block in &blocks {
				self.write_block(block)?;
			}
			// The blocks' names must be on disk before the pin that keeps them is.
			sync_directory(&self.blocks)?;
			self.write_pin(&root)?;
			(root, size)
		};
		#[cfg(feature = "kubo")]
		if let Some(daemon) = &self.kubo {
			// Read back from the store rather than held: the daemon gets the content as it is
			// sent, with no more of it in memory than a leaf.
			daemon.add(root, self.read(&root)?.into_reader())?;
		}
		Ok((root, size))
	}

	/// The content with this CID, every block checked against its CID.
	pub fn get(&self, cid: &Cid) -> Result<Vec<u8>, StoreError> {
		self.read(cid)?.try_fold(Vec::new(), |mut content, leaf| {
			content.extend_from_slice(&leaf?);
			Ok(content)
		})
	}

	/// The content with this CID, to read leaf by leaf: the nodes of its DAG are read and
	/// checked now, and its leaves are found here (with a daemon, content missing here is
	/// fetched from it first); each leaf is read and checked against its CID only when it is
	/// reached.
	pub fn read(&self, cid: &Cid) -> Result<Content, StoreError> {
		match self.reachable(cid, &mut HashSet::new()) {
			#[cfg(feature = "kubo")]
			Err(StoreError::NotFound(_)) if self.kubo.is_some() => {
				let daemon = self.kubo.as_ref().ok_or(StoreError::NotFound(*cid))?;
				daemon.cat(cid, MAX_DAEMON_BYTES, self)?;
			}
			outcome => outcome?,
		}
		let size = match cid.codec() {
			DAG_PB => decode_file_node(&self.read_block(cid)?)?.size,
			_ => fs::metadata(self.block_path(cid))?.len(),
		};
		Ok(Content { store: self.clone(), pending: vec![*cid], size })
	}

	/// Whether the whole DAG under `cid` is here.
	pub fn has(&self, cid: &Cid) -> bool {
		self.reachable(cid, &mut HashSet::new()).is_ok()
	}

	/// Keeps `cid` (and everything it links to) through garbage collection.
	pub fn pin(&self, cid: &Cid) -> Result<(), StoreError> {
		let _writing = self.lock(Access::Write)?;
		self.write_pin(cid)
	}

	/// Lets garbage collection remove `cid` unless another pin reaches it.
	pub fn unpin(&self, cid: &Cid) -> Result<(), StoreError> {
		match fs::remove_file(self.pins.join(cid.to_string())) {
			Err(error) if error.kind() == io::ErrorKind::NotFound => {
				Err(StoreError::NotFound(*cid))
			}
			other => Ok(other?),
		}
	}

	/// The pinned roots.
	pub fn pins(&self) -> Result<Vec<Cid>, StoreError> {
		let mut pins =
			names(&self.pins)?.iter().filter_map(|name| parse_cid(name).ok()).collect::<Vec<_>>();
		pins.sort();
		Ok(pins)
	}

	/// Removes every block no pin reaches, and what interrupted writes left behind.
	///
	/// It holds the store's lock alone, so no write is under way while it runs. Damaged
	/// content under a pin is no reason to stop: what of it can be read is kept, and the rest
	/// comes back whole with the next write of the content. An entry that cannot be removed
	/// is left for the next collection. Both are logged. Only a failure to read the store
	/// itself stops a collection, before anything is removed: with part of what the pins
	/// reach unknown, a live block could be taken for garbage.
	pub fn gc(&self) -> Result<GcReport, StoreError> {
		let _collecting = self.lock(Access::Collect)?;
		let mut live = HashSet::new();
		for pin in self.pins()? {
			match self.reachable(&pin, &mut live) {
				Err(error @ StoreError::Io(_)) => return Err(error),
				Err(damage) => eprintln!("gc: keeping what can be read of pin {pin}: {damage}"),
				Ok(()) => {}
			}
		}
		let mut report = GcReport::default();
		for name in names(&self.blocks)? {
			if parse_cid(&name).is_ok_and(|cid| live.contains(&cid)) {
				continue;
			}
			let path = self.blocks.join(&name);
			let removed = fs::metadata(&path).and_then(|metadata| {
				fs::remove_file(&path)?;
				Ok(metadata.len())
			});
			match removed {
				Ok(bytes) => {
					report.blocks += 1;
					report.bytes += bytes;
				}
				Err(error) => eprintln!("gc: leaving {}: {error}", path.display()),
			}
		}
		Ok(report)
	}

	/// Fetches the content with this CID from another trainer's `/v1/blobs/{cid}`, checks it
	/// against the CID and stores it; returns its size. `peer` is the trainer's `http` or `https` base URL; the
	/// fetch is given up after the store's [`PeerTimeouts`], and a body of more than
	/// `max_bytes` is refused, before it is read when its length is announced.
	pub fn fetch(&self, peer: &str, cid: &Cid, max_bytes: u64) -> Result<u64, StoreError> {
		let url = format!("{}/v1/blobs/{cid}", peer_base(peer)?);
		let timeouts = self.peer_timeouts;
		let agent = ureq::Agent::config_builder()
			.timeout_connect(Some(timeouts.connect))
			.timeout_recv_response(Some(timeouts.response))
			.timeout_per_read(Some(timeouts.read))
			.timeout_global(Some(timeouts.total))
			.build()
			.new_agent();
		let failed = |error| StoreError::from_peer(*cid, peer, error);
		let response = agent.get(&url).call().map_err(failed)?;
		if let Some(length) = response.body().content_length().filter(|length| *length > max_bytes)
		{
			return Err(StoreError::Fetch {
				cid: *cid,
				peer: peer.to_owned(),
				reason: format!("the peer offers {length} bytes, more than the {max_bytes} taken"),
			});
		}
		// The peer sends the content itself, not its blocks, so no leaf can be checked before
		// the whole is: the leaves are stored as they arrive, and the content is pinned only
		// once its root has the CID asked for.
		let body = response.into_body().into_with_config().limit(max_bytes).reader();
		self.put_expecting(cid, body, |error| failed(error.into()))
	}

	/// Takes the store's lock, which is released when the returned file is closed. It is a
	/// lock on a file, so it also holds between processes sharing the store (the service and
	/// `tessera-trainer cid --add`, say).
	fn lock(&self, access: Access) -> Result<fs::File, StoreError> {
		let file =
			fs::OpenOptions::new().create(true).truncate(false).write(true).open(&self.lock)?;
		match access {
			Access::Write => file.lock_shared()?,
			Access::Collect => file.lock()?,
		}
		Ok(file)
	}

	fn write_pin(&self, cid: &Cid) -> Result<(), StoreError> {
		fs::File::create(self.pins.join(cid.to_string()))?.sync_all()?;
		// A CID is acknowledged once it is pinned: the pin's name must survive a power loss.
		sync_directory(&self.pins)?;
		Ok(())
	}

	fn block_path(&self, cid: &Cid) -> PathBuf {
		self.blocks.join(cid.to_string())
	}

	fn write_block(&self, block: &Block) -> Result<(), StoreError> {
		let path = self.block_path(&block.cid);
		// A block already here is kept only if it is intact, so that writing content again
		// repairs a corrupted block.
		match fs::read(&path) {
			Ok(bytes) if bytes == block.bytes => return Ok(()),
			Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error.into()),
			_ => {}
		}
		// Written aside and renamed, so that a crash never leaves a truncated block behind,
		// under a name of this write's own, so that writers of the same block never write
		// into one file. The name is no CID: `gc` removes what a crash leaves.
		let partial = self.blocks.join(format!(
			"{}.{}.{}.partial",
			block.cid,
			std::process::id(),
			TEMPORARIES.fetch_add(1, Ordering::Relaxed)
		));
		// Synced before the rename: otherwise a power loss could leave the new name on a file
		// whose bytes never reached the disk.
		let written =
			write_synced(&partial, &block.bytes).and_then(|()| fs::rename(&partial, &path));
		if written.is_err() {
			// Best effort: what is left is garbage to the next collection anyway.
			let _ = fs::remove_file(&partial);
		}
		Ok(written?)
	}

	fn read_block(&self, cid: &Cid) -> Result<Block, StoreError> {
		match fs::read(self.block_path(cid)) {
			Ok(bytes) => Block::verified(*cid, bytes),
			Err(error) if error.kind() == io::ErrorKind::NotFound => {
				Err(StoreError::NotFound(*cid))
			}
			Err(error) => Err(error.into()),
		}
	}

	/// The content bytes a block holds itself, and the blocks under it, first first.
	fn open_block(&self, cid: &Cid) -> Result<(Vec<u8>, Vec<Cid>), StoreError> {
		let block = self.read_block(cid)?;
		match cid.codec() {
			RAW => Ok((block.bytes, Vec::new())),
			DAG_PB => {
				let node = decode_file_node(&block)?;
				Ok((node.inline, node.links))
			}
			other => Err(unsupported(cid, format!("codec 0x{other:x}"))),
		}
	}

	fn reachable(&self, cid: &Cid, live: &mut HashSet<Cid>) -> Result<(), StoreError> {
		if !live.insert(*cid) {
			return Ok(());
		}
		if cid.codec() == DAG_PB {
			for link in decode_file_node(&self.read_block(cid)?)?.links {
				self.reachable(&link, live)?;
			}
		} else if !self.block_path(cid).exists() {
			return Err(StoreError::NotFound(*cid));
		}
		Ok(())
	}
}

fn unsupported(cid: &Cid, reason: String) -> StoreError {
	StoreError::Unsupported { cid: *cid, reason }
}

/// What a UnixFS file node says.
struct FileNode {
	/// Its children, first first.
	links: Vec<Cid>,
	/// The file bytes it holds itself, before its children's.
	inline: Vec<u8>,
	/// The file bytes under it.
	size: u64,
}

fn decode_file_node(block: &Block) -> Result<FileNode, StoreError> {
	let cid = &block.cid;
	let node = pb::PbNode::decode(block.bytes.as_slice())
		.map_err(|error| unsupported(cid, error.to_string()))?;
	let unixfs = pb::UnixFsData::decode(node.data.unwrap_or_default().as_slice())
		.map_err(|error| unsupported(cid, error.to_string()))?;
	if unixfs.kind != UNIXFS_FILE {
		return Err(unsupported(cid, format!("UnixFS type {}", unixfs.kind)));
	}
	let links = node
		.links
		.iter()
		.map(|link| {
			Cid::try_from(link.hash.as_deref().unwrap_or_default())
				.map_err(|error| unsupported(cid, error.to_string()))
		})
		.collect::<Result<_, _>>()?;
	let inline = unixfs.data.unwrap_or_default();
	// A node without children may leave its size out: it is what the node holds.
	let size = unixfs.filesize.unwrap_or(inline.len() as u64);
	Ok(FileNode { links, inline, size })
}

/// Stored content being read, leaf by leaf (see [`ContentStore::read`]): each item is the
/// next leaf's bytes, checked against its CID; after an error there is nothing more.
#[derive(Debug)]
pub struct Content {
	store: ContentStore,
	/// The blocks still to read, the next one last.
	pending: Vec<Cid>,
	size: u64,
}

impl Content {
	/// The content's size in bytes, as its root records it.
	pub fn size(&self) -> u64 {
		self.size
	}

	/// The content as one stream of bytes; a leaf that cannot be read is an error of the
	/// read that reaches it.
	pub fn into_reader(self) -> impl Read {
		ContentReader { leaves: self, leaf: Vec::new(), at: 0 }
	}
}

impl Iterator for Content {
	type Item = Result<Vec<u8>, StoreError>;

	fn next(&mut self) -> Option<Self::Item> {
		while let Some(cid) = self.pending.pop() {
			match self.store.open_block(&cid) {
				Ok((bytes, links)) => {
					self.pending.extend(links.into_iter().rev());
					if !bytes.is_empty() {
						return Some(Ok(bytes));
					}
				}
				Err(error) => {
					self.pending.clear();
					return Some(Err(error));
				}
			}
		}
		None
	}
}

/// See [`Content::into_reader`].
struct ContentReader {
	leaves: Content,
	/// The leaf being read, from `at` on.
	leaf: Vec<u8>,
	at: usize,
}

impl Read for ContentReader {
	fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
		while self.at == self.leaf.len() {
			match self.leaves.next() {
				None => return Ok(0),
				Some(leaf) => (self.leaf, self.at) = (leaf.map_err(io::Error::other)?, 0),
			}
		}
		let read = buffer.len().min(self.leaf.len() - self.at);
		buffer[..read].copy_from_slice(&self.leaf[self.at..self.at + read]);
		self.at += read;
		Ok(read)
	}
}

fn names(dir: &Path) -> Result<Vec<String>, StoreError> {
	let mut names = Vec::new();
	for entry in fs::read_dir(dir)? {
		if let Ok(name) = entry?.file_name().into_string() {
			names.push(name);
		}
	}
	Ok(names)
}

#[cfg(feature = "kubo")]
pub mod kubo;

/// Writes `bytes` to a new file at `path` and waits until they are on disk.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
	use std::io::Write;
	let mut file = fs::File::create(path)?;
	file.write_all(bytes)?;
	file.sync_all()
}

/// Waits until the names created or renamed in `directory` are on disk.
fn sync_directory(directory: &Path) -> io::Result<()> {
	fs::File::open(directory)?.sync_all()
}

#[cfg(test)]
mod tests;
