//! Data availability (SPEC §5): a node must serve the content behind what it revealed — the
//! training state of each checkpoint — while the job is open and for [`Config::Retention`]
//! blocks after it ends. A share of reveals ([`Config::AvailabilitySample`]) is checked
//! unasked, and anyone may ask for a check. A validator drawn by randomness has its trainer
//! fetch the content from the node's endpoint (the trainer verifies it against the CID) and
//! proves it within [`Config::AvailabilityWindow`] blocks. Without proof the node is slashed
//! 1%, 1.5%, 2% or 3% of its stake by reputation tier (excellent → new), the reputation
//! pallet takes a tenth of its score, and the reveal no longer counts: a replica whose final
//! state is gone is not paid for it.

use crate::{pallet::*, types::*, weights::WeightInfo, LOG_TARGET};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{ensure, pallet_prelude::*, traits::Randomness},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_runtime::{
		traits::{Saturating, Zero},
		Perbill,
	},
};
use tessera_primitives::{
	JobId, JobState, NodeId, NodeInspect, NodeRole, ReputationInspect, SlashReason, Slasher,
	TrustTier,
};

impl<T: Config> Pallet<T> {
	pub(crate) fn do_challenge_availability(
		job: JobId,
		node: NodeId,
		checkpoint: u32,
	) -> DispatchResult {
		let info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		let payload =
			Reveals::<T>::get((job, node, checkpoint)).ok_or(Error::<T>::NothingCommitted)?;
		let now = frame_system::Pallet::<T>::block_number();
		let retained =
			info.ended.is_none_or(|ended| now < ended.saturating_add(T::Retention::get()));
		ensure!(retained, Error::<T>::PastRetention);
		ensure!(!CheckOf::<T>::contains_key((job, node, checkpoint)), Error::<T>::AlreadyChecking);
		Self::open_availability_check(job, node, checkpoint, payload.state_cid)
	}

	/// Draws a validator (never a node of an owner of one of the job's replicas) to fetch
	/// `cid` and opens the check.
	pub(crate) fn open_availability_check(
		job: JobId,
		node: NodeId,
		checkpoint: u32,
		cid: tessera_primitives::Cid,
	) -> DispatchResult {
		let check = NextAvailabilityCheck::<T>::get();
		let subject = (b"tessera/availability", check).encode();
		let mut seated = Assignments::<T>::get(job).unwrap_or_default().into_inner();
		seated.push(node);
		let validator = Self::draw_nodes(&subject, 1, &seated, |candidate| {
			T::Nodes::is_active(candidate) && T::Nodes::has_role(candidate, NodeRole::Validator)
		})
		.first()
		.copied()
		.ok_or(Error::<T>::NoValidator)?;
		let deadline =
			frame_system::Pallet::<T>::block_number().saturating_add(T::AvailabilityWindow::get());
		// Checked one block after the deadline, so that a proof in the deadline's block counts.
		AvailabilityDue::<T>::try_mutate(deadline.saturating_add(1u32.into()), |due| {
			due.try_push(check)
		})
		.map_err(|_| Error::<T>::TooManyDue)?;
		NextAvailabilityCheck::<T>::put(check.saturating_add(1));
		CheckOf::<T>::insert((job, node, checkpoint), check);
		AvailabilityDuties::<T>::insert(validator, check, ());
		AvailabilityChecks::<T>::insert(
			check,
			AvailabilityCheck { job, node, checkpoint, cid, validator, deadline },
		);
		Self::deposit_event(Event::AvailabilityChecked {
			check,
			job,
			node,
			checkpoint,
			validator,
			deadline,
		});
		Ok(())
	}

