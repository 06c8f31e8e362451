//! The off-chain worker against a scripted trainer: each test says which HTTP requests it
//! expects, in order, and the test externalities fail on any other request and on any
//! expected one left unmade. They answer every request `200`; [`Refusing`] answers the ones
//! a test refuses with their status.

use super::*;
use crate::{
	mock::*,
	tests::{commit_call, events, post, send},
};
use codec::Decode;
use polkadot_sdk::{frame_support::assert_ok, sp_core::H256};
use polkadot_sdk::{
	frame_support::traits::Hooks,
	sp_core::offchain::{
		self as sp_offchain,
		testing::{self, TestOffchainExt, TestTransactionPoolExt},
		HttpError, HttpRequestId, HttpRequestStatus, OffchainDbExt, OffchainWorkerExt,
		OpaqueNetworkState, Timestamp, TransactionPoolExt,
	},
	sp_keystore::{testing::MemoryKeystore, KeystoreExt},
};
use tessera_primitives::offchain::RESEND_AFTER_BLOCKS;
use tessera_primitives::{
	trainer_api::{self, RunState},
	BackendClass, JobState,
};

/// Requests a test refuses: method, URI, body and the status to answer.
type Refusals = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>, u16)>>>;

/// The scripted externalities, answering each refused request (once) with its status
/// instead of `200`; everything else is theirs.
struct Refusing {
	http: TestOffchainExt,
	refusals: Refusals,
}

impl sp_offchain::Externalities for Refusing {
	fn is_validator(&self) -> bool {
		self.http.is_validator()
	}
	fn network_state(&self) -> Result<OpaqueNetworkState, ()> {
		self.http.network_state()
	}
	fn timestamp(&mut self) -> Timestamp {
		self.http.timestamp()
	}
	fn sleep_until(&mut self, deadline: Timestamp) {
		self.http.sleep_until(deadline)
	}
	fn random_seed(&mut self) -> [u8; 32] {
		self.http.random_seed()
	}
	fn http_request_start(
		&mut self,
		method: &str,
		uri: &str,
		meta: &[u8],
	) -> Result<HttpRequestId, ()> {
		self.http.http_request_start(method, uri, meta)
	}
	fn http_request_add_header(
		&mut self,
		id: HttpRequestId,
		name: &str,
		value: &str,
	) -> Result<(), ()> {
		self.http.http_request_add_header(id, name, value)
	}
	fn http_request_write_body(
		&mut self,
		id: HttpRequestId,
		chunk: &[u8],
		deadline: Option<Timestamp>,
	) -> Result<(), HttpError> {
		self.http.http_request_write_body(id, chunk, deadline)
	}
	fn http_response_wait(
		&mut self,
		ids: &[HttpRequestId],
		deadline: Option<Timestamp>,
	) -> Vec<HttpRequestStatus> {
		let answered = self.http.http_response_wait(ids, deadline);
		let mut refusals = self.refusals.lock().unwrap();
		let mut state = self.http.0.write();
		ids.iter()
			.zip(answered)
			.map(|(id, status)| {
				let Some(request) = state.requests.get(id) else { return status };
				let refused = refusals.iter().position(|(method, uri, body, _)| {
					(method, uri, body) == (&request.method, &request.uri, &request.body)
				});
				let Some(refused) = refused else { return status };
				// Its body is never read, so it is dropped here.
				state.requests.remove(id);
				HttpRequestStatus::Finished(refusals.remove(refused).3)
			})
			.collect()
	}
	fn http_response_headers(&mut self, id: HttpRequestId) -> Vec<(Vec<u8>, Vec<u8>)> {
		self.http.http_response_headers(id)
	}
	fn http_response_read_body(
		&mut self,
		id: HttpRequestId,
		buffer: &mut [u8],
		deadline: Option<Timestamp>,
	) -> Result<usize, HttpError> {
		self.http.http_response_read_body(id, buffer, deadline)
	}
	fn set_authorized_nodes(
		&mut self,
		nodes: Vec<polkadot_sdk::sp_core::OpaquePeerId>,
		authorized_only: bool,
	) {
		self.http.set_authorized_nodes(nodes, authorized_only)
	}
}

struct Harness {
	http: TestOffchainExt,
	refusals: Refusals,
	take_pooled: Box<dyn Fn() -> Vec<Vec<u8>>>,
	/// The `Authorization` header every request expected from now on carries, if any.
	authorization: std::cell::RefCell<Option<String>>,
}

impl Harness {
	fn expect(&self, method: &str, uri: &str, body: Vec<u8>, response: &[u8]) {
		let mut headers = if method == "POST" {
			vec![("Content-Type".into(), "application/json".into())]
		} else {
			vec![]
		};
		if let Some(authorization) = self.authorization.borrow().clone() {
			headers.push(("Authorization".into(), authorization));
		}
		self.http.0.write().expect_request(testing::PendingRequest {
			method: method.into(),
			uri: uri.into(),
			headers,
			body,
			response: Some(response.to_vec()),
			sent: true,
			..Default::default()
		});
	}

	/// As [`Self::expect`], answered with `status` (not 2xx) and no body.
	fn refuse(&self, method: &str, uri: &str, body: Vec<u8>, status: u16) {
		self.expect(method, uri, body.clone(), b"");
		self.refusals.lock().unwrap().push((method.into(), uri.into(), body, status));
	}

	/// Stores `token` as the trainer token of node key `key`: every request expected from now
	/// on carries it, without surrounding whitespace, as a bearer token.
	fn use_token(&self, key: &NodePublic, token: &str) {
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			&trainer_token_key(key),
			token.as_bytes(),
		);
		*self.authorization.borrow_mut() = Some(format!("Bearer {}", token.trim()));
	}

	/// Asked for job `job` of the chain, the trainer at the default URL reports `done`
	/// checkpoints, and its work if given.
	fn expect_status(&self, job: JobId, done: u32, work: Option<u64>) {
		self.expect_status_at(DEFAULT_TRAINER_URL, job, done, work);
	}

	/// As [`Self::expect_status`], from the trainer at `trainer`.
	fn expect_status_at(&self, trainer: &str, job: JobId, done: u32, work: Option<u64>) {
		let uri = format!("{trainer}/v1/jobs");
		self.expect("POST", &uri, job_request(job), &status(job, done, work));
	}

	/// Asked `request`, the trainer at the default URL reports checkpoint 1 done, seven work
	/// units: a run that resumed after checkpoint 0.
	fn expect_resumed(&self, request: &trainer_api::JobRequest) {
		let report = trainer_api::JobStatus {
			job: request.job,
			state: RunState::Done,
			commitments: vec![commitment(1)],
			error: None,
			work: Some(7),
		};
		let uri = format!("{DEFAULT_TRAINER_URL}/v1/jobs");
		self.expect(
			"POST",
			&uri,
			serde_json::to_vec(request).unwrap(),
			&serde_json::to_vec(&report).unwrap(),
		);
	}

	/// The one commit the worker pooled since the last look.
	fn only_commit(&self) -> (Call<Test>, Commit) {
		match &self.pooled()[..] {
			[call @ Call::commit { commit, .. }] => (call.clone(), commit.clone()),
			other => panic!("one commit, got {other:?}"),
		}
	}

	/// The one reveal the worker pooled since the last look, and its payload.
	fn only_reveal(&self) -> (Call<Test>, CommitmentPayload) {
		match &self.pooled()[..] {
			[call @ Call::reveal { reveal, .. }] => (call.clone(), reveal.payload.clone()),
			other => panic!("one reveal, got {other:?}"),
		}
	}

	/// What the worker pooled since the last look, decoded.
	fn pooled(&self) -> Vec<Call<Test>> {
		(self.take_pooled)()
			.into_iter()
			.map(|xt| match Extrinsic::decode(&mut &xt[..]).unwrap().function {
				RuntimeCall::ProofOfCompute(call) => call,
				other => panic!("not a proof-of-compute call: {other:?}"),
			})
			.collect()
	}
}

