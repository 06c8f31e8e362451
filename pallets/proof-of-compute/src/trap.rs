//! Trap jobs (SPEC §5): a trap is a re-run, with a fresh seed, of a job already verified.
//! Members of the model registry's approver set each re-run it on the reference backend and
//! seal the final weights digest they got with [`Pallet::seal_trap`]
//! (`blake2_256((job, digest, salt))`, with a salt of their own); the seal names no job, so
//! trainers cannot tell, and it is set before the job's replicas are chosen. The job is
//! posted with `create_job` like any other, from any account (approvers need not show their
//! own), and its trainers see an ordinary job. Once the job is accepted each setter reveals
//! its own seal with [`Pallet::reveal_trap`] ([`Event::TrapConfirmed`]); when
//! [`Config::TrapQuorum`] setters (as many as a proposal needs approvals,
//! `ApprovalThreshold`: 1 on the dev chain) named the same answer the trap springs
//! ([`Event::TrapSprung`]): replicas that answered otherwise lose their whole stake (and the
//! node registry deactivates them), the rest are paid as usual, the result reaches no model,
//! and the treasury pays the job's requester back what the job cost, once. No one setter's
//! word slashes anybody: a trap rests on the quorum being honest, as the model registry's
//! approvals do.
//!
//! Seals are bounded by [`TrapRate`] ([`Config::DefaultTrapRate`], 1% of assignments, plus
//! one trap, each of a quorum of seals; root sets another with [`Pallet::set_trap_rate`]).
//! A seal nobody reveals lapses twice [`Config::MaxJobDuration`] blocks after it was set,
//! and `on_idle` removes it, [`SEAL_SCAN_BATCH`] seals looked at a block; confirmations of a
//! trap that never sprang are pruned with its job.
//!
//! Not built yet: traps posted by the chain itself from a vault of sealed tasks, so that the
//! requester's account cannot mark a job either.

use crate::{pallet::*, types::*, BalanceOf, LOG_TARGET};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{
		ensure,
		pallet_prelude::*,
		traits::{fungible::Mutate, tokens::Preservation},
	},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::H256,
	sp_runtime::traits::{Saturating, Zero},
};
use tessera_primitives::{JobId, JobState, Outcome, ReputationSink, SlashReason, Slasher};

/// Seals one `on_idle` step of the scan for lapsed seals looks at, at most.
pub const SEAL_SCAN_BATCH: u32 = 64;

/// The seal of answer `expected` to trap job `job`, salted with `salt`.
pub fn trap_seal(job: JobId, expected: &H256, salt: &[u8; 32]) -> H256 {
	H256(polkadot_sdk::sp_io::hashing::blake2_256(&(job, expected, salt).encode()))
}

impl<T: Config> Pallet<T> {
	/// The block a seal set at `sealed_at` lapses in: twice [`Config::MaxJobDuration`] later,
	/// so that a trap job posted when it was sealed has been assigned, has run to its
	/// deadline and has been accepted by then.
	pub(crate) fn seal_lapses_at(sealed_at: BlockNumberFor<T>) -> BlockNumberFor<T> {
		sealed_at.saturating_add(T::MaxJobDuration::get().saturating_mul(2u32.into()))
	}

	/// Looks at up to [`SEAL_SCAN_BATCH`] seals from where the last scan stopped and removes
	/// those that lapsed, if `remaining` pays for a whole step.
	pub(crate) fn prune_lapsed_seals(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
		let batch = u64::from(SEAL_SCAN_BATCH);
		// The cursor and every seal looked at are read; each removed seal and the cursor
		// written.
		let step =
			T::DbWeight::get().reads_writes(batch.saturating_add(1), batch.saturating_add(1));
		if !step.all_lte(remaining) {
			return Weight::zero();
		}
		let mut seals = match TrapSealCursor::<T>::get() {
			Some(last) => TrapSeals::<T>::iter_from(TrapSeals::<T>::hashed_key_for(last)),
			None => TrapSeals::<T>::iter(),
		};
		let (mut seen, mut last, mut lapsed) = (0u32, None, Vec::new());
		while seen < SEAL_SCAN_BATCH {
			let Some((seal, (_, sealed_at))) = seals.next() else { break };
			seen += 1;
			last = Some(seal);
			if Self::seal_lapses_at(sealed_at) <= now {
				lapsed.push(seal);
			}
		}
		match last.filter(|_| seen == SEAL_SCAN_BATCH) {
			Some(last) => TrapSealCursor::<T>::put(last),
			None => TrapSealCursor::<T>::kill(),
		}
		let removed = lapsed.len() as u64;
		for seal in lapsed {
			TrapSeals::<T>::remove(seal);
			Self::deposit_event(Event::TrapSealLapsed { seal });
		}
		T::DbWeight::get()
			.reads_writes(u64::from(seen).saturating_add(1), removed.saturating_add(1))
	}

