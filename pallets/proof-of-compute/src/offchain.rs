//! The off-chain worker: has the node's trainer train each job the node is a replica of, and
//! brings the trainer's commitments to the chain.
//!
//! For every node key in the local keystore and every open job of that node (at most
//! [`MAX_JOBS_PER_RUN`] a block), under a per-job [`StorageLock`] so that overlapping runs
//! (one per imported block, forks included) never interleave, the worker:
//!
//! 1. asks the trainer for the job (`POST /v1/jobs`, see [`tessera_primitives::trainer_api`])
//!    until it reports the node's next checkpoint. The trainer trains each job id once and
//!    answers again with its progress, so asking is how the worker learns the progress, and
//!    a trainer that restarted and forgot the job simply trains it again, to the same
//!    results;
//! 2. *seals* the checkpoint: the payload and a fresh salt go to persistent offchain storage
//!    before anything leaves, then the commit is signed with the node key and pooled as an
//!    authorized transaction;
//! 3. reveals every sealed checkpoint, in order, as soon as the chain would accept the reveal.
//!
//! A commit or reveal that was pooled and has not landed is not sent again for
//! [`RESEND_AFTER_BLOCKS`](tessera_primitives::offchain::RESEND_AFTER_BLOCKS) blocks, restarts included, because it may still land; the duties of
//! all of Tessera's pallets, the node registry's heartbeats included, share that rule, the
//! way they find their work and their errors ([`tessera_primitives::offchain`]). Every HTTP
//! call has a deadline of [`HTTP_DEADLINE_MS`]; a trainer that is down, slow or answers
//! nonsense costs one deadline, and the work is tried again in a later block. A run the
//! trainer reports failed is trained again [`MAX_RUN_RETRIES`] times, then given up.
//!
//! Validator keys drawn for a dispute panel do the panel's work the same way ([`panel`]),
//! those drawn for an availability check fetch the content ([`availability`]), and those
//! seated to aggregate a federated round average its updates ([`rounds`]). A participant of
//! a federated job trains each round as a replica trains a checkpoint, on its own shard,
//! from the previous round's aggregate.
//!
//! What the worker writes for a job is cleared some blocks after the job ends ([`memory`]).
//!
//! The trainer's URL is read per node key from persistent offchain storage under
//! [`trainer_url_key`] (the URL's UTF-8 bytes, e.g. set with the `offchain_localStorageSet`
//! RPC), and is [`DEFAULT_TRAINER_URL`] where none is set. A bearer token stored beside it
//! under [`trainer_token_key`] goes with every request to that trainer
//! (`Authorization: Bearer <token>`, what a control API listening beyond loopback demands);
//! none goes where none is stored. The token is never logged, and one a header cannot carry
//! fails the node key's trainer work, with a warning, until it is set right.

use crate::{pallet::*, types::*, LOG_TARGET};
use alloc::{collections::BTreeMap, format, string::String, vec, vec::Vec};
use codec::{Decode, Encode};
use polkadot_sdk::sp_runtime::SaturatedConversion as _;
use polkadot_sdk::{
	frame_system::{
		self,
		offchain::{CreateAuthorizedTransaction, SubmitTransaction},
		pallet_prelude::BlockNumberFor,
	},
	sp_core::{
		hexdisplay::HexDisplay,
		offchain::{Duration, StorageKind},
	},
	sp_io,
	sp_runtime::{
		offchain::{
			http,
			storage::StorageValueRef,
			storage_lock::{BlockAndTime, StorageLock},
		},
		RuntimeAppPublic,
	},
};
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{
	commitment_hash,
	offchain::{local_duties, sent_recently, DutyError},
	trainer_api::{
		cid_to_string, FetchRequest, JobRequest, JobStatus, RunState, Stored, DEFAULT_TRAINER_URL,
		TRAINER_TOKEN_PREFIX, TRAINER_URL_PREFIX,
	},
	CommitmentPayload, JobId, JobState, NodeId, NodeInspect, NodePublic, TrainedWeights,
	TrainingInputs,
};

