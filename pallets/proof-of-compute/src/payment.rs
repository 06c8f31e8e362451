//! What a job pays and to whom: the work each node delivered (`Contributions`), credited as
//! its commitments count and debited where content went missing; at a job's end the payout
//! from the budget, by work, to replicas that delivered the agreed result (or participants
//! whose updates went into aggregates), and the refund of the rest.

use crate::{pallet::*, BalanceOf, JobInfoOf, Payout};
use alloc::{collections::BTreeMap, vec::Vec};
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::MutateHold,
			tokens::{Fortitude, Precision, Restriction},
		},
	},
	sp_runtime::{
		traits::{Saturating, Zero},
		FixedPointNumber, FixedU128, Perbill, SaturatedConversion,
	},
};
use tessera_primitives::{
	JobId, JobOutcome, JobState, NodeId, NodeInspect, Outcome, ReputationInspect, ReputationSink,
	SlashReason, Slasher, TrainedWeights,
};

impl<T: Config> Pallet<T> {
	/// Pays the replicas that delivered the agreed result, slashes the others except the
	/// `convicted` (a dispute or a trap slashed them already) and refunds the rest, which it
	/// returns. Called when the challenge window closed unchallenged, when a dispute upheld
	/// a result, or when a trap was sprung.
	pub(crate) fn pay(
		job: JobId,
		mut info: JobInfoOf<T>,
		convicted: &[NodeId],
		end: JobState,
	) -> BalanceOf<T> {
		let mut payouts = Payout::<T>::new();
		let remaining = if info.is_federated() {
			Self::release_last_aggregate(job, &mut info);
			Self::pay_participants(job, &info, convicted, info.budget, &mut payouts)
		} else {
			Self::pay_replicas(job, &info, convicted, &mut payouts)
		};
		let refunded = Self::release_budget(&info.requester, remaining);
		Self::forget_replacements(job);
		Payouts::<T>::insert(job, payouts);
		Self::end(job, &mut info, end);
		Jobs::<T>::insert(job, info);
		Self::deposit_event(Event::JobFinalized { job, refunded });
		refunded
	}

	/// Credits `node` with one more checkpoint of `job` (a round, of a federated job) and the
	/// `work` it took, to be paid when the job is finalized.
	pub(crate) fn credit_work(job: JobId, node: NodeId, work: u64) {
		Contributions::<T>::mutate(job, node, |(checkpoints, total)| {
			*checkpoints = checkpoints.saturating_add(1);
			*total = total.saturating_add(work);
		});
	}

	/// Takes back one checkpoint (or round) of `work` credited to `node`: what it delivered
	/// turned out not to count.
	pub(crate) fn debit_work(job: JobId, node: NodeId, work: u64) {
		Contributions::<T>::mutate(job, node, |(checkpoints, total)| {
			*checkpoints = checkpoints.saturating_sub(1);
			*total = total.saturating_sub(work);
		});
	}

	/// The content of `node`'s `checkpoint` of `job` was found missing: a replica of an open
	/// job is not paid for that checkpoint. The reveal stays, so the replica can still deliver
	/// the rest of its job. A federated job pays an update for the aggregate that averaged it,
	/// which the loss does not undo.
	pub(crate) fn unpay_lost_checkpoint(job: JobId, node: NodeId, checkpoint: u32) {
		let open = Jobs::<T>::get(job).filter(|info| {
			matches!(info.state, JobState::Running | JobState::Accepted | JobState::Disputed)
		});
		if let Some(info) = open.filter(|info| !info.is_federated()) {
			if Reveals::<T>::contains_key((job, node, checkpoint)) {
				Self::debit_work(job, node, info.workload.work_of_checkpoint(checkpoint));
			}
		}
	}

	/// `job` failed: the work credited to its nodes is paid for by nobody.
	pub(crate) fn forget_work(job: JobId) {
		let _ = Contributions::<T>::clear_prefix(job, u32::from(u8::MAX), None);
	}

	/// Removes what `job` paid each node, kept for reading until the job is pruned.
	pub(crate) fn remove_payouts(job: JobId) {
		Payouts::<T>::remove(job);
	}

	/// `node` forfeits all it was credited of `job`.
	pub(crate) fn forfeit_work(job: JobId, node: NodeId) {
		Contributions::<T>::remove(job, node);
	}

	/// Takes the work units credited to each node of `job`, to pay for them.
	pub(crate) fn take_work(job: JobId) -> impl Iterator<Item = (NodeId, u64)> {
		Contributions::<T>::drain_prefix(job).map(|(node, (_, work))| (node, work))
	}

