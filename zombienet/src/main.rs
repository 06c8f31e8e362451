//! `tessera-zombienet`: spawns Tessera on a local relay chain, enrols both collators' compute
//! nodes, prints where to watch it, and runs until Ctrl-C.

use anyhow::Result;
use tessera_zombienet::{chain::Events, TesseraNetwork, COLLATOR_NODES};

const APPS: &str = "https://polkadot.js.org/apps/?rpc=";

#[tokio::main]
async fn main() -> Result<()> {
	let base_dir = TesseraNetwork::default_base_dir();
	println!("spawning the network under {} (every node's log is there)", base_dir.display());
	let net = TesseraNetwork::spawn(&base_dir).await?;
	let outcome = enrol_and_serve(&net).await;
	// Every process goes, also when enrolling failed.
	net.destroy().await?;
	outcome
}

async fn enrol_and_serve(net: &TesseraNetwork) -> Result<()> {
	let para = net.chain("charlie").await?;
	let events = Events::follow(&para).await?;
	let nodes = net.enrol(&para, &events, &COLLATOR_NODES).await?;

	for name in ["alice", "bob"] {
		let uri = net.network.get_node(name)?.ws_uri();
		println!("relay validator {name}: {uri}  {APPS}{uri}");
	}
	for node in &nodes {
		let collator = node.operator.collator;
		let uri = net.network.get_node(collator)?.ws_uri();
		println!(
			"collator {collator}: {uri}  {APPS}{uri}  (compute node {}, trainer {})",
			node.id,
			net.trainer_url(&node.operator, "http")?
		);
	}
	println!("running; Ctrl-C stops every process");
	tokio::signal::ctrl_c().await?;
	Ok(())
}
