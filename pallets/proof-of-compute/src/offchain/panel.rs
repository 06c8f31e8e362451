//! The panel side of the off-chain worker: for each dispute a local validator key was drawn
//! for, the worker has the node's trainer re-execute the segment (`POST /v1/verify`, or
//! for a challenged federated aggregate `POST /v1/aggregate` over the round's updates), seals
//! the verdict with a fresh salt in persistent offchain storage, commits to it and reveals it
//! when the chain would accept the reveal — the same discipline as a replica's checkpoints,
//! so that a member that restarts neither computes nor sends anything twice.
//!
//! Every re-execution it asks for names the reference backend, whatever the job's backend
//! ([`VerifyRequest::new`]). A GPU job's segment is re-executed from each replica's own start
//! and measures the state the replica revealed for it (the dispute module's "GPU jobs");
//! the trainer must hold every state first, so the worker has it fetch any it refuses for
//! want of one from the replicas that revealed it, and asks again in a later block.
//!
//! A replica that withholds its state would keep every honest member asking until the panel
//! is slashed as silent, so the waiting ends: from the second half of the panel's commit
//! phase (which closes `RevealDelay` after its first commit, and no later than `RevealDelay`
//! before the panel's deadline, so that reveals still open in time), a state that no replica
//! which revealed it serves when the member's trainer asks is not measured. The member
//! re-executes from the starts it has and measures the states it has, and leaves each
//! missing one (or each one whose start is missing) out of its verdict, which convicts the
//! replica (as failed verification) and lets the verdict commit in time. Every honest member
//! reads the same blocks from the chain and fails to fetch from the same withholder, so they
//! reach the same verdict. Content must stay available for the retention period, as
//! availability checks already require: an honest replica whose endpoint is down through
//! the commit phase is treated as one that does not serve its content.

use super::{fetch_from_peer, submit, Trainer, LOCK_BLOCKS, LOCK_MS};
use crate::{pallet::*, types::*, LOG_TARGET};
use alloc::{string::String, vec::Vec};
use codec::{Decode, Encode};
use polkadot_sdk::sp_runtime::SaturatedConversion as _;
use polkadot_sdk::{
	frame_support::{traits::Get, BoundedVec},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::{offchain::Duration, H256},
	sp_io,
	sp_runtime::{
		offchain::{
			storage::StorageValueRef,
			storage_lock::{BlockAndTime, StorageLock},
		},
		traits::Saturating,
		RuntimeAppPublic,
	},
};
use tessera_primitives::offchain::{local_duties, sent_recently, DutyError};
use tessera_primitives::NodeInspect as _;
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{
	trainer_api::{cid_to_string, Reexecution, Round, VerifyRequest},
	Cid, JobId, JobSpec, NodeId, NodePublic, TrainedWeights,
};

/// Disputes the worker looks after in one run, over all local keys.
pub const MAX_DUTIES_PER_RUN: usize = 4;

const VERDICT_PREFIX: &[u8] = b"tessera/proof-of-compute/verdict/";
const LOCK_PREFIX: &[u8] = b"tessera/proof-of-compute/panel-lock/";

/// The persistent offchain storage key of `node`'s verdict for panel `draw` (counted over
/// the whole dispute, [`Dispute::draws`]) of `job`'s dispute. Keyed by the panel, not the
/// segment: a validator seated again on a later panel of the same segment seals a verdict
/// of its own for it, with a fresh salt, instead of reusing one an earlier panel may have
/// revealed.
pub(crate) fn verdict_key(job: JobId, node: NodeId, draw: u32) -> alloc::vec::Vec<u8> {
	(VERDICT_PREFIX, job, node, draw).encode()
}

/// A GPU segment re-executed from one start: the result's weights digest and state, and the
/// distance of each claim from it (`None` for a claim left unmeasured).
type Measured = ((H256, Cid), Vec<Option<u32>>);

/// What a panel member has its trainer re-execute: a segment of a job, for member `node`,
/// on the data the segment was trained on.
struct Rerun<'a> {
	trainer: &'a Trainer,
	job: JobId,
	node: NodeId,
	spec: &'a JobSpec,
	segment: &'a Segment,
	/// For a participant's update of a federated round: the round and the participant's
	/// shard; `None` for a segment trained on all the data.
	round: Option<Round>,
}

/// A verdict the worker committed to, and when it last sent what.
#[derive(Encode, Decode, Debug, PartialEq)]
pub(crate) struct SealedVerdict<BlockNumber> {
	/// What the trainer computed.
	pub verdict: Verdict,
	/// The salt of the commitment.
	pub salt: [u8; 32],
	/// When the commitment was last pooled.
	pub committed_at: Option<BlockNumber>,
	/// When the reveal was last pooled.
	pub revealed_at: Option<BlockNumber>,
}

