//! The polkadot relay-chain node, as the polkadot-sdk release Tessera builds on ships it.

fn main() -> color_eyre::eyre::Result<()> {
	color_eyre::install()?;
	polkadot_cli::run()?;
	Ok(())
}