	pub(crate) fn do_seal_trap(setter: T::AccountId, seal: H256) -> DispatchResult {
		ensure!(!TrapSeals::<T>::contains_key(seal), Error::<T>::DuplicateTrap);
		let (assigned, seals) = TrapTally::<T>::get();
		// Each trap takes a quorum of seals: the rate bounds traps, not seals.
		let traps_allowed = TrapRate::<T>::get().mul_floor(assigned).saturating_add(1);
		ensure!(
			seals < traps_allowed.saturating_mul(T::TrapQuorum::get().max(1).into()),
			Error::<T>::TooManyTraps
		);
		TrapSeals::<T>::insert(seal, (setter, frame_system::Pallet::<T>::block_number()));
		TrapTally::<T>::put((assigned, seals.saturating_add(1)));
		Self::deposit_event(Event::TrapSealed { seal });
		Ok(())
	}

	pub(crate) fn do_reveal_trap(
		caller: T::AccountId,
		job: JobId,
		expected: H256,
		salt: [u8; 32],
	) -> DispatchResult {
		let seal = trap_seal(job, &expected, &salt);
		let (setter, sealed_at) = TrapSeals::<T>::get(seal).ok_or(Error::<T>::NotATrap)?;
		ensure!(setter == caller, Error::<T>::NotATrap);
		let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		// Replicas are chosen at the start of a block: a seal of that block came after them.
		ensure!(info.assigned.is_some_and(|assigned| sealed_at < assigned), Error::<T>::LateSeal);
		ensure!(
			frame_system::Pallet::<T>::block_number() < Self::seal_lapses_at(sealed_at),
			Error::<T>::SealLapsed
		);
		ensure!(info.state == JobState::Accepted, Error::<T>::WrongState);
		let mut confirmations = TrapConfirmations::<T>::get(job, expected);
		ensure!(!confirmations.contains(&setter), Error::<T>::AlreadyConfirmed);
		confirmations.try_push(setter).map_err(|_| Error::<T>::AlreadyConfirmed)?;
		TrapSeals::<T>::remove(seal);
		let count = confirmations.len() as u32;
		Self::deposit_event(Event::TrapConfirmed { job, expected, confirmations: count });
		if count < T::TrapQuorum::get().max(1) {
			TrapConfirmations::<T>::insert(job, expected, confirmations);
			return Ok(());
		}
		let _ = TrapConfirmations::<T>::clear_prefix(job, MAX_TRAP_SETTERS, None);

		let last = info.checkpoints.saturating_sub(1);
		let mut caught = Vec::new();
		// The state the accepted majority named, if it got the trap right; otherwise the
		// first right replica's. Payment holds replicas to the digest and state together.
		let mut state_cid = info
			.result
			.as_ref()
			.filter(|result| result.weights_digest == expected)
			.map(|result| result.state_cid.clone());
		for node in Assignments::<T>::get(job).unwrap_or_default() {
			match Reveals::<T>::get((job, node, last)) {
				Some(payload) if payload.weights_digest == expected => {
					state_cid.get_or_insert(payload.state_cid);
				}
				_ => {
					let reason = SlashReason::TrapFailure;
					let amount =
						T::Slasher::slash(node, reason, None).unwrap_or_else(|_| Zero::zero());
					T::Reputation::report(node, Outcome::ProofFailed);
					Self::deposit_event(Event::ReplicaConvicted { job, node, reason, amount });
					caught.push(node);
				}
			}
		}
		info.result = Some(AgreedResult {
			weights_digest: expected,
			state_cid: state_cid.unwrap_or_default(),
			challenge_ends: frame_system::Pallet::<T>::block_number(),
		});
		let (budget, requester) = (info.budget, info.requester.clone());
		let refunded = Self::pay(job, info, &caught, JobState::Finalized);
		Self::reimburse(job, &requester, budget.saturating_sub(refunded));
		Self::deposit_event(Event::TrapSprung { job, expected, caught: caught.len() as u32 });
		Ok(())
	}

	fn reimburse(job: JobId, requester: &T::AccountId, cost: BalanceOf<T>) {
		if cost.is_zero() {
			return;
		}
		if let Err(error) =
			T::Currency::transfer(&T::Treasury::get(), requester, cost, Preservation::Preserve)
		{
			log::error!(target: LOG_TARGET, "trap {job}: the treasury did not pay back: {error:?}");
		}
	}
}

#[cfg(test)]
mod tests;