	/// Pays the replicas that delivered the agreed result for the work they delivered and
	/// slashes the others except the `convicted`; returns what is left of the budget.
	fn pay_replicas(
		job: JobId,
		info: &JobInfoOf<T>,
		convicted: &[NodeId],
		payouts: &mut Payout<T>,
	) -> BalanceOf<T> {
		let delivered: BTreeMap<NodeId, u64> = Self::take_work(job).collect();
		let Some(result) = info.result.clone() else { return info.budget };
		let replicas = Assignments::<T>::get(job).unwrap_or_default();
		let final_checkpoint = info.checkpoints.saturating_sub(1);
		let mut earners = Vec::new();
		for node in &replicas {
			let payload = Reveals::<T>::get((job, *node, final_checkpoint));
			// A GPU job's results agree only up to rounding: whoever revealed one and was not
			// convicted survived a unanimous vote or a dispute's measure.
			let agreed = payload.as_ref().is_some_and(|payload| {
				payload.backend_class == info.workload.backend
					&& (Self::measured(info)
						|| payload.weights_digest == result.weights_digest
							&& payload.state_cid == result.state_cid)
			});
			Self::unbind(*node, job);
			if convicted.contains(node) {
				continue;
			}
			if !agreed {
				// An unknown node (deregistered meanwhile) has nothing left to take.
				let amount = T::Slasher::slash(*node, SlashReason::FailedVerification, None)
					.unwrap_or_else(|_| Zero::zero());
				T::Reputation::report(
					*node,
					if payload.is_some() { Outcome::ProofFailed } else { Outcome::JobFailed },
				);
				Self::deposit_event(Event::ReplicaSlashed { job, node: *node, amount });
				continue;
			}
			earners.push((*node, delivered.get(node).copied().unwrap_or_default()));
		}
		Self::pay_for_work(job, info, &earners, info.budget, payouts)
	}

	/// Pays each of `earners` for the work units it delivered, at
	/// [`Config::RewardPerMillionWorkUnits`] times its reputation multiplier clamped to
	/// [0.1, 2.0], out of `budget`; when the budget cannot cover every reward, each is scaled
	/// by the same fraction. Returns what is left of `budget`.
	pub(crate) fn pay_for_work(
		job: JobId,
		info: &JobInfoOf<T>,
		earners: &[(NodeId, u64)],
		budget: BalanceOf<T>,
		payouts: &mut Payout<T>,
	) -> BalanceOf<T> {
		let (least, most) = (FixedU128::from_rational(1, 10), FixedU128::from_u32(2));
		let earned: Vec<(NodeId, BalanceOf<T>)> = earners
			.iter()
			.map(|(node, work)| {
				let base = T::RewardPerMillionWorkUnits::get()
					.saturating_mul((*work).saturated_into())
					/ 1_000_000u32.into();
				let multiplier = T::Reputation::reward_multiplier(*node).clamp(least, most);
				(*node, multiplier.saturating_mul_int(base))
			})
			.collect();
		let total = earned
			.iter()
			.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(*amount));
		let scale =
			if total > budget { Perbill::from_rational(budget, total) } else { Perbill::one() };
		let mut remaining = budget;
		for (node, amount) in earned {
			let paid = Self::reward(job, info, node, scale.mul_floor(amount).min(remaining));
			remaining = remaining.saturating_sub(paid);
			let _ = payouts.try_push((node, paid));
		}
		remaining
	}

	/// Pays `node`'s owner `amount` from the job's budget and reports the job done.
	fn reward(job: JobId, info: &JobInfoOf<T>, node: NodeId, amount: BalanceOf<T>) -> BalanceOf<T> {
		let Some(owner) = T::Nodes::owner(node) else { return Zero::zero() };
		let paid = Self::transfer_from_budget(info, &owner, amount);
		T::Reputation::report(node, Outcome::ProofPassed);
		T::Reputation::report(node, Outcome::JobCompleted);
		Self::deposit_event(Event::RewardPaid { job, node, owner, amount: paid });
		paid
	}

	/// Pays `amount` to the owner of `node` from the job's budget, which shrinks by what
	/// was paid.
	pub(crate) fn pay_from_budget(
		info: &mut JobInfoOf<T>,
		node: NodeId,
		amount: BalanceOf<T>,
	) -> BalanceOf<T> {
		let Some(owner) = T::Nodes::owner(node) else { return Zero::zero() };
		let paid = Self::transfer_from_budget(info, &owner, amount.min(info.budget));
		info.budget = info.budget.saturating_sub(paid);
		paid
	}

	fn transfer_from_budget(
		info: &JobInfoOf<T>,
		to: &T::AccountId,
		amount: BalanceOf<T>,
	) -> BalanceOf<T> {
		T::Currency::transfer_on_hold(
			&HoldReason::JobBudget.into(),
			&info.requester,
			to,
			amount,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Polite,
		)
		.unwrap_or_else(|_| Zero::zero())
	}

	/// Pays `job` as [`Self::pay`] does and hands its result to the job's owner (the model
	/// registry).
	pub(crate) fn pay_and_deliver(
		job: JobId,
		info: JobInfoOf<T>,
		convicted: &[NodeId],
		end: JobState,
	) {
		let Some(result) = info.result.clone() else { return };
		Self::pay(job, info, convicted, end);
		T::Outcome::finalized(
			job,
			&TrainedWeights { weights: result.state_cid, digest: result.weights_digest },
		);
	}

	pub(crate) fn release_budget(who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		T::Currency::release(&HoldReason::JobBudget.into(), who, amount, Precision::BestEffort)
			.unwrap_or_else(|_| Zero::zero())
	}
}
