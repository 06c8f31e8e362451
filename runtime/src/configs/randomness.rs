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
