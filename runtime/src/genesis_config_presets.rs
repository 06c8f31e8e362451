//! Genesis presets: `development` (what `--dev` runs) and `local_testnet` (a parachain on a
//! local relay chain). Both fund the well-known dev accounts, make Alice and Bob the
//! collators, give Alice the sudo key, use para id 2000 and start with one model, owned by
//! Alice, and the approved dataset it was trained on ([`first_model`]).

use alloc::{vec, vec::Vec};
use cumulus_primitives_core::ParaId;
use frame_support::build_struct_json_patch;
use polkadot_sdk::{staging_xcm as xcm, *};
use serde_json::Value;
use sp_genesis_builder::PresetId;
use sp_keyring::Sr25519Keyring;

use crate::{
	configs::TreasuryAccount, AccountId, AuraId, BalancesConfig, CollatorSelectionConfig,
	ModelApproversConfig, ModelRegistryConfig, ParachainInfoConfig, PolkadotXcmConfig,
	RuntimeGenesisConfig, SessionConfig, SessionKeys, SudoConfig, EXISTENTIAL_DEPOSIT, UNIT,
};
use pallet_model_registry::types::{Owner, TrainingPolicy};
use tessera_primitives::{did::DidId, trainer_api::cid_from_string, DatasetConsent};

/// The para id Tessera registers under on its local relay chain.
pub const PARACHAIN_ID: u32 = 2000;

/// What each dev account starts with.
const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// The XCM version assumed for peers that have not announced theirs.
const SAFE_XCM_VERSION: u32 = xcm::prelude::XCM_VERSION;

/// The first model: an MLP with 16 hidden units trained for 300 steps on the iris table,
/// as `scripts/genesis-model.sh` makes it (and `scripts/test.sh` checks these values
/// against it). The script leaves the content in a trainer's store on request.
pub mod first_model {
	use polkadot_sdk::sp_core::hex2array;

	/// The model's name.
	pub const NAME: &str = "iris-mlp";
	/// The iris table as CSV, as `tessera-trainer export --dataset iris` prints it.
	pub const DATASET_CID: &str = "bafkreidlmsxbhknmvgqhhg7uxl7mjfklw67bpaz2tfdr2nxz6x2ddfgxu4";
	/// A JSON record of the architecture, dataset and hyper-parameters.
	pub const METADATA_CID: &str = "bafkreih5kky5rndzb77y4bybpeaink2cbdtzsll3jxzqfoj7hewz3jqgzu";
	/// The trainer's state after the 300 steps: the root version's weights.
	pub const WEIGHTS_CID: &str = "bafkreif2kfynci4qwfbsuggf3sgzzbbzaitw42m2y34i2iawomzv5bxdoe";
	/// The canonical digest of those weights.
	pub const WEIGHTS_DIGEST: [u8; 32] =
		hex2array!("fa145de01960a56c971ee463e2923534b86c477ae03eed32c29f235432a91983");
}

/// The bytes of one of [`first_model`]'s CIDs.
fn cid_bytes(cid: &str) -> Vec<u8> {
	cid_from_string(cid).expect("the genesis CIDs are valid").into_inner()
}

fn tessera_genesis(
	collators: Vec<(AccountId, AuraId)>,
	endowed: Vec<AccountId>,
	root: AccountId,
	para_id: ParaId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed
				.into_iter()
				.map(|account| (account, ENDOWMENT))
				// The treasury exists from genesis, so that any slash can be paid to it.
				.chain([(TreasuryAccount::get(), EXISTENTIAL_DEPOSIT)])
				.collect(),
		},
		parachain_info: ParachainInfoConfig { parachain_id: para_id },
		collator_selection: CollatorSelectionConfig {
			invulnerables: collators.iter().map(|(account, _)| account.clone()).collect(),
			candidacy_bond: EXISTENTIAL_DEPOSIT * 16,
		},
		session: SessionConfig {
			keys: collators
				.into_iter()
				.map(|(account, aura)| (account.clone(), account, SessionKeys { aura }))
				.collect(),
		},
		polkadot_xcm: PolkadotXcmConfig { safe_xcm_version: Some(SAFE_XCM_VERSION) },
		sudo: SudoConfig { key: Some(root.clone()) },
		// The root account also approves training proposals and datasets until governance
		// appoints approvers.
		model_approvers: ModelApproversConfig {
			members: vec![root.clone()].try_into().expect("one member")
		},
		model_registry: ModelRegistryConfig {
			models: vec![(
				Owner::Account(root.clone()),
				first_model::NAME.into(),
				b"mlp".to_vec(),
				cid_bytes(first_model::METADATA_CID),
				cid_bytes(first_model::WEIGHTS_CID),
				first_model::WEIGHTS_DIGEST.into(),
				// The network's shared model: anyone may propose to train it further.
				TrainingPolicy::Anyone,
			)],
			// Fisher's iris measurements, as published by the UCI repository.
			datasets: vec![(
				cid_bytes(first_model::DATASET_CID),
				1,
				b"CC-BY-4.0".to_vec(),
				DidId::from_initial_key(root.as_ref()),
				// Published data: any trainer may use it.
				DatasetConsent::Public,
			)],
		},
	})
}

