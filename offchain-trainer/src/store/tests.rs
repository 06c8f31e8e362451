use super::*;
use std::io::Read;

/// The inputs of `scripts/golden-cids/generate.mjs`.
fn golden_input(name: &str) -> Vec<u8> {
	let pattern = |len: usize| (0..len).map(|i| (i % 251) as u8).collect::<Vec<_>>();
	match name {
		"empty" => Vec::new(),
		"hello" => b"hello tessera\n".to_vec(),
		"one_chunk" => pattern(CHUNK_SIZE),
		"one_chunk_and_a_byte" => pattern(CHUNK_SIZE + 1),
		"two_levels" => pattern(MAX_LINKS * CHUNK_SIZE + 1),
		other => panic!("no golden input {other}"),
	}
}

/// CIDs computed by IPFS's JavaScript UnixFS importer (`cd scripts/golden-cids && npm install
/// && node generate.mjs`), not by this crate.
const GOLDEN_CIDS: [(&str, &str); 5] = [
	("empty", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
	("hello", "bafkreicf72sbqxgpf64rb6wo3arg4b6ruygzxujy6daarqio53gn744tza"),
	("one_chunk", "bafkreibruh455iawsviqslif5c7uurdcfdemh22mtnytyzvnzn75kpejxy"),
	("one_chunk_and_a_byte", "bafybeiexg2oqkfnj56l7fcmawswqbijt5shq4b5rg6a546uwpkqqzwjioi"),
	("two_levels", "bafybeib4y7ghw2rq7bracc4xwtxrbzo7cfvagdpte2tmrkgwl6dyard3cm"),
];

fn store() -> (tempfile::TempDir, ContentStore) {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	(dir, store)
}

#[test]
fn cids_match_the_javascript_unixfs_importer() {
	for (name, expected) in GOLDEN_CIDS {
		assert_eq!(cid_of(&golden_input(name)).to_string(), expected, "{name}");
	}
}

#[test]
fn content_round_trips_through_the_store_under_its_golden_cid() {
	let (_dir, store) = store();
	for (name, expected) in GOLDEN_CIDS {
		let content = golden_input(name);
		let cid = store.put(&content).unwrap();
		assert_eq!(cid.to_string(), expected, "{name}");
		assert!(store.has(&cid));
		assert_eq!(store.get(&cid).unwrap(), content, "{name}");
	}
}

/// A source that yields `content` at most `piece` bytes at a time and then, if `fails`,
/// an error instead of its end.
struct Trickle<'a> {
	content: &'a [u8],
	piece: usize,
	fails: bool,
}

impl Read for Trickle<'_> {
	fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
		if self.content.is_empty() && self.fails {
			return Err(io::Error::other("the source went away"));
		}
		let read = buffer.len().min(self.piece).min(self.content.len());
		buffer[..read].copy_from_slice(&self.content[..read]);
		self.content = &self.content[read..];
		Ok(read)
	}
}

#[test]
fn content_arriving_in_small_pieces_gets_the_cid_of_the_whole() {
	let (_dir, store) = store();
	for (name, expected) in GOLDEN_CIDS {
		let content = golden_input(name);
		let source = Trickle { content: &content, piece: 1000, fails: false };
		let (cid, size) = store.put_reader(source).unwrap();
		assert_eq!((cid.to_string(), size), (expected.to_owned(), content.len() as u64), "{name}");
		assert_eq!(store.get(&cid).unwrap(), content, "{name}");
		let mut read = Vec::new();
		store.read(&cid).unwrap().into_reader().read_to_end(&mut read).unwrap();
		assert_eq!(read, content, "{name}");
	}
}

#[test]
fn content_refused_part_way_is_never_pinned_and_its_leaves_are_collected() {
	let (_dir, store) = store();
	let content = chunks(3, 9);
	let broken = Trickle { content: &content, piece: 5000, fails: true };
	assert!(matches!(store.put_reader(broken), Err(StoreError::Io(_))));
	let asked = cid_of(b"what was asked for");
	let refused = store.put_expecting(&asked, &content[..], StoreError::Io);
	assert!(matches!(refused, Err(StoreError::Corrupt(cid)) if cid == asked));
	assert_eq!(store.pins().unwrap(), Vec::new());
	assert!(!store.has(&cid_of(&content)));
	// The three leaves were written as they arrived, and nothing keeps them.
	assert_eq!(store.gc().unwrap(), GcReport { blocks: 3, bytes: 3 * CHUNK_SIZE as u64 });
}

#[test]
fn a_leaf_corrupted_after_content_is_opened_ends_its_reading_with_an_error() {
	let (dir, store) = store();
	let content = golden_input("one_chunk_and_a_byte");
	let root = store.put(&content).unwrap();
	let mut leaves = store.read(&root).unwrap();
	assert_eq!(leaves.size(), content.len() as u64);
	let last = dag(&content)[1].cid;
	fs::write(dir.path().join("blocks").join(last.to_string()), b"x").unwrap();
	assert_eq!(leaves.next().unwrap().unwrap(), content[..CHUNK_SIZE]);
	assert!(matches!(leaves.next(), Some(Err(StoreError::Corrupt(cid))) if cid == last));
	assert!(leaves.next().is_none());
}

