//! Tessera on a local relay chain: spawns `tessera.toml` with zombienet's native provider and
//! enrols each collator's compute node, as its operator would.
//!
//! The relay binaries, `tessera-node` and `tessera-trainer` must be on `PATH`
//! (`scripts/zombienet.sh` sees to it).

pub mod chain;

use anyhow::{anyhow, bail, Context, Result};
use chain::{bytes, Chain, Events};
use std::{
	path::{Path, PathBuf},
	process::Command,
	str::FromStr,
	time::Duration,
};
use zombienet_sdk::{
	subxt::{
		backend::legacy::LegacyRpcMethods,
		dynamic::{tx, Value},
		SubstrateConfig,
	},
	subxt_signer::{
		sr25519::{dev, Keypair},
		SecretUri,
	},
	GlobalSettingsBuilder, LocalFileSystem, Network, NetworkConfig, NetworkConfigExt,
};

/// The network definition.
pub const DEFINITION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tessera.toml");
/// Tessera's para id on the relay chain.
pub const PARA_ID: u32 = 2000;
/// Stake each compute node bonds: 20 TSRA.
pub const STAKE: u128 = 20 * UNIT;
/// One TSRA.
pub const UNIT: u128 = 1_000_000_000_000;

/// What the chain's node registry asks a node key to sign, followed by the chain's genesis
/// hash and the owner's account.
const KEY_OWNERSHIP_CONTEXT: &[u8] = b"tessera/node-key-ownership";

/// A collator and the compute node it runs: who owns it, its key and its trainer.
#[derive(Clone, Copy, Debug)]
pub struct Collator {
	/// The collator's name in `tessera.toml`.
	pub name: &'static str,
	/// The trainer process beside it.
	pub trainer: &'static str,
	/// The secret URI of its compute-node key (`tsra`), kept in the collator's keystore.
	pub node_key: &'static str,
	/// The dev account that owns the compute node.
	pub owner: fn() -> Keypair,
}

/// The two collators of `tessera.toml`; each owner is the dev account of the same name.
pub const COLLATORS: [Collator; 2] = [
	Collator {
		name: "charlie",
		trainer: "trainer-charlie",
		node_key: "//tessera-zombienet/charlie",
		owner: dev::charlie,
	},
	Collator {
		name: "dave",
		trainer: "trainer-dave",
		node_key: "//tessera-zombienet/dave",
		owner: dev::dave,
	},
];

impl Collator {
	/// The compute node's key pair.
	pub fn node_key(&self) -> Keypair {
		let uri = SecretUri::from_str(self.node_key).expect("the node key URIs are valid");
		Keypair::from_uri(&uri).expect("the node key URIs derive")
	}
}

/// A compute node on the chain.
#[derive(Clone, Copy, Debug)]
pub struct ComputeNode {
	/// The collator that runs it.
	pub collator: Collator,
	/// Its id in the node registry.
	pub id: u128,
}

/// The spawned network.
pub struct TesseraNetwork {
	/// What zombienet spawned.
	pub network: Network<LocalFileSystem>,
}

impl TesseraNetwork {
	/// Where this process spawns its network: a directory of its own under the system's
	/// temporary directory, so that two runs never share one.
	pub fn default_base_dir() -> PathBuf {
		std::env::temp_dir().join(format!("tessera-zombienet-{}", std::process::id()))
	}

	/// Spawns `tessera.toml` under `base_dir`, whose `stores/` it first fills with the genesis
	/// model's content (one trainer store per collator).
	pub async fn spawn(base_dir: &Path) -> Result<Self> {
		for collator in COLLATORS {
			seed_genesis_store(&base_dir.join("stores").join(collator.name))?;
		}
		let settings = GlobalSettingsBuilder::new()
			.with_base_dir(base_dir)
			.with_network_spawn_timeout(1_200)
			.with_node_spawn_timeout(300)
			// Zombienet's own watcher takes a node being restarted for a crash, tears the
			// network down and exits the process; the driver stops the network itself.
			.with_tear_down_on_failure(false)
			.build()
			.map_err(|errors| anyhow!("zombienet settings: {errors:?}"))?;
		let config = NetworkConfig::load_from_toml_with_settings(DEFINITION, &settings)?;
		let network = config.spawn_native().await.context("spawning the network")?;
		Ok(Self { network })
	}