/// Jobs the worker looks after in one run, over all local keys.
pub const MAX_JOBS_PER_RUN: usize = 8;
/// How long one HTTP call to the trainer may take.
pub const HTTP_DEADLINE_MS: u64 = 3_000;
/// The largest trainer response read.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How long one run may hold a job's lock: an HTTP call and the signing, with room.
pub(crate) const LOCK_MS: u64 = 3 * HTTP_DEADLINE_MS;
const LOCK_BLOCKS: u32 = 5;

/// Times the worker has the trainer train a job again after a run it reports failed, before
/// it gives the job up.
pub const MAX_RUN_RETRIES: u32 = 2;

const PROGRESS_PREFIX: &[u8] = b"tessera/proof-of-compute/progress/";
const FAILED_RUNS_PREFIX: &[u8] = b"tessera/proof-of-compute/failed-runs/";
const LOCK_PREFIX: &[u8] = b"tessera/proof-of-compute/lock/";

/// The persistent offchain storage key of the trainer URL for node key `key`.
pub fn trainer_url_key(key: &NodePublic) -> Vec<u8> {
	[TRAINER_URL_PREFIX, key.as_ref()].concat()
}

/// The persistent offchain storage key of the trainer token for node key `key`.
pub fn trainer_token_key(key: &NodePublic) -> Vec<u8> {
	[TRAINER_TOKEN_PREFIX, key.as_ref()].concat()
}

/// The persistent offchain storage key of what the worker remembers of `job` for `node`.
fn progress_key(job: JobId, node: NodeId) -> Vec<u8> {
	(PROGRESS_PREFIX, job, node).encode()
}

/// What the worker remembers of one job of one node, across runs and restarts.
#[derive(Encode, Decode, Default, Debug, PartialEq)]
pub(crate) struct Progress<BlockNumber> {
	/// Checkpoints sealed so far, by index.
	pub sealed: BTreeMap<u32, Sealed<BlockNumber>>,
}

/// A checkpoint the worker committed to: what it will reveal, and when it last sent what.
#[derive(Encode, Decode, Debug, PartialEq)]
pub(crate) struct Sealed<BlockNumber> {
	/// The payload, as the trainer reported it.
	pub payload: CommitmentPayload,
	/// The salt of the commit.
	pub salt: [u8; 32],
	/// When the commit was last pooled.
	pub committed_at: Option<BlockNumber>,
	/// When the reveal was last pooled.
	pub revealed_at: Option<BlockNumber>,
	/// The state training resumed for it; `None` for the job's own start.
	pub start: Option<TrainedWeights>,
}

impl<T: Config> Pallet<T> {
	/// Works on the open jobs of the nodes whose keys this node holds.
	pub(crate) fn work_offchain(now: BlockNumberFor<T>) {
		let work = local_duties(
			T::Nodes::node_of_key,
			OpenJobs::<T>::iter_key_prefix,
			MAX_JOBS_PER_RUN,
			now.saturated_into(),
		);
		for (node, key, job) in work {
			if let Err(error) = Self::work_on(node, &key, job, now) {
				log::debug!(target: LOG_TARGET, "node {node}, job {job}: {error:?}; trying later");
			}
		}
	}

