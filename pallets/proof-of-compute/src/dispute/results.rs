//! A replicated job's results under dispute: the replicas still in the running, the segment
//! bisection finds between them (or, of a GPU job, the one segment measured), and how the
//! dispute ends, by paying what the survivors agree on or failing the job.
//!
//! # GPU jobs
//!
//! Every re-execution runs on the reference backend, whatever backend the job trained on:
//! it is the one backend on which every panel member computes the same bits, so a panel's
//! majority means something. A GPU job's replicas, though, are bound to no bits at all: two
//! devices (or drivers) round differently, so honest replicas of one GPU job reveal
//! different digests, none of which the reference reproduces. Comparing digests would slash
//! them for their hardware, and bisection finds no state they agree on. So a GPU job's
//! dispute judges by measure, not by digest:
//!
//! - Only a unanimous GPU result is accepted without a dispute: a majority of one device
//!   proves nothing against a replica on another, so any disagreement is disputed
//!   (`NoMajority`). The segment re-executed is the challenged or spot-checked checkpoint's,
//!   or, without a majority, one drawn as a spot-check's is, from randomness unknown when the
//!   replicas revealed. One segment settles the dispute.
//! - Each panel member re-executes that segment on the reference backend from each
//!   replica's own start (what it revealed for the checkpoint before, or resumed as a
//!   replacement, or the job's start), fetches the state the replica revealed for the
//!   checkpoint, and measures how far it lies from the reference result: `‖claimed −
//!   reference‖₂ / ‖reference − start‖₂` in parts per billion ([`Verdict::distances`];
//!   `FORGED` for content that is not a state with the digest revealed for it). The
//!   reference arithmetic makes the measure itself bit-exact, so honest members reveal the
//!   same verdict and a majority settles it as for any job.
//! - A replica within [`GPU_TOLERANCE`] (5% of what the segment moved the weights) trained
//!   the segment; one farther off, or that revealed no state for it, is slashed for failed
//!   verification; a forged state is slashed as a forged result. Every survivor is paid, and
//!   the first survivor's final state is the job's result.
//! - A replica the verdict names no distance for is unmeasured, and slashed for failed
//!   verification as well. That is how members report a state (or the start it was trained
//!   from) that none of the replicas that revealed it served: a member fetches missing
//!   states block after block, and from half way through its panel's commit phase measures
//!   what it has and leaves the rest out (the off-chain `panel` module), so that a replica
//!   withholding its state cannot keep every honest panel silent, and slashed, forever.
//!   Members that all fail to fetch from the same withholder reach the same verdict. Content
//!   must stay available for the retention period, as availability checks already require:
//!   an honest replica whose endpoint is down through the commit phase is treated as one
//!   that does not serve its content.
//!
//! This rests on three assumptions. One segment's rounding differences from a common start
//! stay far inside the tolerance (the trainer's native CPU kernels land about 3·10⁻⁷ of the
//! move from the reference; no GPU was measured yet). A replica cannot get within 5% of a
//! segment's move without training (nearly) all of it: skipping a share of the steps, or
//! training on other data, moves the weights elsewhere. And one segment is checked per
//! dispute, so a replica that skipped a share `f` of its segments is caught with chance `f`
//! per dispute, as by a spot-check: the stake a GPU tier holds must outweigh what skipping
//! saves.
//!
//! [`Verdict::distances`]: crate::types::Verdict::distances
//! [`GPU_TOLERANCE`]: tessera_primitives::trainer_api::GPU_TOLERANCE

use crate::{pallet::*, types::*, DisputeOf, JobInfoOf};
use alloc::vec::Vec;
use polkadot_sdk::{frame_system, sp_core::H256};
use tessera_primitives::{BackendClass, Cid, JobId, JobState, NodeId, TrainedWeights};

impl<T: Config> Pallet<T> {
	/// The next segment of a dispute over the replicas' results: the claimed checkpoint's,
	/// measured, of a GPU job; of any other job, the first where the candidates diverge.
	pub(super) fn results_segment(
		job: JobId,
		info: &JobInfoOf<T>,
		dispute: &DisputeOf<T>,
	) -> Option<Segment> {
		if Self::measured(info) {
			Self::measured_segment(info, dispute.claim)
		} else {
			Self::bisect(job, info, &Self::candidates(job, info, dispute), dispute.claim)
		}
	}

