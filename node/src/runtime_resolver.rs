//! What omni-node needs to know about Tessera's runtime, known when the node is built.

use polkadot_sdk::{
	polkadot_omni_node_lib::runtime::{
		AuraConsensusId, BlockNumber, Consensus, Runtime, RuntimeResolver,
	},
	sc_chain_spec::ChainSpec,
	sc_cli,
};

/// Tessera's runtime: `u32` block numbers and Aura with sr25519 keys.
///
/// omni-node's default resolver compiles the chain spec's runtime WASM at every start to read
/// this from its metadata (four seconds of a `--dev` start on a two-core machine); the node is
/// built with the runtime, so it states it.
pub struct TesseraRuntime;

impl RuntimeResolver for TesseraRuntime {
	fn runtime(&self, _chain_spec: &dyn ChainSpec) -> sc_cli::Result<Runtime> {
		Ok(Runtime::Omni(BlockNumber::U32, Consensus::Aura(AuraConsensusId::Sr25519)))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::chain_spec::Loader;
	use polkadot_sdk::polkadot_omni_node_lib::{
		chain_spec::LoadSpec, runtime::DefaultRuntimeResolver,
	};

	#[test]
	fn tessera_runtime_is_what_omni_node_reads_from_the_runtime_metadata() {
		for id in ["dev", "local"] {
			let spec = Loader.load_spec(id).unwrap();
			let from_metadata = DefaultRuntimeResolver.runtime(&*spec).unwrap();
			assert!(TesseraRuntime.runtime(&*spec).unwrap() == from_metadata, "{id}");
		}
	}
}