/// The body of the worker's request for job `job`.
fn job_request(job: JobId) -> Vec<u8> {
	let spec = JobSpecs::<Test>::get(job).unwrap();
	serde_json::to_vec(&trainer_api::JobRequest::new(job, &spec).unwrap()).unwrap()
}

/// A trainer's commitment for checkpoint `checkpoint`, with digests named by it.
fn commitment(checkpoint: u32) -> trainer_api::Commitment {
	let hex = |byte: u8| format!("0x{}", hex_byte(byte).repeat(32));
	let digest = checkpoint as u8 + 1;
	trainer_api::Commitment {
		step: u64::from(checkpoint + 1) * 10,
		loss_digest: hex(digest),
		gradient_digest: hex(digest + 0x10),
		weights_digest: hex(digest + 0x20),
		delta_root: hex(digest + 0x30),
		state_cid: trainer_api::cid_to_string(&[1, 0x55, 0x12, 0x20, digest]),
		samples: 320,
	}
}

fn hex_byte(byte: u8) -> String {
	format!("{byte:02x}")
}

fn status(job: JobId, done: u32, work: Option<u64>) -> Vec<u8> {
	serde_json::to_vec(&trainer_api::JobStatus {
		job,
		state: if work.is_some() { RunState::Done } else { RunState::Running },
		commitments: (0..done).map(commitment).collect(),
		error: None,
		work,
	})
	.unwrap()
}

/// The payload the worker must build from the trainer's report.
fn expected_payload(
	job: JobId,
	node: NodeId,
	checkpoint: u32,
	work: Option<u64>,
) -> CommitmentPayload {
	commitment(checkpoint).payload(job, checkpoint, node, BackendClass::CpuReference, work).unwrap()
}

/// A job for one replica whose node key this node holds: (job, node, key).
fn local_job() -> (JobId, NodeId, NodePublic) {
	local_job_due(100)
}

fn local_job_due(deadline: u64) -> (JobId, NodeId, NodePublic) {
	let job = post(1, BackendClass::CpuReference, deadline);
	run_to(System::block_number() + 1);
	let node = Assignments::<Test>::get(job).unwrap()[0];
	(job, node, hold_key(node))
}

/// A local job due at `deadline` whose first checkpoint the worker has committed on chain.
fn first_checkpoint_committed(trainer: &Harness, deadline: u64) -> (JobId, NodeId) {
	let (job, node, _) = local_job_due(deadline);
	trainer.expect_status(job, 1, None);
	work();
	send(trainer.only_commit().0);
	(job, node)
}

/// Puts the node key of mock node `node` in this node's keystore.
fn hold_key(node: NodeId) -> NodePublic {
	let seed = format!("0x{}", hex_byte(node as u8 + 1).repeat(32));
	let key = NodePublic::generate_pair(Some(seed.into_bytes()));
	assert_eq!(TestNodes::node_of_key(&key), Some(node));
	key
}

/// What the worker remembers of `job` for `node`.
fn progress(job: JobId, node: NodeId) -> Option<Progress<u64>> {
	StorageValueRef::persistent(&progress_key(job, node)).get().unwrap()
}

/// The keys the worker entered in its index, by job.
fn remembered() -> memory::Remembered<u64> {
	StorageValueRef::persistent(memory::INDEX_KEY).get().unwrap().unwrap_or_default()
}

fn work() {
	ProofOfCompute::offchain_worker(System::block_number());
}

/// In the next two blocks of a two-checkpoint job whose first checkpoint is revealed: the
/// trainer reports both checkpoints and the run's `work_units`, the final checkpoint is
/// committed and revealed, and the job is accepted. Returns the final payload revealed.
fn deliver_final_checkpoint(trainer: &Harness, job: JobId, work_units: u64) -> CommitmentPayload {
	run_to(System::block_number() + 1);
	trainer.expect_status(job, 2, Some(work_units));
	work();
	let (call, commit) = trainer.only_commit();
	assert_eq!(commit.checkpoint, 1);
	send(call);
	run_to(System::block_number() + 1);
	work();
	let (call, payload) = trainer.only_reveal();
	send(call);
	next_block();
	assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
	payload
}

fn offchain_test(body: impl FnOnce(&Harness)) {
	let mut ext = new_test_ext();
	let (offchain, _) = TestOffchainExt::new();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	ext.register_extension(OffchainDbExt::new(offchain.clone()));
	let refusals = Refusals::default();
	let refusing = Refusing { http: offchain.clone(), refusals: refusals.clone() };
	ext.register_extension(OffchainWorkerExt::new(refusing));
	ext.register_extension(KeystoreExt::new(MemoryKeystore::new()));
	ext.register_extension(TransactionPoolExt::new(pool));
	let take_pooled = move || std::mem::take(&mut pool_state.write().transactions);
	let harness = Harness {
		http: offchain,
		refusals,
		take_pooled: Box::new(take_pooled),
		authorization: Default::default(),
	};
	ext.execute_with(|| {
		body(&harness);
		ProofOfCompute::do_try_state().unwrap();
	});
}

#[test]
fn the_worker_trains_commits_and_reveals_every_checkpoint_through_to_acceptance() {
	offchain_test(|trainer| {
		let (job, node, _) = local_job();

		// The trainer takes the job and has the first checkpoint: it is committed.
		trainer.expect_status(job, 1, None);
		work();
		let (call, commit) = trainer.only_commit();
		assert_eq!(commit.checkpoint, 0);
		send(call);

		// Next block: the commit is on chain, so it is revealed; the final checkpoint is
		// reported but not yet its work, so it waits.
		run_to(System::block_number() + 1);
		trainer.expect_status(job, 2, None);
		work();
		let (call, payload) = trainer.only_reveal();
		assert_eq!(payload, expected_payload(job, node, 0, None));
		send(call);

		let payload = deliver_final_checkpoint(trainer, job, 42);
		assert_eq!(payload, expected_payload(job, node, 1, Some(42)));
		assert!(events().iter().any(|event| matches!(event, Event::JobAccepted { .. })));

		// Nothing is left to do: no request, no transaction. The record stays through the
		// challenge window and goes a while after the job is finalized.
		run_to(System::block_number() + 1);
		work();
		assert!(trainer.pooled().is_empty());
		assert!(progress(job, node).is_some());
		run_to(System::block_number() + CHALLENGE_WINDOW);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		work();
		run_to(System::block_number() + u64::from(memory::FORGET_AFTER_BLOCKS));
		work();
		assert!(trainer.pooled().is_empty());
		assert_eq!(progress(job, node), None);
	});
}

#[test]
fn what_the_worker_wrote_for_a_job_is_cleared_a_while_after_the_job_ends() {
	offchain_test(|trainer| {
		let (job, node) = first_checkpoint_committed(trainer, 10);
		assert!(progress(job, node).is_some());
		assert!(remembered()[&job].keys.contains(&progress_key(job, node)));

		// The job fails at its deadline, which takes the node off it in the same block: the
		// worker never works on it again, and keeps its record while a fork on which the job
		// still runs could win.
		run_to(10);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Failed);
		assert!(!OpenJobs::<Test>::contains_key(node, job));
		work();
		assert_eq!(remembered()[&job].ended_at, Some(10));
		run_to(10 + u64::from(memory::FORGET_AFTER_BLOCKS) - 1);
		work();
		assert!(progress(job, node).is_some());

		run_to(10 + u64::from(memory::FORGET_AFTER_BLOCKS));
		work();
		assert_eq!(progress(job, node), None);
		assert!(remembered().is_empty());
		assert!(trainer.pooled().is_empty());
	});
}

#[test]
fn a_job_seen_ended_on_a_fork_that_lost_is_remembered_afresh() {
	offchain_test(|trainer| {
		let (job, node) = first_checkpoint_committed(trainer, 100);

		// The worker imports a fork on which the job failed, then, long after, a block of the
		// chain on which it still runs.
		let now = System::block_number();
		let running = Jobs::<Test>::get(job).unwrap();
		Jobs::<Test>::mutate(job, |info| info.as_mut().unwrap().state = JobState::Failed);
		ProofOfCompute::forget_ended(now);
		assert_eq!(remembered()[&job].ended_at, Some(now));
		Jobs::<Test>::insert(job, running);
		ProofOfCompute::forget_ended(now + u64::from(memory::FORGET_AFTER_BLOCKS));
		assert_eq!(remembered()[&job].ended_at, None);
		assert!(progress(job, node).unwrap().sealed.contains_key(&0));
	});
}

