//! Replicas whose node stops mid-job (SPEC §5): when the node registry deactivates a node
//! (missed heartbeats, a slash, too little stake) it tells this pallet
//! ([`NodeWorkload::node_deactivated`]), and at the start of a later block each of its jobs
//! still in training gets another eligible trainer, which resumes from the last checkpoint
//! more than half of the job's replicas agreed on — so the work already agreed is not done
//! again; the worker sends the trainer `resume: { state_cid, weights_digest, step }` and
//! commits from the next checkpoint — or, as a participant of a federated job, trains the
//! first round still taking updates from that round's start. The replica that stopped is
//! slashed the share of its stake that equals its share of the job's budget, paid to the
//! requester for the delay ([`Event::ReplicaReplaced`]). A replica that already revealed its
//! final checkpoint keeps its place. Without an eligible trainer, or once its seats changed
//! hands [`Config::MaxReplacements`] times (10; stopped replicas and replaced federated
//! stragglers alike), the job goes on with the replicas it has: every node that worked on a
//! job is paid, or its contribution cleared, when it ends, and ending a job is charged for
//! `MaxRedundancy + MaxReplacements` nodes, so that a ring of nodes that take a seat and
//! stop in turn cannot make that step outweigh its charge.

use crate::{pallet::*, weights::WeightInfo, JobInfoOf, LOG_TARGET};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{pallet_prelude::*, weights::WeightMeter},
	sp_runtime::{traits::Zero, Perbill},
};
use tessera_primitives::{
	JobId, JobState, NodeId, NodeInspect, NodeRole, NodeWorkload, Outcome, ReputationSink,
	SlashReason, Slasher, TrainedWeights,
};

impl<T: Config> Pallet<T> {
	/// Hands on the training jobs of deactivated nodes, at most `AssignmentsPerBlock` a block;
	/// a node with more keeps its place in the queue.
	pub(crate) fn replace_deactivated(meter: &mut WeightMeter) {
		meter.consume(T::DbWeight::get().reads_writes(1, 1));
		let mut queue = Deactivated::<T>::get();
		if queue.is_empty() {
			return;
		}
		let mut left = Self::affordable(
			meter,
			T::WeightInfo::replace_replica(),
			T::AssignmentsPerBlock::get(),
		);
		while let Some(&node) = queue.first() {
			if left == 0 {
				break;
			}
			let jobs: Vec<JobId> = if T::Nodes::is_active(node) {
				// Reactivated before its turn: it keeps its work.
				Vec::new()
			} else {
				OpenJobs::<T>::iter_key_prefix(node)
					.filter(|job| {
						Jobs::<T>::get(job).is_some_and(|info| {
							matches!(info.state, JobState::Assigned | JobState::Running)
						})
					})
					.take(left as usize)
					.collect()
			};
			let more = jobs.len() as u32 == left;
			for job in jobs {
				Self::replace_replica(job, node);
				meter.consume(T::WeightInfo::replace_replica());
				left -= 1;
			}
			if more {
				break;
			}
			queue.remove(0);
		}
		Deactivated::<T>::put(queue);
	}

	/// Replaces `gone` among `job`'s replicas, unless it already delivered its final
	/// checkpoint.
	pub(crate) fn replace_replica(job: JobId, gone: NodeId) {
		let Some(info) = Jobs::<T>::get(job) else { return };
		if !Assignments::<T>::get(job).unwrap_or_default().contains(&gone) {
			return;
		}
		let last = info.checkpoints.saturating_sub(1);
		if Reveals::<T>::contains_key((job, gone, last)) {
			return;
		}
		let slashed = Self::slash_abandonment(gone, &info);
		T::Reputation::report(gone, Outcome::JobFailed);

		let federation = Federations::<T>::get(job);
		let (from, start) = match (&federation, LastAgreed::<T>::get(job)) {
			// A participant joins the first round that still takes updates, and trains it
			// from the round's start state like everyone else.
			(Some(federation), _) => {
				let closed = u32::from(federation.closed.is_some());
				(federation.round.saturating_add(closed), None)
			}
			(None, Some((checkpoint, state))) => (checkpoint.saturating_add(1), Some(state)),
			(None, None) => (0, None),
		};
		let by = Self::hand_over(job, gone, from, &[]);
		if let (Some(new), Some(state)) = (by, start) {
			ReplicaStarts::<T>::insert(job, new, (from, state));
		}
		Self::deposit_event(Event::ReplicaReplaced { job, node: gone, by, from, slashed });
		if federation.is_some() {
			// The replica that stopped may have been the last update its round waited for.
			Self::update_revealed(job);
			return;
		}
		let replicas = Assignments::<T>::get(job).unwrap_or_default();
		let finished = Self::revealed_by_all(&Tallies::<T>::get(job, last), &replicas);
		if info.state == JobState::Running && finished {
			// The replica that stopped was the last one verification waited for.
			Self::verify(job);
		}
	}

