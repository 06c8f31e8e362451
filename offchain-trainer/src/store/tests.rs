use super::*;

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
	assert!(matches!(store.put_expecting(&asked, b"something else"), Err(StoreError::Corrupt(_))));
	assert!(matches!(store.get(&asked), Err(StoreError::NotFound(_))));
	store.put_expecting(&asked, b"what was asked for").unwrap();
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

#[test]
fn text_that_is_not_a_cid_is_an_error() {
	assert!(matches!(parse_cid("bafy-not-a-cid"), Err(StoreError::InvalidCid(_))));
	assert_eq!(parse_cid(GOLDEN_CIDS[1].1).unwrap(), cid_of(b"hello tessera\n"));
}