#[test]
fn a_restarted_worker_sends_nothing_twice_and_resends_only_what_was_lost() {
	offchain_test(|trainer| {
		let (job, _, _) = local_job();
		trainer.expect_status(job, 1, None);
		work();
		let (_, first) = trainer.only_commit();

		// Until the commit could have landed, later runs (a restart is one: all the worker
		// knows is in persistent offchain storage) ask the trainer nothing and send nothing.
		for _ in 1..RESEND_AFTER_BLOCKS {
			run_to(System::block_number() + 1);
			work();
			assert!(trainer.pooled().is_empty());
		}
		// Then the very same commit (signed afresh: sr25519 signatures are randomised) goes
		// again, and its reveal opens it.
		run_to(System::block_number() + 1);
		work();
		let (call, again) = trainer.only_commit();
		assert_eq!(again, first);
		send(call);
		run_to(System::block_number() + 1);
		trainer.expect_status(job, 1, None);
		work();
		send(trainer.only_reveal().0);
	});
}

#[test]
fn a_lost_reveal_is_sent_again_and_the_final_one_waits_for_it() {
	offchain_test(|trainer| {
		let (job, node, _) = local_job();
		trainer.expect_status(job, 2, Some(7));
		work();
		send(trainer.pooled()[0].clone());

		// The first reveal is lost on its way; the final commit lands.
		run_to(System::block_number() + 1);
		let lost_at = System::block_number();
		trainer.expect_status(job, 2, Some(7));
		work();
		let pooled = trainer.pooled();
		let [Call::reveal { .. }, commit @ Call::commit { .. }] = &pooled[..] else {
			panic!("the first reveal and the final commit, got {pooled:?}");
		};
		send(commit.clone());

		// The chain takes the final reveal only after the first, so nothing goes until the
		// lost one may have been lost; then both, in order.
		for _ in lost_at + 1..lost_at + u64::from(RESEND_AFTER_BLOCKS) {
			run_to(System::block_number() + 1);
			work();
			assert!(trainer.pooled().is_empty());
		}
		run_to(lost_at + u64::from(RESEND_AFTER_BLOCKS));
		work();
		let (call, payload) = trainer.only_reveal();
		assert_eq!(payload, expected_payload(job, node, 0, None));
		send(call);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running);
		work();
		let (call, payload) = trainer.only_reveal();
		assert_eq!(payload, expected_payload(job, node, 1, Some(7)));
		send(call);
		next_block();
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		work();
		assert!(trainer.pooled().is_empty());
	});
}

#[test]
fn a_trainer_that_restarted_and_forgot_the_job_trains_it_again_and_nothing_is_lost() {
	offchain_test(|trainer| {
		let (job, node) = first_checkpoint_committed(trainer, 100);

		// The trainer restarted: asked again, it trains the job from the start. The sealed
		// checkpoint is revealed from what the worker kept; nothing new is committed.
		run_to(System::block_number() + 1);
		trainer.expect_status(job, 0, None);
		work();
		let (call, payload) = trainer.only_reveal();
		assert_eq!(payload, expected_payload(job, node, 0, None));
		send(call);

		// Retrained to the same results, the final checkpoint follows as usual.
		deliver_final_checkpoint(trainer, job, 9);
	});
}

#[test]
fn a_trainer_that_answers_nonsense_is_asked_again_in_a_later_block() {
	offchain_test(|trainer| {
		let (job, _, _) = local_job();
		let url = format!("{DEFAULT_TRAINER_URL}/v1/jobs");
		trainer.expect("POST", &url, job_request(job), b"<html>502 Bad Gateway</html>");
		work();
		assert!(trainer.pooled().is_empty());

		run_to(System::block_number() + 1);
		trainer.expect_status(job, 0, None);
		work();
		assert!(trainer.pooled().is_empty(), "nothing to commit before the first checkpoint");
	});
}

#[test]
fn a_run_the_trainer_failed_is_trained_again_twice_then_the_job_is_given_up() {
	offchain_test(|trainer| {
		let (job, node, _) = local_job();
		let jobs = format!("{DEFAULT_TRAINER_URL}/v1/jobs");
		let failed = serde_json::to_vec(&trainer_api::JobStatus {
			job,
			state: RunState::Failed,
			commitments: Vec::new(),
			error: Some("out of memory".into()),
			work: None,
		})
		.unwrap();
		// Twice the trainer is told to drop the failed run, so that the next request trains
		// the job afresh...
		for _ in 0..MAX_RUN_RETRIES {
			trainer.expect("POST", &jobs, job_request(job), &failed);
			trainer.expect("DELETE", &format!("{jobs}/{job}"), Vec::new(), b"{}");
			work();
			run_to(System::block_number() + 1);
		}
		// ...the third failure gives the job up: asked no more, in this block or later ones
		// (the test externalities fail on any request not expected).
		trainer.expect("POST", &jobs, job_request(job), &failed);
		work();
		for _ in 0..3 {
			run_to(System::block_number() + 1);
			work();
		}
		assert!(trainer.pooled().is_empty(), "nothing committed");
		assert!(progress(job, node).is_some_and(|progress| progress.sealed.is_empty()));
		assert_eq!(NextCheckpoint::<Test>::get(job, node), 0);
	});
}

#[test]
fn the_metadata_names_the_offchain_keys_the_worker_reads_its_trainer_from() {
	use codec::Decode;
	let constant = |name: &str| {
		let metadata = ProofOfCompute::pallet_constants_metadata();
		let found = metadata.into_iter().find(|constant| constant.name == name).unwrap();
		Vec::<u8>::decode(&mut &found.value[..]).unwrap()
	};
	let key = NodePublic::from(polkadot_sdk::sp_core::sr25519::Public::from_raw([7; 32]));
	let url_prefix = constant("TrainerUrlPrefix");
	let token_prefix = constant("TrainerTokenPrefix");
	assert_eq!(trainer_url_key(&key), [&url_prefix[..], key.as_ref()].concat());
	assert_eq!(trainer_token_key(&key), [&token_prefix[..], key.as_ref()].concat());
	assert_ne!(url_prefix, token_prefix);
}

#[test]
fn each_node_key_has_its_own_trainer_url() {
	offchain_test(|trainer| {
		let (job, _, key) = local_job();
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			&trainer_url_key(&key),
			b"http://10.0.0.7:9000/",
		);
		trainer.expect_status_at("http://10.0.0.7:9000", job, 0, None);
		work();
	});
}

#[test]
fn a_stored_trainer_token_goes_with_every_request_for_a_job() {
	offchain_test(|trainer| {
		let (job, _, key) = local_job();
		// Set with a trailing newline, as `echo` would write it.
		trainer.use_token(&key, "s3cret-token\n");
		trainer.expect_status(job, 1, None);
		work();
		send(trainer.only_commit().0);
		run_to(System::block_number() + 1);
		trainer.expect_status(job, 2, None);
		work();
		send(trainer.only_reveal().0);
		deliver_final_checkpoint(trainer, job, 42);
	});
}

#[test]
fn a_node_key_with_no_trainer_token_or_an_empty_one_sends_no_authorization_header() {
	offchain_test(|trainer| {
		let (job, _, key) = local_job();
		// Another key's token is that key's alone.
		let other = NodePublic::generate_pair(None);
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			&trainer_token_key(&other),
			b"s3cret-token",
		);
		trainer.expect_status(job, 0, None);
		work();

		run_to(System::block_number() + 1);
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			&trainer_token_key(&key),
			b" \n",
		);
		trainer.expect_status(job, 0, None);
		work();
	});
}

