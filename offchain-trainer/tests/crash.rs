//! The content store through crashes, on loopback and bounded in count: a `tessera-trainer
//! serve` process is killed with SIGKILL at seeded moments while client threads upload blobs
//! (single blocks and DAGs of several, some identical content from several threads at once)
//! and another thread collects garbage, and is restarted on the same store each time. After
//! every restart, and at the end, every CID whose upload was acknowledged reads back
//! byte-identical, garbage collection succeeds and keeps it (an upload is stored and pinned),
//! and once a collection has run no temporary file of a killed writer is left.

use std::{
	collections::BTreeMap,
	path::Path,
	sync::{
		atomic::{AtomicBool, AtomicUsize, Ordering},
		Arc, Mutex, RwLock,
	},
	thread,
	time::{Duration, Instant},
};
use support::{free_port, Service};
use tessera_trainer::{
	api::types::Stored,
	store::{cid_of, parse_cid, ContentStore, CHUNK_SIZE},
};

mod support;

/// Kill and restart cycles.
const KILLS: usize = 6;
/// The shortest and longest a trainer runs before it is killed, in milliseconds.
const RUN_MS: (u64, u64) = (150, 700);
/// Threads uploading at once.
const WRITERS: u64 = 4;
/// Blob sizes a writer draws from: empty, within one chunk (a single raw block), at a chunk's
/// edges, and over several chunks (raw leaves under a `dag-pb` root).
const SIZES: [usize; 8] = [
	0,
	1,
	4_096,
	CHUNK_SIZE - 1,
	CHUNK_SIZE,
	CHUNK_SIZE + 1,
	2 * CHUNK_SIZE + 4_321,
	4 * CHUNK_SIZE,
];
/// Blobs every writer uploads now and then, so that the same blocks and pin are written by
/// several requests at once.
const COMMON: [Blob; 3] = [
	Blob { seed: 1, len: 3 * CHUNK_SIZE + 7 },
	Blob { seed: 2, len: CHUNK_SIZE + 1 },
	Blob { seed: 3, len: 100 },
];
/// One upload in this many is of a common blob.
const COMMON_ONE_IN: u64 = 4;
/// How long a writer or the collector waits after a failed call (the trainer restarts) or
/// before it looks again whether the test has checked the store.
const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// How long a trainer may take to answer its first health check.
const START_BOUND: Duration = Duration::from_secs(30);

/// xorshift64: the test's schedule and content, the same on every run.
struct Rng(u64);

impl Rng {
	fn new(seed: u64) -> Self {
		// Any seed, zero included, gives a non-zero state.
		Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
	}

	fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}

	fn below(&mut self, bound: u64) -> u64 {
		self.next() % bound
	}
}

/// Content named by its seed and length, so that what was acknowledged can be kept without
/// keeping its bytes.
#[derive(Clone, Copy, Debug)]
struct Blob {
	seed: u64,
	len: usize,
}

impl Blob {
	fn bytes(&self) -> Vec<u8> {
		let mut rng = Rng::new(self.seed);
		let mut bytes: Vec<u8> =
			(0..self.len.div_ceil(8)).flat_map(|_| rng.next().to_le_bytes()).collect();
		bytes.truncate(self.len);
		bytes
	}
}

/// A running `serve` on a store it shares with the ones before and after it, killed when
/// dropped.
struct Trainer {
	service: Service,
	control: String,
}

impl Trainer {
	/// Kills the process as a crash would: SIGKILL, no chance to finish anything.
	fn crash(mut self) {
		self.service.0.kill().unwrap();
		self.service.0.wait().unwrap();
	}
}

/// Starts a trainer on `store`, on a port of its own so that no client reaches a killed one's.
fn start(store: &Path) -> Trainer {
	let control = free_port();
	let trainer = Trainer {
		service: Service::start(store, control, None),
		control: format!("http://{control}"),
	};
	let started = Instant::now();
	while call(&trainer.control, "GET", "/v1/health", &[]).0 != 200 {
		assert!(started.elapsed() < START_BOUND, "the trainer did not start");
		thread::sleep(Duration::from_millis(20));
	}
	trainer
}