impl<T: Config> Pallet<T> {
	/// Works on the disputes the local validator keys sit on the panel of.
	pub(crate) fn judge_offchain(now: BlockNumberFor<T>) {
		let duties = local_duties(
			T::Nodes::node_of_key,
			PanelDuties::<T>::iter_key_prefix,
			MAX_DUTIES_PER_RUN,
			now.saturated_into(),
		);
		for (node, key, job) in duties {
			if let Err(error) = Self::judge(node, &key, job, now) {
				log::debug!(target: LOG_TARGET, "panel {node}, job {job}: {error:?}; trying later");
			}
		}
	}

	/// One run's work on `node`'s seat on `job`'s panel: re-execute once, commit, reveal.
	pub(crate) fn judge(
		node: NodeId,
		key: &NodePublic,
		job: JobId,
		now: BlockNumberFor<T>,
	) -> Result<(), DutyError> {
		let (Some(dispute), Some(spec)) = (Disputes::<T>::get(job), JobSpecs::<T>::get(job)) else {
			return Ok(());
		};
		let lock_key = (LOCK_PREFIX, job, node).encode();
		let mut lock =
			StorageLock::<BlockAndTime<frame_system::Pallet<T>>>::with_block_and_time_deadline(
				&lock_key,
				LOCK_BLOCKS,
				Duration::from_millis(LOCK_MS),
			);
		let _guard = lock.try_lock().map_err(|_| DutyError::Locked)?;
		let record_key = verdict_key(job, node, dispute.draws);
		let record = StorageValueRef::persistent(&record_key);
		let mut sealed: SealedVerdict<BlockNumberFor<T>> = match record.get() {
			Ok(Some(sealed)) => sealed,
			_ => {
				let sealed = Self::reexecute(node, key, job, &spec, &dispute, now)?;
				// The salt is stored before the commitment leaves.
				Self::remember(job, &record_key);
				record.set(&sealed);
				sealed
			}
		};
		let result = Self::send_verdict(key, &mut sealed, now);
		record.set(&sealed);
		result
	}

	/// Has the trainer re-execute the dispute's segment and seals the result for its panel.
	fn reexecute(
		node: NodeId,
		key: &NodePublic,
		job: JobId,
		spec: &JobSpec,
		dispute: &crate::DisputeOf<T>,
		now: BlockNumberFor<T>,
	) -> Result<SealedVerdict<BlockNumberFor<T>>, DutyError> {
		let segment = &dispute.segment;
		let salt = sp_io::hashing::blake2_256(
			&(sp_io::offchain::random_seed(), b"panel", job, node, dispute.draws).encode(),
		);
		let seal = |(weights_digest, state_cid), distances| SealedVerdict {
			verdict: Verdict {
				job,
				checkpoint: segment.checkpoint,
				node,
				weights_digest,
				state_cid,
				distances,
			},
			salt,
			committed_at: None,
			revealed_at: None,
		};
		let trainer = Trainer::of(key)?;
		let mut rerun = Rerun { trainer: &trainer, job, node, spec, segment, round: None };
		match dispute.reason {
			DisputeReason::UpdateChallenged(participant) => {
				// A challenged update: the panel trains the participant's shard of the round
				// again, from the round's start.
				let round = segment.checkpoint;
				let (shard, shards) =
					Self::shard_in(job, participant, round).ok_or(DutyError::BadResponse)?;
				rerun.round = Some(Round { round, shard, shards });
				return Ok(seal(Self::segment_from_agreed_start(&rerun)?, Default::default()));
			}
			_ if Self::is_federated(job) => {
				// A challenged aggregate: the panel averages the round's updates itself.
				let average = Self::average(&trainer, job, segment.checkpoint)?;
				return Ok(seal(average, Default::default()));
			}
			_ => {}
		}
		let info = Jobs::<T>::get(job).ok_or(DutyError::Pending)?;
		if !Self::measured(&info) {
			return Ok(seal(Self::segment_from_agreed_start(&rerun)?, Default::default()));
		}
		// A GPU job: each replica's state measured from its own start. Replicas that share a
		// start share a re-execution; the verdict's result is the first one's.
		let mut groups: Vec<(Option<TrainedWeights>, Vec<(NodeId, TrainedWeights)>)> = Vec::new();
		for (replica, claim) in Self::claims(job, &info, dispute, segment.checkpoint) {
			let Some((digest, weights)) = claim else { continue };
			let start = Self::own_start(job, replica, segment.checkpoint);
			if segment.checkpoint > 0 && start.is_none() {
				// Nothing to start from: the chain convicts a replica it finds no distance for.
				continue;
			}
			let claimed = (replica, TrainedWeights { weights, digest });
			match groups.iter_mut().find(|(other, _)| *other == start) {
				Some((_, claims)) => claims.push(claimed),
				None => groups.push((start, alloc::vec![claimed])),
			}
		}
		let stops_waiting = Self::stops_waiting(dispute, now);
		let mut result = None;
		let mut distances = Vec::new();
		for (start, claims) in &groups {
			let states: Vec<TrainedWeights> =
				claims.iter().map(|(_, state)| state.clone()).collect();
			let Some((computed, measured)) =
				Self::measure_from(&rerun, start.as_ref(), &states, stops_waiting)?
			else {
				continue;
			};
			result.get_or_insert(computed);
			let replicas = claims.iter().map(|(replica, _)| *replica);
			// A claim left unmeasured has no distance: the chain convicts it.
			distances.extend(
				replicas.zip(measured).filter_map(|(replica, distance)| Some((replica, distance?))),
			);
		}
		// Nobody to measure, and nothing to re-execute from: a verdict naming no result and no
		// distance, which convicts whoever claimed anything.
		let result = result.unwrap_or_default();
		let distances = BoundedVec::try_from(distances).map_err(|_| DutyError::BadResponse)?;
		Ok(seal(result, distances))
	}