#[test]
fn a_trainer_token_no_header_can_carry_stops_requests_to_the_trainer_but_not_reveals() {
	offchain_test(|trainer| {
		let (job, node) = first_checkpoint_committed(trainer, 100);
		let key = hold_key(node);
		let set_token = |token: &[u8]| {
			sp_io::offchain::local_storage_set(
				StorageKind::PERSISTENT,
				&trainer_token_key(&key),
				token,
			)
		};

		// The harness fails the test on any request: none goes to the trainer, while the
		// sealed checkpoint is still revealed.
		set_token(b"s3cret-\xff-token");
		run_to(System::block_number() + 1);
		work();
		send(trainer.only_reveal().0);
		set_token(b"two words");
		run_to(System::block_number() + 1);
		work();
		assert!(trainer.pooled().is_empty());

		// Set right, the token goes with the next request and the job goes on.
		trainer.use_token(&key, "s3cret-token");
		deliver_final_checkpoint(trainer, job, 9);
	});
}

#[test]
fn the_worker_leaves_jobs_of_nodes_whose_keys_it_lacks_alone() {
	offchain_test(|trainer| {
		post(2, BackendClass::CpuReference, 100);
		run_to(System::block_number() + 1);
		work();
		assert!(trainer.pooled().is_empty());
	});
}

/// A two-checkpoint job its three replicas trained alike, challenged at checkpoint 1, with
/// the key of its first panel member in the keystore: (job, member, key).
fn judged_job() -> (JobId, NodeId, NodePublic) {
	let job = post(3, BackendClass::CpuReference, 100);
	run_to(System::block_number() + 1);
	let (member, key) = challenged_after_training_alike(job, 1);
	(job, member, key)
}

/// Has every replica of the assigned two-checkpoint `job` train it alike, challenges it at
/// `checkpoint`, and puts the key of the first panel member in the keystore: (member, key).
fn challenged_after_training_alike(job: JobId, checkpoint: u32) -> (NodeId, NodePublic) {
	use crate::tests::{commit_call, reveal_call};
	let replicas = Assignments::<Test>::get(job).unwrap();
	for trained in 0..2 {
		let report = |node| payload(job, node, trained, 9, trained == 1);
		replicas.iter().for_each(|node| send(commit_call(&report(*node))));
		replicas.iter().for_each(|node| send(reveal_call(report(*node))));
	}
	next_block();
	assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, checkpoint));
	let member = Panels::<Test>::get(job)[0];
	(member, hold_key(member))
}

/// The trainer at the default URL is asked to re-execute `job`'s disputed segment and
/// answers with `commitments`.
fn expect_reexecution(trainer: &Harness, job: JobId, commitments: Vec<trainer_api::Commitment>) {
	let spec = JobSpecs::<Test>::get(job).unwrap();
	let segment = Disputes::<Test>::get(job).unwrap().segment;
	let request = trainer_api::VerifyRequest::new(
		job,
		&spec,
		segment.start_state.as_ref(),
		segment.from_step,
		segment.to_step,
	)
	.unwrap();
	trainer.expect(
		"POST",
		&format!("{DEFAULT_TRAINER_URL}/v1/verify"),
		serde_json::to_vec(&request).unwrap(),
		&serde_json::to_vec(&trainer_api::Reexecution { commitments, distances: Vec::new() })
			.unwrap(),
	);
}

#[test]
fn a_panel_member_measures_a_gpu_segment_on_the_reference_backend_from_each_replicas_start() {
	use crate::tests::{commit_call, reveal_call};
	use tessera_primitives::trainer_api::FORGED;
	offchain_test(|trainer| {
		Nodes::mutate(|nodes| nodes[2].gpu = true);
		let job = post(3, BackendClass::Gpu, 100);
		run_to(System::block_number() + 1);
		let replicas = Assignments::<Test>::get(job).unwrap();
		// Two replicas share a device, the third has another: two starts at checkpoint 0.
		let device = |node: NodeId| if node == replicas[2] { 40 } else { 30 };
		for checkpoint in 0..2 {
			let report = |node: NodeId| CommitmentPayload {
				backend_class: BackendClass::Gpu,
				..payload(job, node, checkpoint, device(node) + checkpoint as u8, checkpoint == 1)
			};
			replicas.iter().for_each(|node| send(commit_call(&report(*node))));
			replicas.iter().for_each(|node| send(reveal_call(report(*node))));
		}
		next_block();
		// Disputed whatever checkpoint the draw named; this test measures the second.
		Disputes::<Test>::mutate(job, |dispute| {
			let segment = &mut dispute.as_mut().unwrap().segment;
			(segment.checkpoint, segment.from_step, segment.to_step) = (1, 10, 20);
		});
		let member = Panels::<Test>::get(job)[0];
		hold_key(member);

		let spec = JobSpecs::<Test>::get(job).unwrap();
		let expect = |start: u8, claims: &[TrainedWeights], distances: Vec<u32>| {
			let request =
				trainer_api::VerifyRequest::new(job, &spec, Some(&state_of(start)), 10, 20)
					.unwrap()
					.measuring(claims);
			let body = serde_json::to_value(&request).unwrap();
			assert_eq!(body["backend"], "reference", "not the job's wgpu");
			let answer = trainer_api::Reexecution { commitments: vec![commitment(1)], distances };
			trainer.expect(
				"POST",
				&format!("{DEFAULT_TRAINER_URL}/v1/verify"),
				serde_json::to_vec(&request).unwrap(),
				&serde_json::to_vec(&answer).unwrap(),
			);
		};
		expect(30, &[state_of(31), state_of(31)], vec![300, 310]);
		expect(40, &[state_of(41)], vec![FORGED]);
		work();

		let sealed = sealed(job, member).unwrap();
		let computed = expected_payload(job, member, 1, None);
		assert_eq!(
			sealed.verdict,
			Verdict {
				job,
				checkpoint: 1,
				node: member,
				weights_digest: computed.weights_digest,
				state_cid: computed.state_cid,
				distances: vec![(replicas[0], 300), (replicas[1], 310), (replicas[2], FORGED)]
					.try_into()
					.unwrap(),
			}
		);
		assert!(matches!(&trainer.pooled()[..], [Call::panel_commit { .. }]));
	});
}

/// What GPU replica `node` revealed for `checkpoint` in [`gpu_dispute_of`]: three devices.
fn on_gpu(node: NodeId, checkpoint: u32) -> u8 {
	30 + 10 * node as u8 + checkpoint as u8
}

/// A two-checkpoint GPU job whose three replicas revealed [`on_gpu`]'s states, disputed at
/// `checkpoint`, with the key of its first panel member in the keystore: (job, replicas,
/// member, the first block in which members stop waiting for missing states).
fn gpu_dispute_of(checkpoint: u32) -> (JobId, Vec<NodeId>, NodeId, u64) {
	use crate::tests::{commit_call, reveal_call};
	Nodes::mutate(|nodes| nodes[2].gpu = true);
	let job = post(3, BackendClass::Gpu, 100);
	run_to(System::block_number() + 1);
	let replicas = Assignments::<Test>::get(job).unwrap().into_inner();
	for revealed in 0..2 {
		let report = |node: NodeId| CommitmentPayload {
			backend_class: BackendClass::Gpu,
			..payload(job, node, revealed, on_gpu(node, revealed), revealed == 1)
		};
		replicas.iter().for_each(|node| send(commit_call(&report(*node))));
		replicas.iter().for_each(|node| send(reveal_call(report(*node))));
	}
	next_block();
	// Disputed whatever checkpoint the draw named.
	Disputes::<Test>::mutate(job, |dispute| {
		let segment = &mut dispute.as_mut().unwrap().segment;
		let steps = u64::from(checkpoint) * 10;
		(segment.checkpoint, segment.from_step, segment.to_step) = (checkpoint, steps, steps + 10);
	});
	let member = Panels::<Test>::get(job)[0];
	hold_key(member);
	// Nobody committed: the commit phase closes `RevealDelay` before the panel's deadline, and
	// members stop waiting for missing states half way through it.
	let deadline = Disputes::<Test>::get(job).unwrap().deadline;
	let drawn = deadline - PANEL_WINDOW;
	let stops_waiting = drawn + (deadline - REVEAL_DELAY - drawn) / 2;
	assert!(System::block_number() < stops_waiting);
	(job, replicas, member, stops_waiting)
}

