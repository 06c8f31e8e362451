//! Blobs as a `tessera-trainer serve` process takes and gives them: a blob much larger than a
//! leaf goes in and comes out as it is sent, so that the service's memory grows by far less
//! than the blob's size either way.

#![cfg(target_os = "linux")]

use std::{
	io::Read,
	time::{Duration, Instant},
};
use support::{free_port, Service};
use tessera_trainer::store::cid_of;

mod support;

/// The blob: a quarter of the largest one taken.
const BLOB_BYTES: usize = 64 << 20;
/// How much the service's memory may grow while it stores or serves the blob.
const GROWTH_BUDGET_MIB: u64 = 16;

/// A field of the service's `/proc/{pid}/status`, in MiB.
fn memory_mib(service: &Service, field: &str) -> u64 {
	let status = std::fs::read_to_string(format!("/proc/{}/status", service.0.id())).unwrap();
	let line = status.lines().find(|line| line.starts_with(field)).unwrap();
	line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[test]
fn a_blob_far_larger_than_a_leaf_is_stored_and_served_without_being_held_whole() {
	let store = tempfile::tempdir().unwrap();
	let control = free_port();
	let service = Service::start(store.path(), control, None);
	let agent = ureq::Agent::config_builder()
		.http_status_as_error(false)
		.timeout_global(Some(Duration::from_secs(120)))
		.build()
		.new_agent();
	let url = |path: &str| format!("http://{control}{path}");
	let started = Instant::now();
	while agent.get(url("/v1/health")).call().map_or(0, |r| r.status().as_u16()) != 200 {
		assert!(started.elapsed() < Duration::from_secs(20), "the trainer did not start");
		std::thread::sleep(Duration::from_millis(50));
	}
	// Every leaf differs from the others, so that none is stored once for many.
	let content: Vec<u8> = (0..BLOB_BYTES).map(|i| (i ^ (i >> 18).wrapping_mul(7)) as u8).collect();
	let resident = memory_mib(&service, "VmRSS:");

	let mut stored = agent.put(url("/v1/blobs")).send(&content[..]).unwrap();
	assert_eq!(stored.status(), 200);
	let stored: serde_json::Value = stored.body_mut().read_json().unwrap();
	let cid = cid_of(&content).to_string();
	assert_eq!(stored, serde_json::json!({ "cid": cid, "bytes": BLOB_BYTES }));
	let after_upload = memory_mib(&service, "VmHWM:");

	let mut served = agent.get(url(&format!("/v1/blobs/{cid}"))).call().unwrap();
	assert_eq!(served.status(), 200);
	assert_eq!(served.body().content_length(), Some(BLOB_BYTES as u64));
	let mut body = served.body_mut().with_config().limit(u64::MAX).reader();
	let (mut piece, mut at) = (vec![0; 1 << 20], 0);
	loop {
		let read = body.read(&mut piece).unwrap();
		if read == 0 {
			break;
		}
		assert!(piece[..read] == content[at..at + read], "bytes {at}.. differ");
		at += read;
	}
	assert_eq!(at, BLOB_BYTES);
	let after_download = memory_mib(&service, "VmHWM:");

	eprintln!("resident {resident} MiB, peak {after_upload} MiB after the upload, {after_download} MiB after the download");
	assert!(
		after_upload.saturating_sub(resident) < GROWTH_BUDGET_MIB,
		"storing {BLOB_BYTES} bytes took the service from {resident} to {after_upload} MiB"
	);
	assert!(
		after_download.saturating_sub(resident) < GROWTH_BUDGET_MIB,
		"serving {BLOB_BYTES} bytes took the service from {resident} to {after_download} MiB"
	);
}