	/// Whether, at `now`, a member of `dispute`'s panel stops waiting for states nobody serves:
	/// from half way through the panel's commit phase (see the module docs). Commits close
	/// `RevealDelay` after the first one; a first commit later than `RevealDelay` before the
	/// deadline would open the reveals only after it.
	fn stops_waiting(dispute: &crate::DisputeOf<T>, now: BlockNumberFor<T>) -> bool {
		let delay = T::RevealDelay::get();
		let drawn = dispute.deadline.saturating_sub(T::PanelWindow::get());
		let mut closes = dispute.deadline.saturating_sub(delay);
		if let Some(first) = dispute.first_commit {
			closes = closes.min(first.saturating_add(delay));
		}
		let half = closes.saturating_sub(drawn) / 2u32.into();
		now >= drawn.saturating_add(half)
	}

	/// Has the trainer re-execute `rerun`'s segment from the start the dispute agreed on,
	/// fetching that start for the next block when the trainer refuses it for want of it:
	/// the result's weights digest and state.
	fn segment_from_agreed_start(rerun: &Rerun) -> Result<(H256, Cid), DutyError> {
		let start = rerun.segment.start_state.as_ref();
		let answer = Self::segment_from(rerun, start, &[]);
		if let Err(DutyError::Status(400..=499)) = &answer {
			match (rerun.segment.checkpoint.checked_sub(1), start) {
				(Some(previous), Some(start)) => {
					Self::fetch_state(rerun.trainer, rerun.job, previous, &start.weights)
				}
				// The first segment starts from the job's base state.
				(None, _) => Self::fetch_base_state(rerun.trainer, rerun.job),
				(Some(_), None) => {}
			}
		}
		Ok(answer?.0)
	}

	/// Has the trainer re-execute a GPU job's segment from `start` and measure `claims`
	/// against its result: the result's weights digest and state, and a distance per claim.
	/// A state the trainer refuses for want of it is fetched for the next block; once the
	/// member `stops_waiting`, a claim nobody served is left unmeasured (`None`), and so is
	/// every claim when its start was not served (then no result, `Ok(None)`).
	fn measure_from(
		rerun: &Rerun,
		start: Option<&TrainedWeights>,
		claims: &[TrainedWeights],
		stops_waiting: bool,
	) -> Result<Option<Measured>, DutyError> {
		let (trainer, job, segment) = (rerun.trainer, rerun.job, rerun.segment);
		let answer = Self::segment_from(rerun, start, claims);
		let Err(DutyError::Status(400..=499)) = answer else {
			let (result, distances) = answer?;
			return Ok(Some((result, distances.into_iter().map(Some).collect())));
		};
		// The trainer refuses a state it does not have: it fetches each for the next block.
		let start_served = match (segment.checkpoint.checked_sub(1), start) {
			(Some(previous), Some(start)) => Self::served(trainer, job, previous, &start.weights)?,
			_ => true,
		};
		let mut served = Vec::with_capacity(claims.len());
		for claim in claims {
			served.push(Self::served(trainer, job, segment.checkpoint, &claim.weights)?);
		}
		if !stops_waiting || (start_served && served.iter().all(|served| *served)) {
			// Everything is there now, or there is still time: ask again in the next block.
			return answer.map(|_| None);
		}
		let held: Vec<TrainedWeights> = claims
			.iter()
			.zip(&served)
			.filter(|(_, served)| **served)
			.map(|(claim, _)| claim.clone())
			.collect();
		if !start_served || held.is_empty() {
			return Ok(None);
		}
		let (result, distances) = Self::segment_from(rerun, start, &held)?;
		// The distances of the claims measured, in order; none for the others.
		let mut distances = distances.into_iter();
		let distances =
			served.iter().map(|served| if *served { distances.next() } else { None }).collect();
		Ok(Some((result, distances)))
	}

