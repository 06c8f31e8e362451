//! Storage migrations of the traps pallet.

use super::pallet::{Config, Pallet};
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

	/// Moves every key of [`MOVED_ITEMS`] from the pallet `Parent` (proof of compute, as the
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