	/// One run's work on `job` for `node`: reveal what is due, commit what is next. While
	/// the job does not run the chain takes nothing from its replicas, but the record stays
	/// until the job has ended ([`memory`]): a disputed federated job's challenge may fail
	/// and its round go on, and a fork on which the job still runs may win, and either needs
	/// the sealed salts.
	pub(crate) fn work_on(
		node: NodeId,
		key: &NodePublic,
		job: JobId,
		now: BlockNumberFor<T>,
	) -> Result<(), DutyError> {
		let Some(info) = Jobs::<T>::get(job) else { return Ok(()) };
		if !matches!(info.state, JobState::Assigned | JobState::Running) {
			return Ok(());
		}
		let record_key = progress_key(job, node);
		let record = StorageValueRef::persistent(&record_key);
		let lock_key = (LOCK_PREFIX, job, node).encode();
		let mut lock =
			StorageLock::<BlockAndTime<frame_system::Pallet<T>>>::with_block_and_time_deadline(
				&lock_key,
				LOCK_BLOCKS,
				Duration::from_millis(LOCK_MS),
			);
		let _guard = lock.try_lock().map_err(|_| DutyError::Locked)?;
		let stored: Option<Progress<BlockNumberFor<T>>> = record.get().ok().flatten();
		if stored.is_none() {
			Self::remember(job, &record_key);
		}
		let mut progress = stored.unwrap_or_default();
		// A checkpoint whose commit phase closed without this node is missed, not waited for
		// (a federated round takes updates until it closes).
		let federated = Self::is_federated(job);
		let mut checkpoint = NextCheckpoint::<T>::get(job, node);
		while !federated
			&& checkpoint < info.checkpoints
			&& Self::reveals_open(job, checkpoint, Self::commits_awaited(job, &info, None))
		{
			checkpoint = checkpoint.saturating_add(1);
		}
		let result =
			Self::reveal_due(key, &mut progress, now).and_then(|()| {
				if checkpoint >= info.checkpoints {
					return Ok(());
				}
				// A federated round trained from an aggregate a panel since replaced is trained
				// again from the one that replaced it.
				let start = Self::round_start(job, checkpoint);
				if progress.sealed.get(&checkpoint).is_some_and(|sealed| {
					start.as_ref().is_some_and(|start| *start != sealed.start)
				}) {
					progress.sealed.remove(&checkpoint);
				}
				if !progress.sealed.contains_key(&checkpoint) {
					let failed_runs = FailedRuns::of(job, node);
					if failed_runs.given_up() {
						return Ok(());
					}
					let trainer = Trainer::of(key)?;
					let sealed = match Self::seal(node, job, checkpoint, &info, &trainer) {
						Err(DutyError::RunFailed) => return failed_runs.retry::<T>(&trainer, job),
						sealed => sealed?,
					};
					let Some(sealed) = sealed else { return Ok(()) };
					progress.sealed.insert(checkpoint, sealed);
					// The salt is stored before the commit leaves: without it the commit could
					// never be opened.
					record.set(&progress);
				}
				Self::send_commit(node, key, job, checkpoint, &mut progress, now)
			});
		record.set(&progress);
		result
	}

	/// Pools the reveal of every sealed checkpoint the chain would now accept.
	fn reveal_due(
		key: &NodePublic,
		progress: &mut Progress<BlockNumberFor<T>>,
		now: BlockNumberFor<T>,
	) -> Result<(), DutyError> {
		for sealed in progress.sealed.values_mut() {
			if sent_recently(sealed.revealed_at, now) {
				continue;
			}
			let reveal = Reveal { payload: sealed.payload.clone(), salt: sealed.salt };
			if Self::check_reveal(&reveal).is_err() {
				// Not due yet, or already on chain.
				continue;
			}
			let signature =
				key.sign(&reveal.signed_bytes(&Self::genesis_hash())).ok_or(DutyError::Signing)?;
			submit::<T>(Call::reveal { reveal, signature })?;
			sealed.revealed_at = Some(now);
		}
		Ok(())
	}

