//! Storage migrations of the traps pallet.

use super::pallet::{Config, Pallet, PostedTraps, SpentTraps, TrapConfirmations, TrapTally};
use core::marker::PhantomData;
use frame_support::{
	migrations::VersionedMigration,
	storage::{migration::move_storage_from_pallet, storage_prefix, unhashed, KeyPrefixIterator},
	traits::{Get, PalletInfoAccess, UncheckedOnRuntimeUpgrade},
	weights::Weight,
};
use polkadot_sdk::frame_support;

/// Version 1: the traps' storage leaves proof of compute's prefix for this pallet's own.
///
/// Traps were part of the proof-of-compute pallet, under its name, until they became their
/// own pallet; a chain upgraded in place would otherwise find no seal, no confirmation and no
/// tally under the new name, and lose the traps set so far. The items keep their names and
/// encodings, so moving their keys is the whole migration. How many keys it moves is bounded
/// by what the trap rate let approvers seal, and the seals that lapsed are pruned by the
/// `on_idle` scan: one block carries it.
pub mod v1 {
	use super::*;

	/// The storage items that moved, by name.
	pub(crate) const MOVED_ITEMS: [&str; 5] =
		["TrapSeals", "TrapConfirmations", "TrapSealCursor", "TrapRate", "TrapTally"];

	/// Moves every key of `MOVED_ITEMS` from the pallet `Parent` (proof of compute, as the
	/// runtime names it) to this pallet; run through [`MoveFromParent`], once.
	pub struct UncheckedMoveFromParent<T, Parent>(PhantomData<(T, Parent)>);

	impl<T: Config, Parent: PalletInfoAccess> UncheckedOnRuntimeUpgrade
		for UncheckedMoveFromParent<T, Parent>
	{
		fn on_runtime_upgrade() -> Weight {
			let (from, to) = (Parent::name().as_bytes(), Pallet::<T>::name().as_bytes());
			let mut moved = 0u64;
			for item in MOVED_ITEMS {
				moved = moved.saturating_add(keys_of(from, item));
				move_storage_from_pallet(item.as_bytes(), from, to);
			}
			// Each key is read once to count it and once to move it, written under the new
			// prefix and removed from the old.
			T::DbWeight::get().reads_writes(moved.saturating_mul(2), moved.saturating_mul(2))
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
			let counts: alloc::vec::Vec<u64> =
				MOVED_ITEMS.iter().map(|item| keys_of(Parent::name().as_bytes(), item)).collect();
			Ok(codec::Encode::encode(&counts))
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(
			state: alloc::vec::Vec<u8>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			let before: alloc::vec::Vec<u64> = codec::Decode::decode(&mut &state[..])
				.map_err(|_| "the pre-upgrade counts do not decode")?;
			for (item, count) in MOVED_ITEMS.iter().zip(before) {
				frame_support::ensure!(
					keys_of(Pallet::<T>::name().as_bytes(), item) == count,
					"a trap item lost keys in the move"
				);
				frame_support::ensure!(
					keys_of(Parent::name().as_bytes(), item) == 0,
					"a trap item left keys under proof of compute"
				);
			}
			Ok(())
		}
	}

	/// [`UncheckedMoveFromParent`] run when the traps pallet's storage version is 0, which
	/// it then sets to 1. A chain whose genesis already had the traps pallet starts at 1
	/// and skips it.
	pub type MoveFromParent<T, Parent> = VersionedMigration<
		0,
		1,
		UncheckedMoveFromParent<T, Parent>,
		Pallet<T>,
		<T as polkadot_sdk::frame_system::Config>::DbWeight,
	>;

	/// How many keys the storage item `item` of the pallet `pallet` has: a value's one key
	/// is its prefix, a map's keys follow it.
	pub(crate) fn keys_of(pallet: &[u8], item: &str) -> u64 {
		let prefix = storage_prefix(pallet, item.as_bytes());
		let value = u64::from(unhashed::exists(&prefix));
		let entries = KeyPrefixIterator::new(prefix.to_vec(), prefix.to_vec(), |_| Ok(())).count();
		value.saturating_add(entries as u64)
	}
}

/// Version 2: traps come from the vault and are posted by the chain.
///
/// Until version 2 an approver sealed the answer to a job id (`TrapSeals`, scanned for lapsed
/// seals from `TrapSealCursor`) and posted the job itself; a trap sprang on the quorum's
/// confirmations, and `TrapTally` counted seals. Seals of that kind name a job nobody can now
/// post as a trap, so they are removed, with the confirmations made of them, and the tally
/// counts traps posted from the vault, none yet. How many keys it removes is bounded by what
/// the trap rate let approvers seal: one block carries it.
pub mod v2 {
	use super::*;
	use frame_support::{storage_alias, Identity};
	use polkadot_sdk::{frame_system::pallet_prelude::BlockNumberFor, sp_core::H256};