/// Calls the control API at `control`; the status and body (status 0 when no answer came,
/// as when the trainer is killed mid-call or not yet listening).
fn call(control: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
	let agent = ureq::Agent::config_builder()
		.http_status_as_error(false)
		.timeout_global(Some(Duration::from_secs(60)))
		.build()
		.new_agent();
	let url = format!("{control}{path}");
	let response = match method {
		"GET" => agent.get(&url).call(),
		"PUT" => agent.put(&url).send(body),
		_ => agent.post(&url).header("content-type", "application/json").send(body),
	};
	let Ok(mut response) = response else { return (0, Vec::new()) };
	let status = response.status().as_u16();
	match response.body_mut().read_to_vec() {
		Ok(body) => (status, body),
		Err(_) => (0, Vec::new()),
	}
}

/// What the threads share: where the trainer is now, and what it acknowledged.
#[derive(Default)]
struct Shared {
	control: RwLock<String>,
	/// Set while the test checks the store, so that the store does not grow meanwhile.
	paused: AtomicBool,
	stop: AtomicBool,
	/// Acknowledged uploads by CID.
	acknowledged: Mutex<BTreeMap<String, Blob>>,
	/// Uploads that got no answer: interrupted by a kill, or sent while none listened.
	unanswered: AtomicUsize,
	/// Collections that succeeded.
	collections: AtomicUsize,
	/// Answers that were neither success nor silence, with what they said.
	failures: Mutex<Vec<String>>,
}

impl Shared {
	fn control(&self) -> String {
		self.control.read().unwrap().clone()
	}

	/// Whether to go on, once the test is not checking the store.
	fn go_on(&self) -> bool {
		while self.paused.load(Ordering::Relaxed) && !self.stop.load(Ordering::Relaxed) {
			thread::sleep(RETRY_PAUSE);
		}
		!self.stop.load(Ordering::Relaxed)
	}

	fn fail(&self, what: String) {
		self.failures.lock().unwrap().push(what);
	}
}

/// Uploads blobs until told to stop, each until it is acknowledged: a retry writes the same
/// content over whatever the interrupted write left.
fn write(shared: &Shared, writer: u64) {
	let mut rng = Rng::new(100 + writer);
	let mut written = 0u64;
	while shared.go_on() {
		let blob = if rng.below(COMMON_ONE_IN) == 0 {
			COMMON[rng.below(COMMON.len() as u64) as usize]
		} else {
			written += 1;
			// Seeds of writers' own blobs never meet the common ones' or each other's.
			let seed = (writer + 1) << 32 | written;
			Blob { seed, len: SIZES[rng.below(SIZES.len() as u64) as usize] }
		};
		let content = blob.bytes();
		while shared.go_on() {
			match call(&shared.control(), "PUT", "/v1/blobs", &content) {
				(200, body) => {
					let stored: Stored = serde_json::from_slice(&body).unwrap();
					assert_eq!(stored.cid, cid_of(&content).to_string(), "{blob:?}");
					shared.acknowledged.lock().unwrap().insert(stored.cid, blob);
					break;
				}
				(0, _) => {
					shared.unanswered.fetch_add(1, Ordering::Relaxed);
					thread::sleep(RETRY_PAUSE);
				}
				(status, body) => {
					shared.fail(format!(
						"upload answered {status}: {}",
						String::from_utf8_lossy(&body)
					));
					return;
				}
			}
		}
	}
}

