//! The chain specs compiled into the node, built from the runtime's genesis presets.
//!
//! The `dev` spec's genesis storage is built by the runtime's native code, which the node links:
//! built through the runtime's WASM (the genesis-builder API), every `--dev` start compiled
//! the 8 MB runtime once more just to compute a state that never changes for a given build.
//! `local` keeps the genesis-builder form (a preset name, resolved by the WASM), because tools
//! such as zombienet edit a non-raw spec's genesis before starting a network from it.

use polkadot_sdk::{
	polkadot_omni_node_lib::chain_spec::{
		ChainSpec, DiskChainSpecLoader, Extensions, GenericChainSpec, LoadSpec,
	},
	sc_chain_spec::{json_patch, ChainType},
	sp_core::storage::{well_known_keys, Storage},
	sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET},
	sp_runtime::BuildStorage,
};
use tessera_runtime::{genesis_config_presets::PARACHAIN_ID, RuntimeGenesisConfig};

/// The relay chain Tessera's built-in specs attach to.
const RELAY_CHAIN: &str = "rococo-local";

/// Resolves `--chain`: `dev` and `local` are built in, anything else is a spec file.
pub struct Loader;

impl LoadSpec for Loader {
	fn load_spec(&self, id: &str) -> Result<Box<dyn ChainSpec>, String> {
		match id {
			"" | "dev" => {
				let mut spec = dev_through_genesis_builder()?;
				spec.set_storage(native_genesis_storage(DEV_RUNTIME_PRESET)?);
				Ok(spec)
			}
			"local" => built_in(
				"Tessera Local Testnet",
				"tessera_local",
				ChainType::Local,
				LOCAL_TESTNET_RUNTIME_PRESET,
			),
			path => DiskChainSpecLoader.load_spec(path),
		}
	}
}

fn dev_through_genesis_builder() -> Result<Box<dyn ChainSpec>, String> {
	built_in("Tessera Development", "tessera_dev", ChainType::Development, DEV_RUNTIME_PRESET)
}

fn runtime_wasm() -> Result<&'static [u8], String> {
	tessera_runtime::WASM_BINARY.ok_or_else(|| {
		"tessera-node was built without the runtime's WASM (SKIP_WASM_BUILD was set)".into()
	})
}

fn built_in(
	name: &str,
	id: &str,
	chain_type: ChainType,
	preset: &str,
) -> Result<Box<dyn ChainSpec>, String> {
	let wasm = runtime_wasm()?;
	let mut properties = serde_json::Map::new();
	properties.insert("tokenSymbol".into(), "TSRA".into());
	properties.insert("tokenDecimals".into(), 12.into());
	properties.insert("ss58Format".into(), 42.into());
	Ok(Box::new(
		GenericChainSpec::builder(wasm, Extensions::new(RELAY_CHAIN.into(), PARACHAIN_ID))
			.with_name(name)
			.with_id(id)
			.with_chain_type(chain_type)
			.with_genesis_config_preset_name(preset)
			.with_protocol_id(id)
			.with_properties(properties)
			.build(),
	))
}

/// The genesis storage of `preset`, computed as the runtime's `GenesisBuilder` API computes it
/// (the preset's patch merged into the default config, then built), with the runtime's WASM as
/// `:code`, but by the natively compiled runtime.
fn native_genesis_storage(preset: &str) -> Result<Storage, String> {
	let patch = tessera_runtime::genesis_config_presets::get_preset(&PresetId::from(preset))
		.ok_or_else(|| format!("the runtime has no genesis preset named {preset:?}"))?;
	let patch = serde_json::from_slice(&patch)
		.map_err(|error| format!("genesis preset {preset:?} is not JSON: {error}"))?;
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default())
		.map_err(|error| format!("the default genesis config does not serialize: {error}"))?;
	json_patch::merge(&mut config, patch);
	let config: RuntimeGenesisConfig = serde_json::from_value(config)
		.map_err(|error| format!("genesis preset {preset:?} does not fit the runtime: {error}"))?;
	let mut storage = config.build_storage()?;
	storage.top.insert(well_known_keys::CODE.to_vec(), runtime_wasm()?.to_vec());
	Ok(storage)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn dev_and_local_are_built_in_for_para_2000_on_rococo_local() {
		for (id, chain_type) in [("dev", ChainType::Development), ("local", ChainType::Local)] {
			let spec = Loader.load_spec(id).expect("built-in spec");
			let extensions = Extensions::try_get(&*spec).expect("parachain extensions");
			assert_eq!(extensions.para_id(), Some(PARACHAIN_ID));
			assert_eq!(extensions.relay_chain(), RELAY_CHAIN);
			assert_eq!(spec.chain_type(), chain_type);
			assert_eq!(spec.properties()["tokenSymbol"], "TSRA");
		}
	}

	#[test]
	fn dev_spec_carries_its_raw_genesis_storage() {
		let raw = Loader.load_spec("dev").unwrap().as_json(true).expect("raw genesis");
		let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
		assert!(raw["genesis"]["raw"]["top"].as_object().is_some_and(|top| !top.is_empty()));
	}

	#[test]
	fn dev_genesis_built_natively_is_the_genesis_the_runtime_wasm_builds() {
		let native = Loader.load_spec("dev").unwrap().as_json(true).unwrap();
		let through_wasm = dev_through_genesis_builder().unwrap().as_json(true).unwrap();
		let genesis = |spec: &str| {
			serde_json::from_str::<serde_json::Value>(spec).unwrap()["genesis"].clone()
		};
		assert_eq!(genesis(&native), genesis(&through_wasm));
	}

	#[test]
	fn a_missing_spec_file_is_an_error_naming_it() {
		let error = Loader.load_spec("/nonexistent/tessera.json").err().expect("an error");
		assert!(error.contains("/nonexistent/tessera.json"), "{error}");
	}
}