fn dev_accounts_genesis() -> Value {
	tessera_genesis(
		[Sr25519Keyring::Alice, Sr25519Keyring::Bob]
			.into_iter()
			.map(|key| (key.to_account_id(), key.public().into()))
			.collect(),
		Sr25519Keyring::well_known().map(|key| key.to_account_id()).collect(),
		Sr25519Keyring::Alice.to_account_id(),
		PARACHAIN_ID.into(),
	)
}

/// The JSON patch of the named preset, or `None` for a name this runtime does not know.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET
		| sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => dev_accounts_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("a JSON value always serializes to a string")
			.into_bytes(),
	)
}

/// The presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{Balances, ParachainInfo, Runtime};
	use frame_support::genesis_builder_helper::build_state;
	use sp_io::TestExternalities;

	/// The genesis state of a preset, its patch applied over the default config as the node does.
	fn genesis_of(preset: &str) -> TestExternalities {
		let patch: Value =
			serde_json::from_slice(&get_preset(&preset.into()).expect("the preset exists"))
				.expect("a preset is JSON");
		let mut config = serde_json::to_value(RuntimeGenesisConfig::default())
			.expect("the default genesis config serializes");
		sc_chain_spec::json_merge(&mut config, patch);
		let mut ext = TestExternalities::new_empty();
		ext.execute_with(|| {
			build_state::<RuntimeGenesisConfig>(config.to_string().into_bytes())
				.expect("the preset builds a genesis state")
		});
		ext
	}

	#[test]
	fn every_listed_preset_funds_dev_accounts_and_seats_alice_and_bob() {
		for preset in preset_names() {
			let preset = core::str::from_utf8(preset.as_ref()).expect("preset names are UTF-8");
			genesis_of(preset).execute_with(|| {
				for account in Sr25519Keyring::well_known() {
					assert_eq!(Balances::free_balance(account.to_account_id()), ENDOWMENT);
				}
				// Collator selection keeps its invulnerables sorted.
				let mut alice_and_bob = vec![
					Sr25519Keyring::Alice.to_account_id(),
					Sr25519Keyring::Bob.to_account_id(),
				];
				alice_and_bob.sort();
				assert_eq!(
					pallet_collator_selection::Invulnerables::<Runtime>::get().into_inner(),
					alice_and_bob
				);
				assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 2);
				assert_eq!(Balances::free_balance(TreasuryAccount::get()), EXISTENTIAL_DEPOSIT);
				assert_eq!(u32::from(ParachainInfo::parachain_id()), PARACHAIN_ID);
				assert_eq!(
					pallet_sudo::Key::<Runtime>::get(),
					Some(Sr25519Keyring::Alice.to_account_id())
				);
			});
		}
	}

	#[test]
	fn every_listed_preset_starts_with_the_first_model_and_its_dataset() {
		let cid = |text: &str| cid_from_string(text).unwrap();
		for preset in preset_names() {
			let preset = core::str::from_utf8(preset.as_ref()).expect("preset names are UTF-8");
			genesis_of(preset).execute_with(|| {
				let model = pallet_model_registry::Models::<Runtime>::get(0).expect("model 0");
				assert_eq!(model.owner, Owner::Account(Sr25519Keyring::Alice.to_account_id()));
				assert_eq!(&model.name[..], first_model::NAME.as_bytes());
				assert_eq!(model.metadata, cid(first_model::METADATA_CID));
				assert_eq!(model.training, TrainingPolicy::Anyone);
				assert_eq!(pallet_model_registry::ApprovalThreshold::<Runtime>::get(), 1);
				let root = pallet_model_registry::Versions::<Runtime>::get(0, model.current)
					.expect("the root version");
				assert_eq!(root.weights, cid(first_model::WEIGHTS_CID));
				assert_eq!(root.digest.0, first_model::WEIGHTS_DIGEST);
				let dataset =
					pallet_model_registry::Datasets::<Runtime>::get(0).expect("dataset 0");
				assert_eq!(dataset.cid, cid(first_model::DATASET_CID));
			});
		}
	}

	#[test]
	fn unknown_preset_is_refused() {
		assert!(get_preset(&"mainnet".into()).is_none());
	}
}