	/// Version 1's seals: who sealed each, and when.
	#[storage_alias]
	pub(crate) type TrapSeals<T: Config> = StorageMap<
		Pallet<T>,
		Identity,
		H256,
		(<T as polkadot_sdk::frame_system::Config>::AccountId, BlockNumberFor<T>),
	>;

	/// Version 1's cursor of the scan for lapsed seals.
	#[storage_alias]
	pub(crate) type TrapSealCursor<T: Config> = StorageValue<Pallet<T>, H256>;

	/// Removes version 1's seals, cursor and confirmations, and restarts the tally of traps
	/// posted; run through [`FromTheVault`], once.
	pub struct UncheckedFromTheVault<T>(PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedFromTheVault<T> {
		fn on_runtime_upgrade() -> Weight {
			let seals = TrapSeals::<T>::clear(u32::MAX, None).unique;
			let confirmations = TrapConfirmations::<T>::clear(u32::MAX, None).unique;
			TrapSealCursor::<T>::kill();
			TrapTally::<T>::mutate(|(_, posted)| *posted = 0);
			let removed = u64::from(seals.saturating_add(confirmations));
			T::DbWeight::get().reads_writes(removed.saturating_add(1), removed.saturating_add(2))
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(
			_: alloc::vec::Vec<u8>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			frame_support::ensure!(
				TrapSeals::<T>::iter_keys().next().is_none()
					&& TrapConfirmations::<T>::iter_keys().next().is_none()
					&& !TrapSealCursor::<T>::exists(),
				"a seal, confirmation or cursor of version 1 is left"
			);
			Ok(())
		}
	}

	/// [`UncheckedFromTheVault`] run when the traps pallet's storage version is 1, which it
	/// then sets to 2.
	pub type FromTheVault<T> = VersionedMigration<
		1,
		2,
		UncheckedFromTheVault<T>,
		Pallet<T>,
		<T as polkadot_sdk::frame_system::Config>::DbWeight,
	>;
}

/// Version 3: the training of every trap posted is spent ([`SpentTraps`]), so that no task of
/// the same spec and seed is stocked again once its answer is public.
///
/// Traps posted before version 3 and still stored ([`PostedTraps`], until their job is pruned)
/// are marked spent from their task; those already pruned cannot be told any more, since their
/// spec is gone with them. One entry per trap kept, bounded by the trap rate: one block
/// carries it.
pub mod v3 {
	use super::*;
	use crate::traits::TrapJobs;

	/// Marks the training of every stored posted trap spent; run through [`SpendPosted`],
	/// once.
	pub struct UncheckedSpendPosted<T>(PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedSpendPosted<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut posted = 0u64;
			for (_, sealed) in PostedTraps::<T>::iter() {
				posted = posted.saturating_add(1);
				if let Some(run) = T::Jobs::trap_run(sealed.task) {
					SpentTraps::<T>::insert(run.spec_hash, ());
				}
			}
			// Each trap and its re-run job's spec read, its training written.
			T::DbWeight::get().reads_writes(posted.saturating_mul(2), posted)
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(
			_: alloc::vec::Vec<u8>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			for (_, sealed) in PostedTraps::<T>::iter() {
				frame_support::ensure!(
					T::Jobs::trap_run(sealed.task)
						.is_none_or(|run| SpentTraps::<T>::contains_key(run.spec_hash)),
					"a posted trap whose training is not spent"
				);
			}
			Ok(())
		}
	}

	/// [`UncheckedSpendPosted`] run when the traps pallet's storage version is 2, which it
	/// then sets to 3.
	pub type SpendPosted<T> = VersionedMigration<
		2,
		3,
		UncheckedSpendPosted<T>,
		Pallet<T>,
		<T as polkadot_sdk::frame_system::Config>::DbWeight,
	>;
}