	/// What each candidate that trained `checkpoint` claims for it: a weights digest and a
	/// state, if it revealed any.
	pub(super) fn results_claims(
		job: JobId,
		info: &JobInfoOf<T>,
		dispute: &DisputeOf<T>,
		checkpoint: u32,
	) -> Vec<(NodeId, Option<(H256, Cid)>)> {
		Self::candidates(job, info, dispute)
			.into_iter()
			.filter(|node| Self::trained(job, *node, checkpoint))
			.map(|node| {
				let claim = Reveals::<T>::get((job, node, checkpoint))
					.map(|payload| (payload.weights_digest, payload.state_cid));
				(node, claim)
			})
			.collect()
	}

	/// Replicas still in the running: they revealed a final result on the job's backend
	/// class and nothing proved them wrong yet.
	fn candidates(job: JobId, info: &JobInfoOf<T>, dispute: &DisputeOf<T>) -> Vec<NodeId> {
		let last = info.checkpoints.saturating_sub(1);
		Assignments::<T>::get(job)
			.unwrap_or_default()
			.into_iter()
			.filter(|node| !dispute.convicted.contains(node))
			.filter(|node| {
				Reveals::<T>::get((job, *node, last))
					.is_some_and(|payload| payload.backend_class == info.workload.backend)
			})
			.collect()
	}

	/// A segment that starts where every candidate agrees and ends where they diverge (or
	/// where the claim begins); `None` when the final checkpoint does not diverge.
	fn bisect(
		job: JobId,
		info: &JobInfoOf<T>,
		candidates: &[NodeId],
		claim: Option<u32>,
	) -> Option<Segment> {
		if candidates.is_empty() {
			return None;
		}
		// Candidates agree on a checkpoint when they named the same weights and the same
		// state there, so that a segment starts from a state every one of them named.
		let agree = |checkpoint: u32| {
			// A replacement that started later has nothing to say about earlier checkpoints.
			let mut claims = candidates
				.iter()
				.filter(|node| Self::trained(job, **node, checkpoint))
				.map(|node| {
					Reveals::<T>::get((job, *node, checkpoint))
						.map(|payload| (payload.weights_digest, payload.state_cid))
				});
			let reference = claims.next().flatten();
			reference.is_some() && claims.all(|claim| claim == reference)
		};
		let diverges = |checkpoint: u32| {
			claim.is_some_and(|claimed| checkpoint >= claimed) || !agree(checkpoint)
		};
		let (mut low, mut high) = (0, info.checkpoints.saturating_sub(1));
		let mut probes = 1;
		if !diverges(high) {
			return None;
		}
		// `diverges(high)` holds throughout, and so does `!diverges(low - 1)` once `low > 0`.
		while low < high {
			let middle = low + (high - low) / 2;
			probes += 1;
			if diverges(middle) {
				high = middle;
			} else {
				low = middle + 1;
			}
		}
		// Every candidate that trained `previous` named this state there (`agree`).
		let start_state = match high.checked_sub(1) {
			None => None,
			Some(previous) => {
				let payload =
					candidates.iter().find_map(|node| Reveals::<T>::get((job, *node, previous)))?;
				Some(TrainedWeights { weights: payload.state_cid, digest: payload.weights_digest })
			}
		};
		let steps = info.workload.steps_of_checkpoint(high);
		Some(Segment {
			checkpoint: high,
			from_step: steps.start,
			to_step: steps.end,
			start_state,
			probes,
		})
	}

	/// Whether `info`'s segments are judged by measure rather than by digest: a GPU job's
	/// (see the module docs).
	pub(crate) fn measured(info: &JobInfoOf<T>) -> bool {
		info.workload.backend == BackendClass::Gpu
	}