#[test]
fn a_corrupted_leaf_is_reported_not_returned() {
	let (dir, store) = store();
	let content = golden_input("one_chunk_and_a_byte");
	let root = store.put(&content).unwrap();
	let leaf = dag(&content)[1].cid;
	let path = dir.path().join("blocks").join(leaf.to_string());
	fs::write(&path, b"not the leaf").unwrap();
	assert!(matches!(store.get(&root), Err(StoreError::Corrupt(cid)) if cid == leaf));
	fs::remove_file(path).unwrap();
	assert!(matches!(store.get(&root), Err(StoreError::NotFound(cid)) if cid == leaf));
	assert!(!store.has(&root));
}

#[test]
fn content_that_does_not_match_the_cid_asked_for_is_refused() {
	let (_dir, store) = store();
	let asked = cid_of(b"what was asked for");
	let refused = store.put_expecting(&asked, &b"something else"[..], StoreError::Io);
	assert!(matches!(refused, Err(StoreError::Corrupt(_))));
	assert!(matches!(store.get(&asked), Err(StoreError::NotFound(_))));
	store.put_expecting(&asked, &b"what was asked for"[..], StoreError::Io).unwrap();
	assert_eq!(store.get(&asked).unwrap(), b"what was asked for");
}

#[test]
fn gc_removes_only_what_no_pin_reaches() {
	let (_dir, store) = store();
	let kept = store.put(&golden_input("one_chunk_and_a_byte")).unwrap();
	let dropped = store.put(b"temporary gradient").unwrap();
	store.unpin(&dropped).unwrap();
	assert_eq!(store.gc().unwrap(), GcReport { blocks: 1, bytes: 18 });
	assert_eq!(store.pins().unwrap(), vec![kept]);
	assert!(matches!(store.get(&dropped), Err(StoreError::NotFound(_))));
	assert_eq!(store.get(&kept).unwrap(), golden_input("one_chunk_and_a_byte"));
	assert_eq!(store.gc().unwrap(), GcReport::default());
	assert!(matches!(store.unpin(&dropped), Err(StoreError::NotFound(_))));
}

/// Content of `chunks` distinct leaves, different for each `round`.
fn chunks(chunks: usize, round: u32) -> Vec<u8> {
	(0..chunks * CHUNK_SIZE)
		.map(|i| ((i / 7) as u32 ^ round.wrapping_mul(2_654_435_761)) as u8)
		.collect()
}

#[test]
fn identical_concurrent_writes_never_share_a_temporary_file() {
	let (_dir, store) = store();
	for round in 0..20 {
		let content = chunks(3, round);
		let writers = std::sync::Barrier::new(8);
		let written: Vec<_> = std::thread::scope(|scope| {
			let handles: Vec<_> = (0..8)
				.map(|_| {
					scope.spawn(|| {
						writers.wait();
						store.put(&content).map_err(|error| error.to_string())
					})
				})
				.collect();
			handles.into_iter().map(|handle| handle.join().unwrap()).collect()
		});
		for outcome in written {
			assert_eq!(outcome, Ok(cid_of(&content)), "round {round}");
		}
		assert_eq!(store.get(&cid_of(&content)).unwrap(), content, "round {round}");
	}
}

#[test]
fn gc_never_deletes_a_block_whose_pin_is_not_yet_written() {
	let (_dir, store) = store();
	let writing = std::sync::atomic::AtomicBool::new(true);
	let (written, collected) = std::thread::scope(|scope| {
		let collector = scope.spawn(|| {
			let mut outcome = Ok(());
			while writing.load(std::sync::atomic::Ordering::Relaxed) && outcome.is_ok() {
				outcome = store.gc().map(drop).map_err(|error| error.to_string());
			}
			outcome
		});
		let written = (0..100).try_for_each(|round| {
			let content = chunks(2, round);
			let cid = store.put(&content).map_err(|error| format!("put {round}: {error}"))?;
			match store.get(&cid) {
				Ok(read) if read == content => Ok(()),
				other => Err(format!("round {round}: {other:?}")),
			}
		});
		writing.store(false, std::sync::atomic::Ordering::Relaxed);
		(written, collector.join().unwrap())
	});
	assert_eq!(written, Ok(()));
	assert_eq!(collected, Ok(()));
}

#[test]
fn a_corrupted_block_is_repaired_by_the_next_write_of_its_content() {
	let (dir, store) = store();
	let content = golden_input("one_chunk_and_a_byte");
	let root = store.put(&content).unwrap();
	let leaf = dag(&content)[0].cid;
	fs::write(dir.path().join("blocks").join(leaf.to_string()), b"bit rot").unwrap();
	assert!(matches!(store.get(&root), Err(StoreError::Corrupt(cid)) if cid == leaf));
	assert_eq!(store.put(&content).unwrap(), root);
	assert_eq!(store.get(&root).unwrap(), content);
}