/// Collects garbage over and over until told to stop.
fn collect(shared: &Shared) {
	while shared.go_on() {
		match call(&shared.control(), "POST", "/v1/gc", b"{}") {
			(200, _) => {
				shared.collections.fetch_add(1, Ordering::Relaxed);
			}
			(0, _) => thread::sleep(RETRY_PAUSE),
			(status, body) => {
				shared.fail(format!("gc answered {status}: {}", String::from_utf8_lossy(&body)));
				return;
			}
		}
	}
}

/// The files under the store's `blocks/` not named by a CID: what writers write before
/// renaming it to its block's name, and leave when killed.
fn temporaries(store: &Path) -> Vec<String> {
	std::fs::read_dir(store.join("blocks"))
		.unwrap()
		.map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
		.filter(|name| parse_cid(name).is_err())
		.collect()
}

/// Collects garbage once, then reads every CID acknowledged so far back from `trainer`.
fn check(trainer: &Trainer, shared: &Shared) -> usize {
	let (status, body) = call(&trainer.control, "POST", "/v1/gc", b"{}");
	assert_eq!(status, 200, "gc after a crash: {}", String::from_utf8_lossy(&body));
	let acknowledged = shared.acknowledged.lock().unwrap().clone();
	for (cid, blob) in &acknowledged {
		let (status, content) = call(&trainer.control, "GET", &format!("/v1/blobs/{cid}"), &[]);
		assert_eq!(
			status,
			200,
			"acknowledged {cid} ({blob:?}): {}",
			String::from_utf8_lossy(&content)
		);
		assert!(content == blob.bytes(), "acknowledged {cid} ({blob:?}) reads back changed");
	}
	acknowledged.len()
}

#[test]
fn every_acknowledged_cid_survives_kills_during_writes_and_gc() {
	let began = Instant::now();
	let store = tempfile::tempdir().unwrap();
	let mut trainer = start(store.path());
	let shared = Arc::new(Shared::default());
	*shared.control.write().unwrap() = trainer.control.clone();
	let mut threads: Vec<_> = (0..WRITERS)
		.map(|writer| {
			let shared = shared.clone();
			thread::spawn(move || write(&shared, writer))
		})
		.collect();
	threads.push({
		let shared = shared.clone();
		thread::spawn(move || collect(&shared))
	});

	let mut schedule = Rng::new(7);
	let (mut checked, mut orphaned) = (Vec::new(), 0);
	for _ in 0..KILLS {
		let (shortest, longest) = RUN_MS;
		thread::sleep(Duration::from_millis(shortest + schedule.below(longest - shortest)));
		trainer.crash();
		orphaned += temporaries(store.path()).len();
		shared.paused.store(true, Ordering::Relaxed);
		trainer = start(store.path());
		*shared.control.write().unwrap() = trainer.control.clone();
		checked.push(check(&trainer, &shared));
		shared.paused.store(false, Ordering::Relaxed);
	}
	shared.stop.store(true, Ordering::Relaxed);
	for thread in threads {
		thread.join().unwrap();
	}
	let failures = shared.failures.lock().unwrap().clone();
	assert!(failures.is_empty(), "{failures:?}");

	// Nothing runs now but the final collection and reads.
	let total = check(&trainer, &shared);
	drop(trainer);
	let leftovers = temporaries(store.path());
	assert!(leftovers.is_empty(), "left after gc: {leftovers:?}");
	let pins = ContentStore::open(store.path()).unwrap().pins().unwrap();
	let acknowledged = shared.acknowledged.lock().unwrap().clone();
	for cid in acknowledged.keys() {
		assert!(pins.contains(&parse_cid(cid).unwrap()), "acknowledged {cid} is not pinned");
	}
	assert!(total > COMMON.len(), "only {total} uploads were acknowledged");
	eprintln!(
		"{KILLS} kills; acknowledged after each restart {checked:?}, {total} in all; {} \
		 uploads unanswered; {orphaned} temporaries left by kills; {} collections; {:?}",
		shared.unanswered.load(Ordering::Relaxed),
		shared.collections.load(Ordering::Relaxed),
		began.elapsed()
	);
}
