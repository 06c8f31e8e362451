//! `tessera-node`: the Tessera collator.
//!
//! A polkadot-omni-node with Tessera's chain specs compiled in: `--dev` and `--chain dev`
//! run the parachain alone with manual sealing, `--chain local` is the spec for a local
//! relay chain, and any other `--chain` value is read as a chain spec file.

mod chain_spec;
mod runtime_resolver;

use polkadot_sdk::polkadot_omni_node_lib::{run, CliConfig as CliConfigT, RunConfig};

struct CliConfig;

impl CliConfigT for CliConfig {
	fn impl_version() -> String {
		let commit_hash = env!("SUBSTRATE_CLI_COMMIT_HASH");
		format!("{}-{commit_hash}", env!("CARGO_PKG_VERSION"))
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://github.com/tessera-network/tessera/issues".into()
	}

	fn copyright_start_year() -> u16 {
		2026
	}
}

fn main() -> color_eyre::eyre::Result<()> {
	color_eyre::install()?;
	let config =
		RunConfig::new(Box::new(runtime_resolver::TesseraRuntime), Box::new(chain_spec::Loader));
	Ok(run::<CliConfig>(config)?)
}
