//! Randomness that nobody can predict before it is used, from the relay chain.
//!
//! Every parachain block carries a proof of the relay parent's state; the collator includes
//! the relay chain's BABE randomness in it (`CURRENT_BLOCK_RANDOMNESS`, the VRF output of
//! the relay parent's author). What it is cannot be known before that relay block exists,
//! and its bias is limited to what a relay block author (publish or withhold a block) and
//! a collator (choose among its few possible relay parents) can do. A `--dev` chain mocks
//! the relay state without block randomness; there the parent block hash stands in, which
//! the single dev block author could predict.

use cumulus_pallet_parachain_system::{RelayChainStateProof, RelayStateProof, ValidationData};
use frame_support::traits::Randomness;
use polkadot_sdk::*;
use sp_runtime::traits::{BlakeTwo256, Hash as _};

use crate::{BlockNumber, Hash, ParachainInfo, Runtime, System};

/// [`Randomness`] from the relay parent's BABE randomness, with the parent block hash as the
/// fallback of chains without a relay chain.
pub struct RelayChainRandomness;

impl RelayChainRandomness {
	/// The relay parent's block randomness, from this block's relay state proof. Absent in
	/// blocks whose inherent has not run yet and on chains that mock the relay chain.
	fn relay_block_randomness() -> Option<[u8; 32]> {
		let validation = ValidationData::<Runtime>::get()?;
		let proof = RelayStateProof::<Runtime>::get()?;
		let relay_state = RelayChainStateProof::new(
			ParachainInfo::parachain_id(),
			validation.relay_parent_storage_root,
			proof,
		)
		.ok()?;
		relay_state
			.read_optional_entry::<Option<[u8; 32]>>(
				cumulus_primitives_core::relay_chain::well_known_keys::CURRENT_BLOCK_RANDOMNESS,
			)
			.ok()
			.flatten()
			.flatten()
	}
}

impl Randomness<Hash, BlockNumber> for RelayChainRandomness {
	fn random(subject: &[u8]) -> (Hash, BlockNumber) {
		let seed = Self::relay_block_randomness()
			.unwrap_or_else(|| System::parent_hash().to_fixed_bytes());
		(BlakeTwo256::hash_of(&(subject, seed)), System::block_number())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{genesis_config_presets::PARACHAIN_ID, ParachainSystem};
	use codec::Encode;
	use cumulus_primitives_core::{relay_chain::well_known_keys, PersistedValidationData};
	use cumulus_test_relay_sproof_builder::RelayStateSproofBuilder;
	use frame_support::traits::Hooks;
	use sp_runtime::BuildStorage;

	const SUBJECT: &[u8] = b"tessera/assign";

	/// A parachain block after its inherent: the relay parent's state proof, carrying
	/// `randomness` as the relay chain's current block randomness, is in storage.
	fn after_the_inherent(randomness: [u8; 32], test: impl FnOnce()) {
		let mut storage =
			frame_system::GenesisConfig::<Runtime>::default().build_storage().unwrap();
		staging_parachain_info::GenesisConfig::<Runtime> {
			parachain_id: PARACHAIN_ID.into(),
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		sp_io::TestExternalities::new(storage).execute_with(|| {
			let mut builder =
				RelayStateSproofBuilder { para_id: PARACHAIN_ID.into(), ..Default::default() };
			builder.additional_key_values.push((
				well_known_keys::CURRENT_BLOCK_RANDOMNESS.to_vec(),
				Some(randomness).encode(),
			));
			let (relay_parent_storage_root, proof) = builder.into_state_root_and_proof();
			ValidationData::<Runtime>::put(PersistedValidationData {
				relay_parent_storage_root,
				relay_parent_number: 7,
				..Default::default()
			});
			RelayStateProof::<Runtime>::put(proof);
			System::set_block_number(3);
			test()
		})
	}

	fn seeded_by(seed: [u8; 32]) -> Hash {
		BlakeTwo256::hash_of(&(SUBJECT, seed))
	}

	#[test]
	fn draws_use_the_relay_parents_randomness_not_the_parent_hash() {
		for randomness in [[1u8; 32], [2u8; 32]] {
			after_the_inherent(randomness, || {
				let (drawn, block) = RelayChainRandomness::random(SUBJECT);
				assert_eq!((drawn, block), (seeded_by(randomness), 3));
				// The previous block's author chose the parent hash; it changes nothing.
				System::set_parent_hash([0xaa; 32].into());
				assert_eq!(RelayChainRandomness::random(SUBJECT).0, seeded_by(randomness));
			});
		}
	}

	#[test]
	fn before_the_inherent_parachain_system_leaves_only_the_parent_hash() {
		after_the_inherent([1u8; 32], || {
			// What a draw in another pallet's `on_initialize` would see: parachain-system
			// clears the relay data there, and the inherent sets it again later in the
			// block. Proof of compute therefore draws in `on_poll`.
			ParachainSystem::on_initialize(3);
			System::set_parent_hash([0xaa; 32].into());
			assert_eq!(RelayChainRandomness::random(SUBJECT).0, seeded_by([0xaa; 32]));
		});
	}
}