/// The trainer at the default URL is asked to fetch `node`'s state of `digest` from the node,
/// and does, unless `node` is `withholder`.
fn expect_fetch_from(trainer: &Harness, node: NodeId, digest: u8, withholder: NodeId) {
	let cid = trainer_api::cid_to_string(&state_of(digest).weights);
	let uri = format!("{DEFAULT_TRAINER_URL}/v1/blobs/{cid}/fetch");
	let body =
		serde_json::to_vec(&trainer_api::FetchRequest { peer: format!("http://node-{node}") })
			.unwrap();
	if node == withholder {
		trainer.refuse("POST", &uri, body, 502);
	} else {
		let stored = trainer_api::Stored { cid, bytes: 42 };
		trainer.expect("POST", &uri, body, &serde_json::to_vec(&stored).unwrap());
	}
}

/// What `node` sealed for `job`'s current panel, if it sealed anything.
fn sealed(job: JobId, node: NodeId) -> Option<panel::SealedVerdict<u64>> {
	StorageValueRef::persistent(&panel::verdict_key(job, node, draw(job))).get().unwrap()
}

/// `node`'s sealed verdict on `job`'s current panel, if it sealed one.
fn sealed_verdict(job: JobId, node: NodeId) -> Option<Verdict> {
	sealed(job, node).map(|sealed| sealed.verdict)
}

#[test]
fn a_gpu_replica_that_withholds_its_state_is_measured_as_missing_and_the_panel_still_commits() {
	offchain_test(|trainer| {
		// The first checkpoint, which every replica starts from the job's own start.
		let (job, replicas, member, stops_waiting) = gpu_dispute_of(0);
		// The second replica's endpoint never serves what it revealed.
		let withholder = replicas[1];
		let spec = JobSpecs::<Test>::get(job).unwrap();
		let claims: Vec<TrainedWeights> =
			replicas.iter().map(|node| state_of(on_gpu(*node, 0))).collect();
		let verify = |claims: &[TrainedWeights]| {
			let request =
				trainer_api::VerifyRequest::new(job, &spec, None, 0, 10).unwrap().measuring(claims);
			serde_json::to_vec(&request).unwrap()
		};
		let verify_uri = format!("{DEFAULT_TRAINER_URL}/v1/verify");
		// The trainer lacks the claimed states: it fetches each from the replica that revealed
		// it; the withholder's fetch fails.
		let refused_then_fetched = || {
			trainer.refuse("POST", &verify_uri, verify(&claims), 404);
			for node in &replicas {
				expect_fetch_from(trainer, *node, on_gpu(*node, 0), withholder);
			}
		};
		refused_then_fetched();
		work();
		assert!(trainer.pooled().is_empty(), "still time to fetch it");
		assert_eq!(sealed_verdict(job, member), None);

		run_to(stops_waiting);
		refused_then_fetched();
		// What it has is measured; the withheld claim is left out, which convicts it.
		let answer = trainer_api::Reexecution {
			commitments: vec![commitment(0)],
			distances: vec![300, 310],
		};
		trainer.expect(
			"POST",
			&verify_uri,
			verify(&[claims[0].clone(), claims[2].clone()]),
			&serde_json::to_vec(&answer).unwrap(),
		);
		work();
		let computed = expected_payload(job, member, 0, None);
		assert_eq!(
			sealed_verdict(job, member).unwrap(),
			Verdict {
				job,
				checkpoint: 0,
				node: member,
				weights_digest: computed.weights_digest,
				state_cid: computed.state_cid,
				distances: vec![(replicas[0], 300), (replicas[2], 310)].try_into().unwrap(),
			}
		);
		assert!(matches!(&trainer.pooled()[..], [Call::panel_commit { .. }]));
	});
}

#[test]
fn a_gpu_replica_that_withholds_the_start_it_revealed_is_left_unmeasured_once_members_stop_waiting()
{
	offchain_test(|trainer| {
		// The second checkpoint, which each replica starts from the state it revealed for the
		// first; the last replica serves neither.
		let (job, replicas, member, stops_waiting) = gpu_dispute_of(1);
		let withholder = replicas[2];
		run_to(stops_waiting);
		let spec = JobSpecs::<Test>::get(job).unwrap();
		let verify_uri = format!("{DEFAULT_TRAINER_URL}/v1/verify");
		for node in &replicas {
			let (start, claim) = (state_of(on_gpu(*node, 0)), state_of(on_gpu(*node, 1)));
			let request = trainer_api::VerifyRequest::new(job, &spec, Some(&start), 10, 20)
				.unwrap()
				.measuring([&claim]);
			let body = serde_json::to_vec(&request).unwrap();
			if *node == withholder {
				trainer.refuse("POST", &verify_uri, body, 404);
				expect_fetch_from(trainer, *node, on_gpu(*node, 0), withholder);
				expect_fetch_from(trainer, *node, on_gpu(*node, 1), withholder);
			} else {
				let answer = trainer_api::Reexecution {
					commitments: vec![commitment(1)],
					distances: vec![*node],
				};
				trainer.expect("POST", &verify_uri, body, &serde_json::to_vec(&answer).unwrap());
			}
		}
		work();
		// Nothing to re-execute the withholder's segment from: it has no distance.
		let verdict = sealed_verdict(job, member).unwrap();
		let measured: Vec<(NodeId, u32)> =
			replicas[..2].iter().map(|node| (*node, *node)).collect();
		assert_eq!(verdict.distances.into_inner(), measured);
		assert!(matches!(&trainer.pooled()[..], [Call::panel_commit { .. }]));
	});
}

#[test]
fn a_panel_member_reexecutes_its_segment_once_then_commits_and_reveals_the_verdict() {
	offchain_test(|trainer| {
		let (job, member, _) = judged_job();
		let segment = Disputes::<Test>::get(job).unwrap().segment;
		assert_eq!((segment.from_step, segment.to_step), (10, 20));
		assert_eq!(segment.start_state, Some(state_of(9)));
		let computed = expected_payload(job, member, 1, None);
		let verdict = Verdict {
			job,
			checkpoint: 1,
			node: member,
			weights_digest: computed.weights_digest,
			state_cid: computed.state_cid,
			distances: Default::default(),
		};

		expect_reexecution(trainer, job, vec![commitment(1)]);
		work();
		let sealed = sealed(job, member).unwrap();
		assert_eq!(sealed.verdict, verdict);
		assert!(remembered()[&job].keys.contains(&panel::verdict_key(job, member, draw(job))));
		let call = match &trainer.pooled()[..] {
			[call @ Call::panel_commit { commit, .. }] => {
				assert_eq!(commit.hash, verdict_hash(&verdict, &sealed.salt));
				call.clone()
			}
			other => panic!("one verdict commitment, got {other:?}"),
		};
		// Another run in the same block asks the trainer nothing and sends nothing again.
		work();
		assert!(trainer.pooled().is_empty());
		send(call);

		run_to(System::block_number() + REVEAL_DELAY);
		work();
		match &trainer.pooled()[..] {
			[call @ Call::panel_reveal { reveal, .. }] => {
				assert_eq!(reveal.verdict, verdict);
				send(call.clone());
			}
			other => panic!("one verdict reveal, got {other:?}"),
		}
		assert_eq!(PanelVerdicts::<Test>::get(job, member), Some(verdict.clone()));
		assert!(events().contains(&Event::VerdictRevealed {
			job,
			node: member,
			weights_digest: verdict.weights_digest
		}));
	});
}

#[test]
fn a_panel_members_reexecution_request_carries_its_trainer_token() {
	offchain_test(|trainer| {
		let (job, _, key) = judged_job();
		trainer.use_token(&key, "s3cret-token");
		expect_reexecution(trainer, job, vec![commitment(1)]);
		work();
		assert!(matches!(&trainer.pooled()[..], [Call::panel_commit { .. }]));
	});
}

