//! What a dispute over a federated job re-executes, and how it ends: one round's aggregate,
//! re-computed from the round's updates, or one participant's update, trained again from the
//! round's start. The dispute engine (the `dispute` module) draws the panels and settles
//! their verdicts; this module answers for the round's side of it, so that the engine never
//! asks what kind of job it disputes.

use crate::{dispute::Disputed, pallet::*, types::*, DisputeOf, JobInfoOf};
use alloc::vec::Vec;
use polkadot_sdk::sp_core::H256;
use tessera_primitives::{Cid, JobId, NodeId};

impl<T: Config> Pallet<T> {
	/// What a dispute of `info`'s job for `reason` re-executes: of a federated job, the
	/// challenged participant's update, or else the challenged round's aggregate; of any
	/// other job, its replicas' results.
	pub(crate) fn disputed(info: &JobInfoOf<T>, reason: &DisputeReason) -> Disputed {
		match reason {
			DisputeReason::UpdateChallenged(participant) => Disputed::Update(*participant),
			_ if info.is_federated() => Disputed::Aggregate,
			_ => Disputed::Results,
		}
	}

	/// The aggregation of the challenged round, as a segment that re-executes no training
	/// step: a panel recomputes the round's federated average from its updates; `None` once
	/// it did.
	pub(crate) fn aggregation_segment(
		job: JobId,
		info: &JobInfoOf<T>,
		claim: Option<u32>,
	) -> Option<Segment> {
		let round = claim.filter(|round| Aggregations::<T>::contains_key(job, round))?;
		let step = info.workload.steps_of_checkpoint(round).end;
		Some(Segment {
			checkpoint: round,
			from_step: step,
			to_step: step,
			start_state: None,
			probes: 1,
		})
	}

	/// A participant's update of the challenged round, as a segment: a panel trains the
	/// participant's shard of the round again ([`Pallet::shard_in`]) from the round's start,
	/// the aggregate of the round before (or the job's own start for the first round);
	/// `None` once it did.
	pub(crate) fn update_segment(
		job: JobId,
		info: &JobInfoOf<T>,
		claim: Option<u32>,
	) -> Option<Segment> {
		let round = claim?;
		let steps = info.workload.steps_of_checkpoint(round);
		Some(Segment {
			checkpoint: round,
			from_step: steps.start,
			to_step: steps.end,
			start_state: Self::start_of_round(job, round),
			probes: 1,
		})
	}

	/// What the aggregator of `round` claims for it, unless a panel already convicted it.
	pub(crate) fn aggregate_claim(
		job: JobId,
		dispute: &DisputeOf<T>,
		round: u32,
	) -> Vec<(NodeId, Option<(H256, Cid)>)> {
		Self::aggregate_of(job, round)
			.filter(|(node, ..)| !dispute.convicted.contains(node))
			.map(|(node, digest, state)| (node, Some((digest, state))))
			.into_iter()
			.collect()
	}

	/// What `participant` revealed as its update of `round`, unless a panel already
	/// convicted it.
	pub(crate) fn update_claim(
		job: JobId,
		dispute: &DisputeOf<T>,
		participant: NodeId,
		round: u32,
	) -> Vec<(NodeId, Option<(H256, Cid)>)> {
		let claim = Reveals::<T>::get((job, participant, round))
			.map(|payload| (payload.weights_digest, payload.state_cid));
		(!dispute.convicted.contains(&participant))
			.then_some((participant, claim))
			.into_iter()
			.collect()
	}

	/// A panel convicted `round`'s aggregator: the panel's aggregate replaces the wrong one
	/// before the dispute ends, and `author`, a member that computed it and so holds its
	/// state, serves it to the next round.
	pub(crate) fn replace_aggregate(
		job: JobId,
		round: u32,
		author: Option<NodeId>,
		weights_digest: H256,
		state_cid: Cid,
	) {
		Self::forfeit_aggregate(job, round);
		Aggregations::<T>::mutate(job, round, |aggregation| {
			if let (Some(aggregation), Some(author)) = (aggregation, author) {
				aggregation.node = author;
				aggregation.weights_digest = weights_digest;
				aggregation.state_cid = state_cid;
			}
		});
	}

	/// Ends the dispute over an aggregate: settles the challenge, then rewinds the job to
	/// the round after the aggregate if the panel replaced it, or lets the job go on.
	pub(crate) fn resolve_aggregation(
		job: JobId,
		mut info: JobInfoOf<T>,
		dispute: DisputeOf<T>,
		last_panel: &[NodeId],
	) {
		let round = dispute.segment.checkpoint;
		// Upheld or replaced, the round's aggregate is now what a panel majority computed:
		// challenging it again would only make the panel re-execute it again.
		Federations::<T>::mutate(job, |federation| {
			if let Some(federation) = federation {
				federation.settled = Some(round);
			}
		});
		let upheld = dispute.convicted.is_empty();
		let author: Vec<NodeId> =
			Self::aggregate_of(job, round).map(|(node, ..)| node).into_iter().collect();
		let survivors = if upheld { author } else { Vec::new() };
		Self::close_dispute(job, &info, &dispute, &survivors, upheld, last_panel);
		if upheld {
			Self::release_aggregate(job, &mut info, round);
		}
		match Self::aggregate_of(job, round) {
			Some((_, weights_digest, state_cid)) if !upheld => {
				Self::rewind(job, round, weights_digest, state_cid)
			}
			_ => Self::resume_rounds(job, info),
		}
	}

	/// Ends the dispute over a participant's update: settles the challenge; then an update
	/// the panel upheld can no longer be challenged and the rounds go on, and a wrong one's
	/// round is trained again without its author.
	pub(crate) fn resolve_update(
		job: JobId,
		info: JobInfoOf<T>,
		dispute: DisputeOf<T>,
		participant: NodeId,
		last_panel: &[NodeId],
	) {
		let round = dispute.segment.checkpoint;
		let upheld = dispute.convicted.is_empty();
		let survivors: Vec<NodeId> = if upheld { alloc::vec![participant] } else { Vec::new() };
		Self::close_dispute(job, &info, &dispute, &survivors, upheld, last_panel);
		if upheld {
			UpheldUpdates::<T>::insert(job, (round, participant), ());
			Self::resume_rounds(job, info);
		} else {
			Self::retrain_round(job, info, round, participant);
		}
	}
}