	/// The trainer's commitment for `checkpoint` with a fresh salt, once the trainer has it.
	fn seal(
		node: NodeId,
		job: JobId,
		checkpoint: u32,
		info: &crate::JobInfoOf<T>,
		trainer: &Trainer,
	) -> Result<Option<Sealed<BlockNumberFor<T>>>, DutyError> {
		let start_of_round = Self::round_start(job, checkpoint);
		let spec = JobSpecs::<T>::get(job).ok_or(DutyError::BadResponse)?;
		let mut request = JobRequest::new(job, &spec)?;
		let every = u64::from(info.workload.checkpoint_every);
		// A replica that took over mid-job resumes the agreed state, and a participant the
		// previous round's aggregate; the trainer's commitments then begin at its first
		// checkpoint.
		let start = match start_of_round.clone() {
			Some(state) => {
				let Some((round, shard, shards)) =
					Self::shard(job, node).filter(|(round, ..)| *round == checkpoint)
				else {
					// The round this update belongs to has not opened.
					return Ok(None);
				};
				let end = u64::from(round).saturating_add(1).saturating_mul(every);
				request.spec.hyper_parameters.steps = request.spec.hyper_parameters.steps.min(end);
				request = request.in_round(round, shard, shards);
				state.map(|state| (round, state))
			}
			None => ReplicaStarts::<T>::get(job, node),
		};
		let first = match &start {
			Some((from, state)) => {
				request = request.resuming(state, u64::from(*from).saturating_mul(every));
				*from
			}
			None => 0,
		};
		let answer = trainer.post::<JobStatus>("/v1/jobs", &request);
		if let Err(DutyError::Status(400..=499)) = &answer {
			// The trainer refuses a state it does not have: fetch it for the next block.
			match &start {
				Some((from, state)) => {
					Self::fetch_state(trainer, job, from.saturating_sub(1), &state.weights)
				}
				None => Self::fetch_base_state(trainer, job),
			}
		}
		let status = answer?;
		if status.job != job {
			return Err(DutyError::BadResponse);
		}
		let Some(commitment) = status.commitments.get(checkpoint.saturating_sub(first) as usize)
		else {
			if status.state == RunState::Failed {
				log::warn!(
					target: LOG_TARGET,
					"job {job}: the trainer's run failed before checkpoint {checkpoint}: {}",
					status.error.as_deref().unwrap_or("no reason given")
				);
				return Err(DutyError::RunFailed);
			}
			// Still training.
			return Ok(None);
		};
		let is_final = start_of_round.is_some() || checkpoint.saturating_add(1) == info.checkpoints;
		let work = match (is_final, status.work) {
			(false, _) => None,
			(true, Some(work)) => Some(work),
			// The trainer reports its run's work once it is done.
			(true, None) => return Ok(None),
		};
		let payload = commitment.payload(job, checkpoint, node, info.workload.backend, work)?;
		let salt = sp_io::hashing::blake2_256(
			&(sp_io::offchain::random_seed(), job, node, checkpoint).encode(),
		);
		Ok(Some(Sealed {
			payload,
			salt,
			committed_at: None,
			revealed_at: None,
			start: start_of_round.flatten(),
		}))
	}

	/// For a federated job, the state round `round` trains from: the previous round's
	/// aggregate, or `Some(None)` for the job's own start; `None` for a job that is not
	/// federated.
	fn round_start(job: JobId, round: u32) -> Option<Option<TrainedWeights>> {
		Federations::<T>::get(job)?;
		Some(Self::start_of_round(job, round))
	}

	/// Pools the commit of the sealed `checkpoint` unless it was pooled recently.
	fn send_commit(
		node: NodeId,
		key: &NodePublic,
		job: JobId,
		checkpoint: u32,
		progress: &mut Progress<BlockNumberFor<T>>,
		now: BlockNumberFor<T>,
	) -> Result<(), DutyError> {
		let Some(sealed) = progress.sealed.get_mut(&checkpoint) else { return Ok(()) };
		if sent_recently(sealed.committed_at, now) {
			return Ok(());
		}
		let hash = commitment_hash(&sealed.payload, node, &sealed.salt);
		let commit = Commit { job, checkpoint, node, hash };
		let signature =
			key.sign(&commit.signed_bytes(&Self::genesis_hash())).ok_or(DutyError::Signing)?;
		submit::<T>(Call::commit { commit, signature })?;
		sealed.committed_at = Some(now);
		Ok(())
	}
}

/// The trainer a node key's work goes to: where its control API listens and what it is
/// authorised with. No `Debug`: the authorisation holds the token, which is never logged.
pub(crate) struct Trainer {
	/// The control API's URL, without a trailing slash.
	url: String,
	/// `Bearer <token>`, where a token is stored.
	authorization: Option<String>,
}