	/// Gives `gone`'s place among `job`'s replicas to another eligible trainer, never one of
	/// `exclude`, which commits from checkpoint `from`; without one, or once the job's seats
	/// changed hands [`Config::MaxReplacements`] times, the job goes on with fewer.
	pub(crate) fn hand_over(
		job: JobId,
		gone: NodeId,
		from: u32,
		exclude: &[NodeId],
	) -> Option<NodeId> {
		let mut replicas = Assignments::<T>::get(job).unwrap_or_default();
		let position = replicas.iter().position(|node| *node == gone)?;
		Self::unbind(gone, job);
		ReplicaStarts::<T>::remove(job, gone);
		let subject = (b"tessera/replace", job, gone).encode();
		let staying: Vec<NodeId> = replicas.iter().copied().filter(|node| *node != gone).collect();
		let replaced = Replacements::<T>::get(job);
		let spec = JobSpecs::<T>::get(job).filter(|_| replaced < T::MaxReplacements::get());
		let by = spec.and_then(|spec| {
			let access = crate::lifecycle::DataAccess::of::<T>(job, &spec);
			let new = *Self::draw_nodes(&subject, 1, NodeRole::Trainer, &staying, |node| {
				Self::eligible(node, &spec, &access) && node != gone && !exclude.contains(&node)
			})
			.first()?;
			access.record_use::<T>(job, new, &spec);
			Replacements::<T>::insert(job, replaced.saturating_add(1));
			Some(new)
		});
		match by {
			Some(new) => {
				replicas[position] = new;
				Self::bind(new, job);
				Self::commit_next(job, new, from);
			}
			None => {
				replicas.remove(position);
			}
		}
		Assignments::<T>::insert(job, replicas);
		by
	}

	/// Takes from `node` the share of its stake that equals its share of the job's budget,
	/// for the requester.
	fn slash_abandonment(node: NodeId, info: &JobInfoOf<T>) -> crate::BalanceOf<T> {
		let share_of_budget =
			info.budget / crate::BalanceOf::<T>::from(u32::from(info.redundancy.max(1)));
		let stake = T::Nodes::stake(node);
		if stake.is_zero() {
			return Zero::zero();
		}
		let share = Perbill::from_rational(share_of_budget.min(stake), stake);
		T::Slasher::slash(node, SlashReason::AbandonedJob(share), Some(info.requester.clone()))
			.unwrap_or_else(|error| {
				log::warn!(target: LOG_TARGET, "node {node} not slashed for abandoning: {error:?}");
				Zero::zero()
			})
	}

	/// `job` ended: nobody takes a seat of it any more, so what replacements resumed from,
	/// and how many there were, is forgotten.
	pub(crate) fn forget_replacements(job: JobId) {
		let _ = ReplicaStarts::<T>::clear_prefix(job, u32::from(u8::MAX), None);
		Replacements::<T>::remove(job);
		LastAgreed::<T>::remove(job);
	}

	/// Where a replacement of `job` resumes: the latest checkpoint (round) on which more than
	/// half of its seats agreed and what they agreed on; `None` from the job's own start.
	pub(crate) fn set_last_agreed(job: JobId, agreed: Option<(u32, TrainedWeights)>) {
		LastAgreed::<T>::set(job, agreed);
	}

	/// Whether `node` trained `job`'s `checkpoint` itself, rather than starting after it as a
	/// replacement.
	pub(crate) fn trained(job: JobId, node: NodeId, checkpoint: u32) -> bool {
		ReplicaStarts::<T>::get(job, node).is_none_or(|(from, _)| checkpoint >= from)
	}
}

impl<T: Config> NodeWorkload for Pallet<T> {
	/// Whether the node has work it must finish or answer for: a replica seat on an open
	/// job, a panel seat, an availability check to report on, an aggregation to submit, or
	/// an aggregate that may still be challenged.
	fn has_open_jobs(node: NodeId) -> bool {
		OpenJobs::<T>::iter_key_prefix(node).next().is_some()
			|| PanelDuties::<T>::iter_key_prefix(node).next().is_some()
			|| AvailabilityDuties::<T>::iter_key_prefix(node).next().is_some()
			|| AggregatorDuties::<T>::iter_key_prefix(node).next().is_some()
			|| AggregatesAtStake::<T>::iter_key_prefix(node).next().is_some()
	}

	fn node_deactivated(node: NodeId) {
		if Deactivated::<T>::try_mutate(|queue| queue.try_push(node)).is_err() {
			log::error!(target: LOG_TARGET, "node {node}: the deactivation queue is full");
		}
	}
}

#[cfg(test)]
pub(crate) mod tests;