	/// A client of the node `name`: a relay validator or a collator.
	pub async fn chain(&self, name: &str) -> Result<Chain> {
		Chain::connect(self.network.get_node(name)?).await
	}

	/// The trainer URL of `collator`'s compute node.
	pub fn trainer_url(&self, collator: &Collator) -> Result<String> {
		let process = self.network.get_custom_process(collator.trainer)?;
		let port =
			process.port("http").ok_or_else(|| anyhow!("{} has no http port", collator.trainer))?;
		Ok(format!("http://{}", port.external))
	}

	/// Enrols every collator's compute node: registers it with [`STAKE`] from its owner, puts
	/// its key into the collator's keystore and points the collator's off-chain worker at the
	/// trainer beside it. `events` must follow the chain `chain` submits to.
	pub async fn enrol(&self, chain: &Chain, events: &Events) -> Result<Vec<ComputeNode>> {
		// The offchain storage prefix of a node key's trainer URL, as the runtime's metadata
		// names it: this workspace stays clear of the runtime's crates.
		let url_prefix = bytes(&chain.constant("ProofOfCompute", "TrainerUrlPrefix")?)
			.ok_or_else(|| anyhow!("ProofOfCompute::TrainerUrlPrefix is not bytes"))?;
		let mut nodes = Vec::new();
		for collator in COLLATORS {
			let key = collator.node_key();
			let rpc = self.network.get_node(collator.name)?.rpc().await?;
			LegacyRpcMethods::<SubstrateConfig>::new(rpc.clone())
				.author_insert_key(
					"tsra".into(),
					collator.node_key.into(),
					key.public_key().0.to_vec(),
				)
				.await
				.context("inserting the compute-node key")?;
			let url_key = [&url_prefix[..], &key.public_key().0].concat();
			let url = self.trainer_url(&collator)?;
			rpc.request::<()>(
				"offchain_localStorageSet",
				zombienet_sdk::subxt::ext::subxt_rpcs::rpc_params![
					"PERSISTENT",
					format!("0x{}", hex::encode(&url_key)),
					format!("0x{}", hex::encode(url.as_bytes()))
				],
			)
			.await
			.context("setting the trainer URL")?;

			let owner = (collator.owner)();
			let genesis = chain.client.genesis_hash();
			chain.submit(&register(&owner, &key, genesis.as_ref()), &owner).await?;
			let owner_id = owner.public_key().0;
			let id = events
				.wait_for(
					&format!("{}'s node registered", collator.name),
					Duration::from_secs(120),
					|event| {
						(event.is("NodeRegistry", "NodeRegistered")
							&& event.bytes("owner").as_deref() == Some(&owner_id[..]))
						.then(|| event.number("node"))
						.flatten()
					},
				)
				.await?;
			nodes.push(ComputeNode { collator, id });
		}
		Ok(nodes)
	}

	/// Stops every process.
	pub async fn destroy(self) -> Result<()> {
		self.network.destroy().await?;
		Ok(())
	}
}

/// `NodeRegistry::register` of a CPU trainer with key `key`, owned by `owner`, on the chain
/// of `genesis`.
fn register(
	owner: &Keypair,
	key: &Keypair,
	genesis: &[u8],
) -> zombienet_sdk::subxt::tx::DynamicPayload {
	let proof = key.sign(&[KEY_OWNERSHIP_CONTEXT, genesis, &owner.public_key().0].concat());
	tx(
		"NodeRegistry",
		"register",
		vec![
			Value::unnamed_composite([Value::unnamed_variant("Trainer", [])]),
			Value::from_bytes("local"),
			// 512 GB of disk and nothing else declared (see `Capabilities`).
			Value::u128(512 << 8),
			Value::from_bytes([0u8; 32]),
			Value::from_bytes(key.public_key().0),
			Value::from_bytes(proof.0),
			Value::u128(STAKE),
		],
	)
}

/// Makes the genesis model's content in a trainer store at `store` with
/// `scripts/genesis-model.sh`.
fn seed_genesis_store(store: &Path) -> Result<()> {
	let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/genesis-model.sh");
	let output = Command::new("bash")
		.arg(&script)
		.arg("--store")
		.arg(store)
		.output()
		.with_context(|| format!("running {}", script.display()))?;
	if !output.status.success() {
		bail!("{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr));
	}
	Ok(())
}