/// The panel `job`'s dispute seated last.
fn draw(job: JobId) -> u32 {
	Disputes::<Test>::get(job).unwrap().draws
}

#[test]
fn a_validator_seated_on_a_later_panel_of_the_same_segment_seals_a_fresh_verdict_for_it() {
	offchain_test(|trainer| {
		let (job, member, _) = judged_job();
		expect_reexecution(trainer, job, vec![commitment(1)]);
		work();
		let first = draw(job);
		let sealed = |draw| {
			StorageValueRef::persistent(&panel::verdict_key(job, member, draw))
				.get::<panel::SealedVerdict<u64>>()
				.unwrap()
		};
		let earlier = sealed(first).unwrap();
		assert!(matches!(&trainer.pooled()[..], [Call::panel_commit { .. }]));

		// The panel is drawn again (its others stayed silent, say) and seats the member again.
		Disputes::<Test>::mutate(job, |dispute| dispute.as_mut().unwrap().draws += 1);
		run_to(System::block_number() + 1);
		expect_reexecution(trainer, job, vec![commitment(1)]);
		work();
		let later = sealed(first + 1).expect("a verdict of its own for the new panel");
		assert_eq!(later.verdict, earlier.verdict, "the segment is the same");
		assert_ne!(later.salt, earlier.salt);
		match &trainer.pooled()[..] {
			[Call::panel_commit { commit, .. }] => {
				assert_eq!(commit.draw, first + 1);
				assert_eq!(commit.hash, verdict_hash(&later.verdict, &later.salt));
			}
			other => panic!("one verdict commitment for the new panel, got {other:?}"),
		}
	});
}

#[test]
fn a_panel_member_whose_trainer_stops_short_of_the_segment_commits_nothing_and_asks_again() {
	offchain_test(|trainer| {
		let (job, member, _) = judged_job();
		expect_reexecution(trainer, job, vec![commitment(0)]);
		work();
		assert!(trainer.pooled().is_empty());
		let key = panel::verdict_key(job, member, draw(job));
		let record = StorageValueRef::persistent(&key);
		assert_eq!(record.get::<panel::SealedVerdict<u64>>().unwrap(), None);

		run_to(System::block_number() + 1);
		expect_reexecution(trainer, job, vec![commitment(1)]);
		work();
		assert!(matches!(&trainer.pooled()[..], [Call::panel_commit { .. }]));
	});
}

#[test]
fn a_replacement_resumes_the_agreed_state_and_commits_from_its_first_checkpoint() {
	use crate::tests::{commit_call, reveal_call};
	offchain_test(|trainer| {
		let job = post(1, BackendClass::CpuReference, 100);
		run_to(System::block_number() + 1);
		let gone = Assignments::<Test>::get(job).unwrap()[0];
		let first = payload(job, gone, 0, 9, false);
		send(commit_call(&first));
		send(reveal_call(first.clone()));
		Nodes::mutate(|nodes| nodes[gone as usize].active = false);
		<ProofOfCompute as tessera_primitives::NodeWorkload>::node_deactivated(gone);
		run_to(System::block_number() + 1);
		let by = Assignments::<Test>::get(job).unwrap()[0];
		assert_ne!(by, gone);
		hold_key(by);

		let spec = JobSpecs::<Test>::get(job).unwrap();
		trainer.expect_resumed(&trainer_api::JobRequest::new(job, &spec).unwrap().resuming(
			&TrainedWeights { weights: first.state_cid, digest: first.weights_digest },
			10,
		));
		work();
		let (_, commit) = trainer.only_commit();
		assert_eq!((commit.node, commit.checkpoint), (by, 1));
		assert_eq!(
			progress(job, by).unwrap().sealed[&1].payload,
			expected_payload(job, by, 1, Some(7))
		);
	});
}

/// A one-replica job whose replica revealed both its checkpoints, the last naming
/// `state_of(7)`, which the model registry then holds as the version the job produced; and a
/// job of `redundancy` replicas posted on that version, assigned: (the first job's replica,
/// the second job).
fn job_on_a_produced_version(redundancy: u8) -> (NodeId, JobId) {
	use crate::tests::{commit_call, reveal_call};
	let producer = post(1, BackendClass::CpuReference, 100);
	run_to(System::block_number() + 1);
	let served_by = Assignments::<Test>::get(producer).unwrap()[0];
	for (checkpoint, digest) in [(0, 9), (1, 7)] {
		let revealed = payload(producer, served_by, checkpoint, digest, checkpoint == 1);
		send(commit_call(&revealed));
		send(reveal_call(revealed));
	}
	let version = state_of(7);
	RegisteredVersions::mutate(|versions| versions.push(version.clone()));
	ProducedVersions::mutate(|produced| produced.push((version.clone(), producer)));
	let mut on_version = spec(20, BackendClass::CpuReference);
	(on_version.base_weights, on_version.base_digest) = (version.weights, version.digest);
	assert_ok!(ProofOfCompute::create_job(
		RuntimeOrigin::signed(REQUESTER),
		on_version,
		BUDGET,
		redundancy,
		100
	));
	let job = NextJobId::<Test>::get() - 1;
	run_to(System::block_number() + 1);
	(served_by, job)
}

#[test]
fn a_replica_whose_trainer_lacks_the_base_version_fetches_it_from_the_replicas_that_trained_it() {
	offchain_test(|trainer| {
		let (served_by, job) = job_on_a_produced_version(1);
		let node = Assignments::<Test>::get(job).unwrap()[0];
		hold_key(node);

		// Refused for want of its base state, the trainer is asked to fetch it from the
		// replica that revealed it as the producing job's final state.
		trainer.refuse("POST", &format!("{DEFAULT_TRAINER_URL}/v1/jobs"), job_request(job), 422);
		expect_fetch_from(trainer, served_by, 7, NodeId::MAX);
		work();
		assert!(trainer.pooled().is_empty());

		// Holding it, the trainer trains the job, and the replica commits in the next block.
		run_to(System::block_number() + 1);
		trainer.expect_status(job, 1, None);
		work();
		let (_, commit) = trainer.only_commit();
		assert_eq!((commit.node, commit.checkpoint), (node, 0));
	});
}

#[test]
fn a_panel_member_whose_trainer_lacks_the_base_version_fetches_it_for_the_first_segment() {
	offchain_test(|trainer| {
		let (served_by, job) = job_on_a_produced_version(3);
		challenged_after_training_alike(job, 0);
		assert_eq!(Disputes::<Test>::get(job).unwrap().segment.start_state, None);

		// The first segment starts from the job's base state: refused for want of it, the
		// trainer is asked to fetch it from the replica that trained that version.
		let spec = JobSpecs::<Test>::get(job).unwrap();
		let request = trainer_api::VerifyRequest::new(job, &spec, None, 0, 10).unwrap();
		let verify = format!("{DEFAULT_TRAINER_URL}/v1/verify");
		trainer.refuse("POST", &verify, serde_json::to_vec(&request).unwrap(), 422);
		expect_fetch_from(trainer, served_by, 7, NodeId::MAX);
		work();
		assert!(trainer.pooled().is_empty());

		run_to(System::block_number() + 1);
		expect_reexecution(trainer, job, vec![commitment(0)]);
		work();
		assert!(matches!(&trainer.pooled()[..], [Call::panel_commit { .. }]));
	});
}

/// A one-replica job whose first checkpoint is revealed and asked to be checked, with the
/// drawn validator's key in the keystore: (check's validator, a call that expects the
/// trainer to fetch the state and answer with `stored`'s CID).
fn checked_content(trainer: &Harness) -> (NodeId, impl Fn(&str) + '_) {
	use crate::tests::{commit_call, reveal_call};
	let job = post(1, BackendClass::CpuReference, 100);
	run_to(System::block_number() + 1);
	let node = Assignments::<Test>::get(job).unwrap()[0];
	let first = payload(job, node, 0, 9, false);
	send(commit_call(&first));
	send(reveal_call(first.clone()));
	assert_ok!(ProofOfCompute::challenge_availability(
		RuntimeOrigin::signed(CHALLENGER),
		job,
		node,
		0
	));
	let validator = AvailabilityChecks::<Test>::get(0).unwrap().validator;
	hold_key(validator);
	let cid = trainer_api::cid_to_string(&first.state_cid);
	let expect_fetch = move |stored: &str| {
		trainer.expect(
			"POST",
			&format!("{DEFAULT_TRAINER_URL}/v1/blobs/{cid}/fetch"),
			serde_json::to_vec(&trainer_api::FetchRequest { peer: format!("http://node-{node}") })
				.unwrap(),
			&serde_json::to_vec(&trainer_api::Stored { cid: stored.into(), bytes: 42 }).unwrap(),
		);
	};
	(validator, expect_fetch)
}