impl Trainer {
	/// The trainer configured for `key`: the URL under [`trainer_url_key`] (surrounding
	/// whitespace and trailing slashes dropped; [`DEFAULT_TRAINER_URL`] where it is unset,
	/// empty or not UTF-8) and the token under [`trainer_token_key`] (surrounding whitespace
	/// dropped; none where it is unset or empty). A token that is not visible ASCII, which
	/// no header can carry and no trainer accepts, is refused with a warning: the key's
	/// trainer work fails until its operator sets it right.
	pub(crate) fn of(key: &NodePublic) -> Result<Self, DutyError> {
		let stored = |storage_key: Vec<u8>| {
			sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, &storage_key)
		};
		let url = stored(trainer_url_key(key))
			.and_then(|bytes| String::from_utf8(bytes).ok())
			.map(|url| String::from(url.trim().trim_end_matches('/')))
			.filter(|url| !url.is_empty())
			.unwrap_or_else(|| DEFAULT_TRAINER_URL.into());
		let token = stored(trainer_token_key(key)).unwrap_or_default();
		let token = match core::str::from_utf8(token.trim_ascii()) {
			Ok(token) if token.bytes().all(|byte| byte.is_ascii_graphic()) => token,
			_ => {
				log::warn!(
					target: LOG_TARGET,
					"the trainer token stored for node key 0x{} is not visible ASCII; no work \
					 goes to its trainer until it is set right",
					HexDisplay::from(&key.as_ref())
				);
				return Err(DutyError::BadToken);
			}
		};
		let authorization = (!token.is_empty()).then(|| format!("Bearer {token}"));
		Ok(Self { url, authorization })
	}

	/// POSTs `request` as JSON to `path` and parses a 2xx JSON answer.
	fn post<R: serde::de::DeserializeOwned>(
		&self,
		path: &str,
		request: &impl serde::Serialize,
	) -> Result<R, DutyError> {
		let body = serde_json::to_vec(request).map_err(|_| DutyError::BadResponse)?;
		let url = format!("{}{path}", self.url);
		let request =
			http::Request::post(&url, vec![body]).add_header("Content-Type", "application/json");
		let bytes = self.send(request)?;
		serde_json::from_slice(&bytes).map_err(|_| DutyError::BadResponse)
	}

	/// DELETEs `path`; any 2xx answer will do.
	fn delete(&self, path: &str) -> Result<(), DutyError> {
		let url = format!("{}{path}", self.url);
		self.send(http::Request::new(&url).method(http::Method::Delete)).map(drop)
	}

	/// Sends `request` with a deadline and the token if there is one, and reads a 2xx
	/// answer's body (at most `MAX_RESPONSE_BYTES`).
	fn send(&self, mut request: http::Request<'_, Vec<Vec<u8>>>) -> Result<Vec<u8>, DutyError> {
		if let Some(authorization) = &self.authorization {
			request = request.add_header("Authorization", authorization);
		}
		let deadline = sp_io::offchain::timestamp().add(Duration::from_millis(HTTP_DEADLINE_MS));
		let pending = request.deadline(deadline).send().map_err(|_| DutyError::Unreachable)?;
		let response = pending
			.try_wait(deadline)
			.map_err(|_| DutyError::Unreachable)?
			.map_err(|_| DutyError::Unreachable)?;
		if !(200..300).contains(&response.code) {
			return Err(DutyError::Status(response.code));
		}
		let mut body = response.body();
		body.deadline(deadline);
		let bytes: Vec<u8> = body.by_ref().take(MAX_RESPONSE_BYTES.saturating_add(1)).collect();
		if body.error().is_some() || bytes.len() > MAX_RESPONSE_BYTES {
			return Err(DutyError::BadResponse);
		}
		Ok(bytes)
	}
}

/// The runs of one job of one node its trainer reported failed, kept in persistent offchain
/// storage (and forgotten with the job, [`memory`]): a failed run is trained again
/// [`MAX_RUN_RETRIES`] times, then the job is given up — the worker asks the trainer no
/// more, still reveals what it sealed, and the replica answers on chain for what it did not
/// deliver. Never waiting forever on a run that cannot finish.
struct FailedRuns {
	key: Vec<u8>,
	count: u32,
}

impl FailedRuns {
	fn of(job: JobId, node: NodeId) -> Self {
		let key = (FAILED_RUNS_PREFIX, job, node).encode();
		let count = StorageValueRef::persistent(&key).get().ok().flatten().unwrap_or(0);
		Self { key, count }
	}