#[test]
fn gc_goes_on_past_damaged_content_and_entries_it_cannot_remove() {
	let (dir, store) = store();
	let kept = store.put(&golden_input("one_chunk_and_a_byte")).unwrap();
	let damaged = store.put(&chunks(2, 1)).unwrap();
	fs::write(dir.path().join("blocks").join(damaged.to_string()), b"bit rot").unwrap();
	let dropped = store.put(b"temporary gradient").unwrap();
	store.unpin(&dropped).unwrap();
	// Not a block, and not a file either: it cannot be removed.
	let stuck = dir.path().join("blocks").join("not-a-block");
	fs::create_dir(&stuck).unwrap();
	fs::write(stuck.join("inside"), b"x").unwrap();

	let report = store.gc().unwrap();
	assert!(report.blocks >= 1, "{report:?}");
	assert!(matches!(store.get(&dropped), Err(StoreError::NotFound(_))));
	assert_eq!(store.get(&kept).unwrap(), golden_input("one_chunk_and_a_byte"));
	assert!(stuck.exists());
	store.gc().unwrap();
	// Writing the damaged content again brings it back whole.
	store.put(&chunks(2, 1)).unwrap();
	assert_eq!(store.get(&damaged).unwrap(), chunks(2, 1));
}

#[test]
fn text_that_is_not_a_cid_is_an_error() {
	assert!(matches!(parse_cid("bafy-not-a-cid"), Err(StoreError::InvalidCid(_))));
	assert_eq!(parse_cid(GOLDEN_CIDS[1].1).unwrap(), cid_of(b"hello tessera\n"));
}

/// An IPFS daemon's RPC API, as far as the store uses it, answering honestly or not.
#[cfg(feature = "kubo")]
mod daemon {
	use super::*;
	use axum::{body::Bytes, extract::Query, routing::post, Json, Router};
	use std::{
		collections::HashMap,
		sync::{Arc, Mutex},
	};

	#[derive(Clone, Copy, PartialEq)]
	pub enum Behaviour {
		Honest,
		CorruptsContent,
		NamesContentWrongly,
	}

	/// Starts a daemon on a free port; returns its API URL.
	pub fn start(behaviour: Behaviour) -> String {
		let blobs: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
		let added = blobs.clone();
		let router = Router::new()
			.route(
				"/api/v0/add",
				post(move |body: Bytes| async move {
					let start = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
					let end = body.len() - b"\r\n--tessera-trainer-content-boundary--\r\n".len();
					let content = body[start..end].to_vec();
					let cid = cid_of(&content).to_string();
					added.lock().unwrap().insert(cid.clone(), content);
					let named = if behaviour == Behaviour::NamesContentWrongly {
						cid_of(b"something else").to_string()
					} else {
						cid
					};
					Json(serde_json::json!({ "Name": "blob", "Hash": named, "Size": "0" }))
				}),
			)
			.route(
				"/api/v0/cat",
				post(move |Query(query): Query<HashMap<String, String>>| async move {
					let mut content =
						blobs.lock().unwrap().get(&query["arg"]).cloned().unwrap_or_default();
					if behaviour == Behaviour::CorruptsContent {
						content.push(0);
					}
					content
				}),
			);
		let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
		let url = format!("http://{}", listener.local_addr().unwrap());
		listener.set_nonblocking(true).unwrap();
		std::thread::spawn(move || {
			tokio::runtime::Runtime::new().unwrap().block_on(async move {
				let listener = tokio::net::TcpListener::from_std(listener).unwrap();
				axum::serve(listener, router).await.unwrap();
			})
		});
		url
	}
}

#[cfg(feature = "kubo")]
#[test]
fn content_is_published_to_the_daemon_and_fetched_back_through_it() {
	use kubo::Kubo;
	let api = daemon::start(daemon::Behaviour::Honest);
	let (_a, publisher) = store();
	let publisher = publisher.with_kubo(Kubo::new(&api));
	let content = golden_input("one_chunk_and_a_byte");
	let cid = publisher.put(&content).unwrap();

	let (_b, reader) = store();
	let reader = reader.with_kubo(Kubo::new(&api));
	assert_eq!(reader.get(&cid).unwrap(), content);
	let (_c, offline) = store();
	assert!(matches!(offline.get(&cid), Err(StoreError::NotFound(_))));
	assert!(reader.has(&cid), "fetched content is kept locally");
}

#[cfg(feature = "kubo")]
#[test]
fn a_daemon_is_never_trusted() {
	use kubo::Kubo;
	let liar = Kubo::new(daemon::start(daemon::Behaviour::NamesContentWrongly));
	assert!(matches!(liar.add(cid_of(b"weights"), &b"weights"[..]), Err(StoreError::Fetch { .. })));

	let corrupter = Kubo::new(daemon::start(daemon::Behaviour::CorruptsContent));
	let cid = corrupter.add(cid_of(b"weights"), &b"weights"[..]).unwrap();
	let (_dir, store) = store();
	assert!(
		matches!(corrupter.cat(&cid, 1 << 20, &store), Err(StoreError::Corrupt(c)) if c == cid)
	);
	let store = store.with_kubo(corrupter);
	assert!(matches!(store.get(&cid), Err(StoreError::Corrupt(_))));
	assert!(!store.has(&cid), "corrupt content is not kept");
}