/// The one report the worker pooled.
fn pooled_report(trainer: &Harness) -> (Call<Test>, AvailabilityReport) {
	match &trainer.pooled()[..] {
		[call @ Call::report_availability { report, .. }] => (call.clone(), report.clone()),
		other => panic!("one availability report, got {other:?}"),
	}
}

#[test]
fn a_validator_has_its_trainer_fetch_checked_content_from_the_node_then_reports_it_served() {
	offchain_test(|trainer| {
		let (validator, expect_fetch) = checked_content(trainer);
		let cid = trainer_api::cid_to_string(&AvailabilityChecks::<Test>::get(0).unwrap().cid);

		// A trainer that reports other content proves nothing, and there is time to try again.
		expect_fetch("bafkother");
		work();
		assert!(trainer.pooled().is_empty());

		run_to(System::block_number() + 1);
		expect_fetch(&cid);
		work();
		let (call, report) = pooled_report(trainer);
		assert_eq!(report, AvailabilityReport { check: 0, validator, served: true });
		send(call);
		assert!(AvailabilityChecks::<Test>::get(0).is_none());
	});
}

#[test]
fn a_validators_fetch_request_carries_its_trainer_token() {
	offchain_test(|trainer| {
		let (validator, expect_fetch) = checked_content(trainer);
		trainer.use_token(&hold_key(validator), "s3cret-token");
		expect_fetch(&trainer_api::cid_to_string(&AvailabilityChecks::<Test>::get(0).unwrap().cid));
		work();
		let (_, report) = pooled_report(trainer);
		assert!(report.served);
	});
}

#[test]
fn a_validator_whose_trainer_never_gets_the_content_reports_it_missing_in_the_last_block() {
	offchain_test(|trainer| {
		let (validator, expect_fetch) = checked_content(trainer);
		let deadline = AvailabilityChecks::<Test>::get(0).unwrap().deadline;
		run_to(deadline - 1);
		expect_fetch("bafkother");
		work();
		let (call, report) = pooled_report(trainer);
		assert_eq!(report, AvailabilityReport { check: 0, validator, served: false });
		send(call);
		let check = AvailabilityChecks::<Test>::get(0).unwrap();
		assert_eq!((check.missing, check.earlier.into_inner()), (1, vec![validator]));
		assert_ne!(check.validator, validator, "another validator is asked");
	});
}

/// A two-round federated job of three participants whose first round is in, with the key of
/// its first aggregator in the keystore: (job, aggregator, key).
fn aggregated_round() -> (JobId, NodeId, NodePublic) {
	private_aggregated_round(None)
}

/// [`aggregated_round`] of a job declaring `privacy`.
fn private_aggregated_round(
	privacy: Option<tessera_primitives::DpParameters>,
) -> (JobId, NodeId, NodePublic) {
	let job = closed_first_round(privacy);
	let aggregator = Federations::<Test>::get(job).unwrap().aggregators[0];
	(job, aggregator, hold_key(aggregator))
}

/// A federated job of three participants declaring `privacy`, its first round closed with
/// every update in; none of its nodes' keys is held here.
fn closed_first_round(privacy: Option<tessera_primitives::DpParameters>) -> JobId {
	use crate::tests::{commit_call, reveal_call};
	assert_ok!(ProofOfCompute::create_federated_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(20, BackendClass::CpuReference),
		BUDGET,
		3,
		4,
		100,
		privacy
	));
	let job = NextJobId::<Test>::get() - 1;
	run_to(System::block_number() + 1);
	let participants = Assignments::<Test>::get(job).unwrap();
	let update = |node: NodeId| payload(job, node, 0, 30 + node as u8, true);
	participants.iter().for_each(|node| send(commit_call(&update(*node))));
	participants.iter().for_each(|node| send(reveal_call(update(*node))));
	job
}

#[test]
fn a_panel_member_trains_a_challenged_update_again_on_the_participants_shard_from_its_start() {
	offchain_test(|trainer| {
		let job = closed_first_round(None);
		let participant = Federations::<Test>::get(job).unwrap().inputs[0];
		assert_ok!(ProofOfCompute::challenge_update(
			RuntimeOrigin::signed(CHALLENGER),
			job,
			0,
			participant
		));
		let member = Panels::<Test>::get(job)[0];
		hold_key(member);
		// The first round starts where the job does: from its seed, at step 0.
		let segment = Disputes::<Test>::get(job).unwrap().segment;
		assert_eq!((segment.from_step, segment.to_step, segment.start_state), (0, 10, None));
		let (shard, shards) = ProofOfCompute::shard_in(job, participant, 0).unwrap();
		let spec = JobSpecs::<Test>::get(job).unwrap();
		let request = trainer_api::VerifyRequest::new(job, &spec, None, 0, 10)
			.unwrap()
			.on_shard(trainer_api::Round { round: 0, shard, shards });
		let reexecution =
			trainer_api::Reexecution { commitments: vec![commitment(0)], distances: Vec::new() };
		trainer.expect(
			"POST",
			&format!("{DEFAULT_TRAINER_URL}/v1/verify"),
			serde_json::to_vec(&request).unwrap(),
			&serde_json::to_vec(&reexecution).unwrap(),
		);

		work();
		let computed = expected_payload(job, member, 0, None);
		assert_eq!(
			sealed_verdict(job, member),
			Some(Verdict {
				job,
				checkpoint: 0,
				node: member,
				weights_digest: computed.weights_digest,
				state_cid: computed.state_cid,
				distances: Default::default(),
			})
		);
		assert!(matches!(&trainer.pooled()[..], [Call::panel_commit { .. }]));
	});
}

/// The trainer at the default URL is asked to average round `round` of `job` and answers
/// with the state named by `digest`.
fn expect_average(trainer: &Harness, job: JobId, round: u32, digest: u8) {
	expect_private_average(trainer, job, round, digest, None, None)
}

/// [`expect_average`] with the noise `privacy` asked for, answered as having added `added`.
fn expect_private_average(
	trainer: &Harness,
	job: JobId,
	round: u32,
	digest: u8,
	privacy: Option<trainer_api::AggregatePrivacy>,
	added: Option<trainer_api::AggregatePrivacy>,
) {
	let spec = JobSpecs::<Test>::get(job).unwrap();
	let updates: Vec<(Vec<u8>, u64)> = ProofOfCompute::round_inputs(job, round)
		.into_iter()
		.map(|(_, update)| (update.state_cid.to_vec(), update.samples))
		.collect();
	let request = trainer_api::AggregateRequest::new(
		&spec,
		&spec.base_weights,
		updates.iter().map(|(cid, samples)| (cid.as_slice(), *samples)),
	)
	.unwrap()
	.with_privacy(privacy);
	let answer = trainer_api::Aggregate {
		state_cid: trainer_api::cid_to_string(&[1, 0x55, 0x12, 0x20, digest]),
		weights_digest: format!("0x{}", hex_byte(digest).repeat(32)),
		samples: 960,
		noise: added,
	};
	trainer.expect(
		"POST",
		&format!("{DEFAULT_TRAINER_URL}/v1/aggregate"),
		serde_json::to_vec(&request).unwrap(),
		&serde_json::to_vec(&answer).unwrap(),
	);
}