	/// The claimed checkpoint's segment of a GPU job, which each replica re-executes from its
	/// own start; `None` once it was measured.
	fn measured_segment(info: &JobInfoOf<T>, claim: Option<u32>) -> Option<Segment> {
		let checkpoint = claim?.min(info.checkpoints.saturating_sub(1));
		let steps = info.workload.steps_of_checkpoint(checkpoint);
		Some(Segment {
			checkpoint,
			from_step: steps.start,
			to_step: steps.end,
			start_state: None,
			probes: 1,
		})
	}

	/// The state `node` started `job`'s `checkpoint` from: what it revealed for the one
	/// before, or what it resumed as a replacement; `None` for the job's own start (its base
	/// weights or its seed), or when it revealed nothing it could have started from.
	pub(crate) fn own_start(job: JobId, node: NodeId, checkpoint: u32) -> Option<TrainedWeights> {
		let previous = checkpoint.checked_sub(1)?;
		match ReplicaStarts::<T>::get(job, node) {
			Some((from, start)) if from == checkpoint => Some(start),
			_ => Reveals::<T>::get((job, node, previous)).map(|payload| TrainedWeights {
				weights: payload.state_cid,
				digest: payload.weights_digest,
			}),
		}
	}

	/// Ends a dispute over the replicas' results: settles the challenge, then pays what the
	/// surviving candidates agree on, or fails the job when nobody survived.
	pub(super) fn resolve_results(
		job: JobId,
		mut info: JobInfoOf<T>,
		dispute: DisputeOf<T>,
		last_panel: &[NodeId],
	) {
		let survivors = Self::candidates(job, &info, &dispute);
		let last = info.checkpoints.saturating_sub(1);
		let result = survivors.first().and_then(|node| Reveals::<T>::get((job, *node, last)));
		Self::close_dispute(job, &info, &dispute, &survivors, result.is_some(), last_panel);
		match result {
			Some(payload) => {
				info.result = Some(AgreedResult {
					weights_digest: payload.weights_digest,
					state_cid: payload.state_cid,
					challenge_ends: frame_system::Pallet::<T>::block_number(),
				});
				Self::pay_and_deliver(job, info, &dispute.convicted, JobState::Resolved);
			}
			None => Self::fail(job, info),
		}
	}

	/// Whether a challenger of the accepted result won: the dispute convicted a replica that
	/// revealed it.
	pub(super) fn accepted_result_convicted(
		job: JobId,
		info: &JobInfoOf<T>,
		dispute: &DisputeOf<T>,
	) -> bool {
		let last = info.checkpoints.saturating_sub(1);
		let accepted = info.result.as_ref().map(|result| result.weights_digest);
		dispute.convicted.iter().any(|node| {
			Reveals::<T>::get((job, *node, last)).map(|payload| payload.weights_digest) == accepted
		})
	}

	/// Invariants of a dispute over the replicas' results: a segment starts from a state
	/// every replica still in the running named where it trained the checkpoint before, and
	/// a GPU job's from none, since each replica re-executes from its own start.
	#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
	pub(super) fn results_invariants(
		job: JobId,
		info: &JobInfoOf<T>,
		dispute: &DisputeOf<T>,
	) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		use polkadot_sdk::frame_support::ensure;
		if Self::measured(info) {
			ensure!(dispute.segment.start_state.is_none(), "a GPU segment with a common start");
			return Ok(());
		}
		let Some(previous) = dispute.segment.checkpoint.checked_sub(1) else { return Ok(()) };
		let start =
			dispute.segment.start_state.as_ref().ok_or("a later segment without a start")?;
		let named: Vec<(H256, Cid)> = Self::candidates(job, info, dispute)
			.into_iter()
			.filter(|node| Self::trained(job, *node, previous))
			.filter_map(|node| Reveals::<T>::get((job, node, previous)))
			.map(|payload| (payload.weights_digest, payload.state_cid))
			.collect();
		ensure!(
			!named.is_empty()
				&& named
					.iter()
					.all(|(digest, state)| *digest == start.digest && *state == start.weights),
			"a segment that starts from a state not every candidate named"
		);
		Ok(())
	}
}
