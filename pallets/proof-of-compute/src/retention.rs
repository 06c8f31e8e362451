//! What a job leaves on chain, and who pays for it. Creating a job holds a storage deposit
//! from the requester ([`Config::JobDepositBase`], 0.1 TSRA, and
//! [`Config::JobDepositPerByte`], 10 µTSRA a byte, for the most the job can make the chain
//! store: its spec, and a commit and a reveal of every checkpoint by every replica). A job
//! that ended stays readable — and its content must stay available — for
//! [`Config::Retention`] (1 000) blocks; then its due block marks it [`Prunable`], and
//! `on_idle` removes its storage, at most [`PRUNE_BATCH`] entries of a map per step and only
//! with the weight a block leaves over, and returns the deposit ([`Event::JobPruned`]).

use crate::{pallet::*, weights::WeightInfo, BalanceOf, JobInfoOf, TrapHooks, LOG_TARGET};
use codec::{Encode, MaxEncodedLen};
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{fungible::MutateHold, tokens::Precision},
	},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_core::H256,
	sp_runtime::{
		traits::{Saturating, Zero},
		SaturatedConversion,
	},
};
use tessera_primitives::{CommitmentPayload, JobId, JobSpec};

/// Entries of one storage map one pruning step removes at most.
pub const PRUNE_BATCH: u32 = 256;

impl<T: Config> Pallet<T> {
	/// The deposit a job of `spec` for `redundancy` replicas over `checkpoints` holds.
	pub(crate) fn job_deposit(spec: &JobSpec, redundancy: u8, checkpoints: u32) -> BalanceOf<T> {
		let per_checkpoint =
			(H256::max_encoded_len() + CommitmentPayload::max_encoded_len()) as u64;
		let bytes = (spec.encoded_size() as u64).saturating_add(
			per_checkpoint
				.saturating_mul(u64::from(redundancy))
				.saturating_mul(u64::from(checkpoints)),
		);
		T::JobDepositBase::get()
			.saturating_add(T::JobDepositPerByte::get().saturating_mul(bytes.saturated_into()))
	}

	/// Marks `info`'s job prunable once its retention is over.
	pub(crate) fn mark_prunable(job: JobId, info: &JobInfoOf<T>, now: BlockNumberFor<T>) {
		if info.ended.is_some_and(|ended| ended.saturating_add(T::Retention::get()) <= now) {
			Prunable::<T>::insert(job, ());
		}
	}

	/// Prunes what `remaining` weight allows, one step after another.
	pub(crate) fn prune_idle(remaining: Weight) -> Weight {
		let step = T::WeightInfo::prune_job().saturating_add(T::DbWeight::get().reads(1));
		let mut used = Weight::zero();
		while used.saturating_add(step).all_lte(remaining) {
			let Some(job) = Prunable::<T>::iter_keys().next() else { break };
			used.saturating_accrue(step);
			if !Self::prune_step(job) {
				// More next block: what was cleared now is only gone once the block is.
				break;
			}
		}
		used
	}

	/// Has each owner of `job`'s storage maps remove up to [`PRUNE_BATCH`] of their entries
	/// (the traps pallet through [`Config::Traps`]); once none is left, the job itself, and
	/// returns its deposit. Whether the job is gone.
	pub(crate) fn prune_step(job: JobId) -> bool {
		// Every owner clears a batch each step, so that no map waits for another's.
		let done = [
			T::Traps::on_pruned(job, PRUNE_BATCH),
			Self::clear_commitments(job, PRUNE_BATCH),
			Self::clear_lost_content(job, PRUNE_BATCH),
			Self::clear_rounds(job, PRUNE_BATCH),
		];
		if !done.iter().all(|done| *done) {
			return false;
		}
		Prunable::<T>::remove(job);
		Self::remove_federation(job);
		Self::remove_payouts(job);
		let Some(info) = Self::remove_job(job) else { return true };
		let deposit = T::Currency::release(
			&HoldReason::JobDeposit.into(),
			&info.requester,
			info.deposit,
			Precision::BestEffort,
		)
		.unwrap_or_else(|error| {
			log::error!(target: LOG_TARGET, "job {job}: the deposit was not released: {error:?}");
			Zero::zero()
		});
		Self::deposit_event(Event::JobPruned { job, deposit });
		true
	}
}

impl<T: Config> Pallet<T> {
	/// Invariants of retention: every requester's deposit hold is the deposits of their
	/// stored jobs, and only jobs past their retention are prunable.
	#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
	pub(crate) fn retention_invariants() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		use alloc::collections::BTreeMap;
		use polkadot_sdk::frame_support::traits::fungible::InspectHold;
		let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
		let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (job, info) in Jobs::<T>::iter() {
			ensure!(JobSpecs::<T>::contains_key(job), "a job without its spec");
			let entry = deposits.entry(info.requester.clone()).or_insert_with(Zero::zero);
			*entry = entry.saturating_add(info.deposit);
		}
		for (requester, deposit) in deposits {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::JobDeposit.into(), &requester) == deposit,
				"a requester's deposit hold is not their jobs' deposits"
			);
		}
		for job in JobSpecs::<T>::iter_keys() {
			ensure!(Jobs::<T>::contains_key(job), "a spec of a job that is gone");
		}
		for job in Prunable::<T>::iter_keys() {
			let ended = Jobs::<T>::get(job).and_then(|info| info.ended);
			ensure!(
				ended.is_none_or(|ended| ended.saturating_add(T::Retention::get()) <= now),
				"a job marked prunable before its retention is over"
			);
		}
		Ok(())
	}
}

#[cfg(test)]
pub(crate) mod tests;