/// σ = 1.1 over a clipping norm of 2, every participant in every round.
fn declared() -> tessera_primitives::DpParameters {
	tessera_primitives::DpParameters {
		clip_milli: 2_000,
		noise_multiplier_milli: 1_100,
		sampling: polkadot_sdk::sp_runtime::Perbill::one(),
		delta: polkadot_sdk::sp_runtime::Perbill::from_parts(10_000),
	}
}

#[test]
fn a_private_jobs_aggregator_asks_for_exactly_the_noise_the_job_declared_and_names_it() {
	offchain_test(|trainer| {
		let (job, _, _) = private_aggregated_round(Some(declared()));
		let seed = Federations::<Test>::get(job).unwrap().seed;
		let per_update = Jobs::<Test>::get(job).unwrap().workload.samples_per_checkpoint();
		let noise = trainer_api::AggregatePrivacy::of(&declared(), &seed, 3, per_update);
		assert_eq!(
			(noise.clip_milli, noise.noise_multiplier_milli, noise.seats),
			(2_000, 1_100, 3)
		);
		assert_eq!(ProofOfCompute::round_noise(job, 0), Some(noise));
		// The harness fails the test on any request but this one.
		expect_private_average(trainer, job, 0, 0x77, Some(noise), Some(noise));
		work();
		match &trainer.pooled()[..] {
			[Call::submit_aggregation { aggregation, .. }] => {
				assert_eq!(aggregation.noise, Some(noise))
			}
			other => panic!("one aggregate, got {other:?}"),
		}
	});
}

#[test]
fn an_aggregate_whose_trainer_names_other_noise_than_asked_is_not_committed() {
	offchain_test(|trainer| {
		let (job, _, _) = private_aggregated_round(Some(declared()));
		let noise = ProofOfCompute::round_noise(job, 0).unwrap();
		for added in [None, Some(trainer_api::AggregatePrivacy { seed: !noise.seed, ..noise })] {
			expect_private_average(trainer, job, 0, 0x77, Some(noise), added);
			work();
			assert!(trainer.pooled().is_empty());
			run_to(System::block_number() + 1);
		}
	});
}

#[test]
fn a_panel_re_computing_a_private_aggregate_draws_the_noise_it_names() {
	offchain_test(|trainer| {
		let (job, _, key) = private_aggregated_round(Some(declared()));
		let noise = ProofOfCompute::round_noise(job, 0).unwrap();
		expect_private_average(trainer, job, 0, 0x77, Some(noise), Some(noise));
		work();
		send(trainer.pooled().pop().unwrap());
		assert_eq!(Aggregations::<Test>::get(job, 0).unwrap().noise, Some(noise));
		// Round 1 draws other noise; re-computing round 0 asks for the noise its aggregate
		// names, as a panel member's worker does.
		assert_ne!(ProofOfCompute::round_noise(job, 1).unwrap().seed, noise.seed);
		expect_private_average(trainer, job, 0, 0x77, Some(noise), Some(noise));
		let recomputed = ProofOfCompute::average(&Trainer::of(&key).unwrap(), job, 0).unwrap();
		assert_eq!(recomputed.0, H256::repeat_byte(0x77));
	});
}

#[test]
fn an_aggregator_averages_the_round_in_its_turn_and_commits_the_aggregate_over_the_chains_inputs() {
	offchain_test(|trainer| {
		let (job, aggregator, _) = aggregated_round();
		expect_average(trainer, job, 0, 0x77);
		work();
		let call = match &trainer.pooled()[..] {
			[call @ Call::submit_aggregation { aggregation, .. }] => {
				assert_eq!(aggregation.node, aggregator);
				assert_eq!(aggregation.participants, 3);
				assert_eq!(aggregation.weights_digest, H256::repeat_byte(0x77));
				call.clone()
			}
			other => panic!("one aggregate, got {other:?}"),
		};
		// Sent once; the next run in the same block leaves the trainer alone.
		work();
		assert!(trainer.pooled().is_empty());
		send(call);
		assert!(events().contains(&Event::RoundAggregated {
			job,
			round: 0,
			node: aggregator,
			weights_digest: H256::repeat_byte(0x77),
			participants: 3
		}));
		assert_eq!(Federations::<Test>::get(job).unwrap().round, 1);
	});
}

#[test]
fn an_aggregators_request_carries_its_trainer_token() {
	offchain_test(|trainer| {
		let (job, _, key) = aggregated_round();
		trainer.use_token(&key, "s3cret-token");
		expect_average(trainer, job, 0, 0x77);
		work();
		assert!(matches!(&trainer.pooled()[..], [Call::submit_aggregation { .. }]));
	});
}

/// The first round of [`aggregated_round`] is aggregated, and its first participant, whose
/// key is in the keystore, has its trainer train round 1 and commits it: (job, participant,
/// the commit).
fn participant_in_round_one(trainer: &Harness) -> (JobId, NodeId, Commit) {
	let (job, _, _) = aggregated_round();
	expect_average(trainer, job, 0, 0x77);
	work();
	send(trainer.pooled().pop().unwrap());
	let participant = Assignments::<Test>::get(job).unwrap()[0];
	hold_key(participant);
	let spec = JobSpecs::<Test>::get(job).unwrap();
	let (round, shard, shards) = ProofOfCompute::shard(job, participant).unwrap();
	assert_eq!((round, shards), (1, 4));
	let aggregate = Aggregations::<Test>::get(job, 0).unwrap();
	let aggregate =
		TrainedWeights { weights: aggregate.state_cid, digest: aggregate.weights_digest };
	trainer.expect_resumed(
		&trainer_api::JobRequest::new(job, &spec)
			.unwrap()
			.in_round(1, shard, 4)
			.resuming(&aggregate, 10),
	);
	run_to(System::block_number() + 1);
	work();
	let (_, commit) = trainer.only_commit();
	(job, participant, commit)
}

#[test]
fn a_participant_trains_its_round_on_its_shard_from_the_previous_aggregate() {
	offchain_test(|trainer| {
		let (job, participant, commit) = participant_in_round_one(trainer);
		assert_eq!((commit.node, commit.checkpoint), (participant, 1));
		let sealed = progress(job, participant).unwrap().sealed.remove(&1).unwrap();
		let aggregate = Aggregations::<Test>::get(job, 0).unwrap();
		let agreed =
			TrainedWeights { weights: aggregate.state_cid, digest: aggregate.weights_digest };
		assert_eq!(sealed.start, Some(agreed));
		assert_eq!(sealed.payload, expected_payload(job, participant, 1, Some(7)));
	});
}

#[test]
fn a_participant_keeps_its_sealed_update_while_a_challenge_of_the_aggregate_is_judged() {
	offchain_test(|trainer| {
		let (job, participant, commit) = participant_in_round_one(trainer);
		let sealed = progress(job, participant).unwrap().sealed.remove(&1).unwrap();

		// The challenge may fail and round 1 go on: the salt of the commit must survive it.
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 0));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Disputed);
		run_to(System::block_number() + 1);
		work();
		assert!(trainer.pooled().is_empty());
		assert_eq!(
			progress(job, participant).unwrap().sealed.get(&commit.checkpoint),
			Some(&sealed)
		);
	});
}

#[test]
fn a_worker_that_missed_a_commit_phase_commits_the_next_checkpoint_still_open() {
	offchain_test(|trainer| {
		let job = post(2, BackendClass::CpuReference, 100);
		run_to(System::block_number() + 1);
		let replicas = Assignments::<Test>::get(job).unwrap();
		let (local, other) = (replicas[0], replicas[1]);
		hold_key(local);
		// The other replica's commit opened checkpoint 0's phase, which closed before this
		// node's trainer had anything: checkpoint 0 is missed, not waited for.
		send(commit_call(&payload(job, other, 0, 9, false)));
		run_to(System::block_number() + REVEAL_DELAY);
		trainer.expect_status(job, 2, Some(42));
		work();
		let (call, commit) = trainer.only_commit();
		assert_eq!(commit.checkpoint, 1);
		send(call);
		assert_eq!(NextCheckpoint::<Test>::get(job, local), 2);
		assert!(!Commits::<Test>::contains_key((job, local, 0)));
	});
}