	/// Checks `payload`'s state unasked with probability [`Config::AvailabilitySample`],
	/// drawn from randomness the node did not know when it committed.
	pub(crate) fn sample_availability(payload: &tessera_primitives::CommitmentPayload) {
		let subject =
			(b"tessera/availability-sample", payload.job, payload.node, payload.checkpoint);
		let (seed, _) = T::Randomness::random(&subject.encode());
		let draw = u32::from_le_bytes(seed.as_ref()[..4].try_into().unwrap_or_default());
		let sampled = Perbill::from_parts(draw % 1_000_000_000) < T::AvailabilitySample::get();
		if sampled && !CheckOf::<T>::contains_key((payload.job, payload.node, payload.checkpoint)) {
			let opened = Self::open_availability_check(
				payload.job,
				payload.node,
				payload.checkpoint,
				payload.state_cid.clone(),
			);
			if let Err(error) = opened {
				log::debug!(target: LOG_TARGET, "job {}: no availability check: {error:?}", payload.job);
			}
		}
	}

	pub(crate) fn check_availability_proof(
		proof: &AvailabilityProof,
	) -> Result<AvailabilityCheck<BlockNumberFor<T>>, TransactionValidityError> {
		let check = AvailabilityChecks::<T>::get(proof.check).ok_or(InvalidTransaction::Stale)?;
		if check.validator != proof.validator {
			return Err(InvalidTransaction::BadSigner.into());
		}
		if frame_system::Pallet::<T>::block_number() > check.deadline {
			return Err(InvalidTransaction::Stale.into());
		}
		Ok(check)
	}

	pub(crate) fn do_availability_proven(proof: AvailabilityProof) -> DispatchResult {
		let check = Self::check_availability_proof(&proof).map_err(|_| Error::<T>::WrongState)?;
		Self::close_availability_check(proof.check, &check);
		Self::deposit_event(Event::AvailabilityProven { check: proof.check });
		Ok(())
	}

	fn close_availability_check(id: u64, check: &AvailabilityCheck<BlockNumberFor<T>>) {
		AvailabilityChecks::<T>::remove(id);
		CheckOf::<T>::remove((check.job, check.node, check.checkpoint));
		AvailabilityDuties::<T>::remove(check.validator, id);
	}

	/// Checks whose window closed without proof: the node is slashed by its tier and its
	/// reveal no longer counts while the job is open.
	pub(crate) fn expire_availability_checks(now: BlockNumberFor<T>) -> Weight {
		let due = AvailabilityDue::<T>::take(now);
		let mut weight = T::DbWeight::get().reads_writes(1, 1);
		for id in due {
			let Some(check) = AvailabilityChecks::<T>::get(id) else { continue };
			weight.saturating_accrue(T::WeightInfo::availability_expired());
			Self::close_availability_check(id, &check);
			let share = match T::Reputation::tier(check.node) {
				TrustTier::Excellent => Perbill::from_percent(1),
				TrustTier::Trusted => Perbill::from_rational(15u32, 1_000),
				TrustTier::Developing => Perbill::from_percent(2),
				TrustTier::New => Perbill::from_percent(3),
			};
			let slashed = T::Slasher::slash(check.node, SlashReason::DataUnavailable(share), None)
				.unwrap_or_else(|_| Zero::zero());
			let open = Jobs::<T>::get(check.job).filter(|info| {
				matches!(info.state, JobState::Running | JobState::Accepted | JobState::Disputed)
			});
			if let Some(info) = open {
				// Without its commit the reveal cannot be sent again either, and a checkpoint
				// whose content is gone is not paid for.
				let key = (check.job, check.node, check.checkpoint);
				let revealed = Reveals::<T>::take(key).is_some();
				Commits::<T>::remove(key);
				if revealed && !Federations::<T>::contains_key(check.job) {
					let work = info.spec.work_of_checkpoint(check.checkpoint);
					Contributions::<T>::mutate(check.job, check.node, |(checkpoints, total)| {
						*checkpoints = checkpoints.saturating_sub(1);
						*total = total.saturating_sub(work);
					});
				}
			}
			Self::deposit_event(Event::AvailabilityFailed { check: id, node: check.node, slashed });
		}
		weight
	}
}

#[cfg(test)]
mod tests;