	/// Has `trainer` fetch `cid`, a state replicas of `job` revealed at `checkpoint`, from the
	/// first of them whose endpoint serves it: whether one did. A trainer of its own that does
	/// not answer is no evidence against them: that is an error, and the worker tries later.
	fn served(
		trainer: &Trainer,
		job: JobId,
		checkpoint: u32,
		cid: &[u8],
	) -> Result<bool, DutyError> {
		let wanted = cid_to_string(cid);
		for replica in Assignments::<T>::get(job).unwrap_or_default() {
			let revealed = Reveals::<T>::get((job, replica, checkpoint))
				.is_some_and(|payload| payload.state_cid.as_slice() == cid);
			let peer = revealed
				.then(|| T::Nodes::endpoint(replica))
				.flatten()
				.and_then(|endpoint| String::from_utf8(endpoint).ok());
			let Some(peer) = peer else { continue };
			match fetch_from_peer(trainer, &wanted, &peer) {
				Ok(_) => return Ok(true),
				Err(DutyError::Unreachable) => return Err(DutyError::Unreachable),
				Err(error) => {
					log::debug!(target: LOG_TARGET, "job {job}: state not fetched from {peer}: {error:?}")
				}
			}
		}
		Ok(false)
	}

	/// Has the trainer re-execute `rerun`'s segment from `start` and measure `claims` against
	/// its result: the result's weights digest and state, and the distances.
	fn segment_from(
		rerun: &Rerun,
		start: Option<&TrainedWeights>,
		claims: &[TrainedWeights],
	) -> Result<((H256, Cid), Vec<u32>), DutyError> {
		let Rerun { trainer, job, node, spec, segment, round } = *rerun;
		let mut request = VerifyRequest::new(job, spec, start, segment.from_step, segment.to_step)?
			.measuring(claims);
		if let Some(round) = round {
			request = request.on_shard(round);
		}
		let reexecution = trainer.post::<Reexecution>("/v1/verify", &request)?;
		// No commitments yet: the trainer is still re-executing.
		let last = reexecution.commitments.last().ok_or(DutyError::Pending)?;
		if last.step != segment.to_step || reexecution.distances.len() != claims.len() {
			return Err(DutyError::BadResponse);
		}
		let payload = last.payload(job, segment.checkpoint, node, spec.backend, None)?;
		Ok(((payload.weights_digest, payload.state_cid), reexecution.distances))
	}

	/// Pools the commitment until it is on chain, then the reveal once it is due.
	fn send_verdict(
		key: &NodePublic,
		sealed: &mut SealedVerdict<BlockNumberFor<T>>,
		now: BlockNumberFor<T>,
	) -> Result<(), DutyError> {
		let verdict = &sealed.verdict;
		let commit = PanelCommit {
			job: verdict.job,
			checkpoint: verdict.checkpoint,
			node: verdict.node,
			draw: Disputes::<T>::get(verdict.job).map_or(0, |dispute| dispute.draws),
			hash: verdict_hash(verdict, &sealed.salt),
		};
		if Self::check_panel_commit(&commit).is_ok() {
			if !sent_recently(sealed.committed_at, now) {
				let signature = key
					.sign(&commit.signed_bytes(&Self::genesis_hash()))
					.ok_or(DutyError::Signing)?;
				submit::<T>(Call::panel_commit { commit, signature })?;
				sealed.committed_at = Some(now);
			}
			return Ok(());
		}
		let reveal = PanelReveal { verdict: verdict.clone(), salt: sealed.salt };
		if sent_recently(sealed.revealed_at, now) || Self::check_panel_reveal(&reveal).is_err() {
			return Ok(());
		}
		let signature =
			key.sign(&reveal.signed_bytes(&Self::genesis_hash())).ok_or(DutyError::Signing)?;
		submit::<T>(Call::panel_reveal { reveal, signature })?;
		sealed.revealed_at = Some(now);
		Ok(())
	}
}
