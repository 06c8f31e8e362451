//! The chain specs compiled into the node, built from the runtime's genesis presets.

use polkadot_sdk::{
	polkadot_omni_node_lib::chain_spec::{
		ChainSpec, DiskChainSpecLoader, Extensions, GenericChainSpec, LoadSpec,
	},
	sc_chain_spec::ChainType,
	sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET},
};
use tessera_runtime::genesis_config_presets::PARACHAIN_ID;

/// The relay chain Tessera's built-in specs attach to.
const RELAY_CHAIN: &str = "rococo-local";

/// Resolves `--chain`: `dev` and `local` are built in, anything else is a spec file.
pub struct Loader;

impl LoadSpec for Loader {
	fn load_spec(&self, id: &str) -> Result<Box<dyn ChainSpec>, String> {
		match id {
			"" | "dev" => built_in(
				"Tessera Development",
				"tessera_dev",
				ChainType::Development,
				DEV_RUNTIME_PRESET,
			),
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

fn built_in(
	name: &str,
	id: &str,
	chain_type: ChainType,
	preset: &str,
) -> Result<Box<dyn ChainSpec>, String> {
	let wasm = tessera_runtime::WASM_BINARY
		.ok_or("tessera-node was built without the runtime's WASM (SKIP_WASM_BUILD was set)")?;
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
	fn dev_spec_builds_its_genesis_storage_in_the_runtime() {
		let raw = Loader.load_spec("dev").unwrap().as_json(true).expect("raw genesis");
		let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
		assert!(raw["genesis"]["raw"]["top"].as_object().is_some_and(|top| !top.is_empty()));
	}

	#[test]
	fn a_missing_spec_file_is_an_error_naming_it() {
		let error = Loader.load_spec("/nonexistent/tessera.json").err().expect("an error");
		assert!(error.contains("/nonexistent/tessera.json"), "{error}");
	}
}