	fn given_up(&self) -> bool {
		self.count > MAX_RUN_RETRIES
	}

	/// Counts a failed run, and unless that gives the job up, has `trainer` drop it so that
	/// the next request trains the job afresh.
	fn retry<T: Config>(mut self, trainer: &Trainer, job: JobId) -> Result<(), DutyError> {
		if self.count < MAX_RUN_RETRIES {
			trainer.delete(&format!("/v1/jobs/{job}"))?;
		}
		self.count = self.count.saturating_add(1);
		if self.count == 1 {
			Pallet::<T>::remember(job, &self.key);
		}
		StorageValueRef::persistent(&self.key).set(&self.count);
		if self.given_up() {
			log::error!(target: LOG_TARGET, "job {job}: its trainer failed it {} times; given up", self.count);
		}
		Err(DutyError::RunFailed)
	}
}

/// Has `trainer` fetch `cid` from the trainer at `peer`; the trainer keeps it only if it
/// matches the CID, and says what it stored.
fn fetch_from_peer(trainer: &Trainer, cid: &str, peer: &str) -> Result<Stored, DutyError> {
	let request = FetchRequest { peer: peer.trim_end_matches('/').into() };
	let stored: Stored = trainer.post(&format!("/v1/blobs/{cid}/fetch"), &request)?;
	if stored.cid != cid {
		return Err(DutyError::BadResponse);
	}
	Ok(stored)
}

impl<T: Config> Pallet<T> {
	/// Has `trainer` fetch the state `cid` that replicas of `job` revealed at `checkpoint`,
	/// or that was committed as that round's aggregate, from the first of their endpoints
	/// that serves it, so that the trainer can resume or re-execute from it next time. Best
	/// effort: the caller asks again later.
	pub(crate) fn fetch_state(trainer: &Trainer, job: JobId, checkpoint: u32, cid: &[u8]) {
		let wanted = cid_to_string(cid);
		let peers = Assignments::<T>::get(job)
			.unwrap_or_default()
			.into_iter()
			.filter(|node| {
				Reveals::<T>::get((job, *node, checkpoint))
					.is_some_and(|payload| payload.state_cid.as_slice() == cid)
			})
			.chain(
				Self::aggregate_of(job, checkpoint)
					.filter(|(_, _, state)| state.as_slice() == cid)
					.map(|(author, ..)| author),
			)
			.filter_map(|node| T::Nodes::endpoint(node))
			.filter_map(|endpoint| String::from_utf8(endpoint).ok());
		for peer in peers {
			match fetch_from_peer(trainer, &wanted, &peer) {
				Ok(_) => return,
				Err(error) => {
					log::debug!(target: LOG_TARGET, "job {job}: state not fetched from {peer}: {error:?}")
				}
			}
		}
	}

	/// Has `trainer` fetch `job`'s base state, a model version's weights, from the replicas
	/// of the job that produced that version ([`TrainingInputs::producer`]), which revealed
	/// it as their final state and serve it through the retention period. A node drawn for
	/// a job on a version it did not train itself gets it this way. Best effort, as
	/// [`Self::fetch_state`].
	pub(crate) fn fetch_base_state(trainer: &Trainer, job: JobId) {
		let Some(base) = JobSpecs::<T>::get(job).and_then(|spec| spec.base_state()) else {
			return;
		};
		let Some(producer) = T::Inputs::producer(&base) else { return };
		let Some(produced) = Jobs::<T>::get(producer) else { return };
		let last = produced.checkpoints.saturating_sub(1);
		Self::fetch_state(trainer, producer, last, &base.weights);
	}
}

fn submit<T: Config>(call: Call<T>) -> Result<(), DutyError> {
	let xt =
		<T as CreateAuthorizedTransaction<Call<T>>>::create_authorized_transaction(call.into());
	SubmitTransaction::<T, Call<T>>::submit_transaction(xt).map_err(|()| DutyError::Pool)
}

pub mod availability;
pub mod memory;
pub mod panel;
pub mod rounds;
#[cfg(test)]
mod tests;
