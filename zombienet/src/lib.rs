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
/// One TSRA.
pub const UNIT: u128 = 1_000_000_000_000;

/// What the chain's node registry asks a node key to sign, followed by the chain's genesis
/// hash and the owner's account.
const KEY_OWNERSHIP_CONTEXT: &[u8] = b"tessera/node-key-ownership";

/// What a compute node offers, as the node registry's `NodeRole` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
	/// Trains jobs' replicas.
	Trainer,
	/// Sits on dispute panels, checks availability and aggregates federated rounds.
	Validator,
}

impl Role {
	fn variant(self) -> &'static str {
		match self {
			Role::Trainer => "Trainer",
			Role::Validator => "Validator",
		}
	}
}

/// A compute node beside a collator: who owns it, its key, the trainer behind it, what it
/// offers and what it bonds.
#[derive(Clone, Copy, Debug)]
pub struct Operator {
	/// Its name in the tests' output; its trainer's store is `stores/<name>`.
	pub name: &'static str,
	/// The collator whose keystore holds its key and whose off-chain worker does its duties.
	pub collator: &'static str,
	/// The trainer process behind it (`tessera.toml`).
	pub trainer: &'static str,
	/// The secret URI of its compute-node key (`tsra`).
	pub node_key: &'static str,
	/// The dev account that owns it.
	pub owner: fn() -> Keypair,
	/// What it registers as.
	pub role: Role,
	/// What it bonds.
	pub stake: u128,
}

/// Each collator's own trainer node, owned by the collator's dev account (zombienet names a
/// collator's account after it).
pub const COLLATOR_NODES: [Operator; 2] = [
	Operator {
		name: "charlie",
		collator: "charlie",
		trainer: "trainer-charlie",
		node_key: "//tessera-zombienet/charlie",
		owner: dev::charlie,
		role: Role::Trainer,
		stake: 20 * UNIT,
	},
	Operator {
		name: "dave",
		collator: "dave",
		trainer: "trainer-dave",
		node_key: "//tessera-zombienet/dave",
		owner: dev::dave,
		role: Role::Trainer,
		stake: 20 * UNIT,
	},
];

/// The nodes the dispute check enrols: Eve's trainer, which reports wrong digests, and two
/// validators, one beside each collator. Alice and Bob own no trainer, so neither is kept
/// off a trainer's panel; two validators are a majority of the runtime's panel of three.
pub const DISPUTE_NODES: [Operator; 3] = [
	Operator {
		name: "eve",
		collator: "charlie",
		trainer: "trainer-eve",
		node_key: "//tessera-zombienet/eve",
		owner: dev::eve,
		role: Role::Trainer,
		stake: 20 * UNIT,
	},
	Operator {
		name: "alice",
		collator: "charlie",
		trainer: "trainer-alice",
		node_key: "//tessera-zombienet/validator-alice",
		owner: dev::alice,
		role: Role::Validator,
		stake: 10 * UNIT,
	},
	Operator {
		name: "bob",
		collator: "dave",
		trainer: "trainer-bob",
		node_key: "//tessera-zombienet/validator-bob",
		owner: dev::bob,
		role: Role::Validator,
		stake: 10 * UNIT,
	},
];

impl Operator {
	/// The compute node's key pair.
	pub fn node_key(&self) -> Keypair {
		let uri = SecretUri::from_str(self.node_key).expect("the node key URIs are valid");
		Keypair::from_uri(&uri).expect("the node key URIs derive")
	}
}

/// A compute node on the chain.
#[derive(Clone, Copy, Debug)]
pub struct ComputeNode {
	/// Who runs it.
	pub operator: Operator,
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
	/// model's content (one trainer store per operator).
	pub async fn spawn(base_dir: &Path) -> Result<Self> {
		for operator in COLLATOR_NODES.iter().chain(&DISPUTE_NODES) {
			seed_genesis_store(&base_dir.join("stores").join(operator.name))?;
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

	/// The URL of `operator`'s trainer on its port `port`: `http` for its control API,
	/// `public` for the content it publishes.
	pub fn trainer_url(&self, operator: &Operator, port: &str) -> Result<String> {
		let process = self.network.get_custom_process(operator.trainer)?;
		let port =
			process.port(port).ok_or_else(|| anyhow!("{} has no {port} port", operator.trainer))?;
		Ok(format!("http://{}", port.external))
	}

	/// Enrols `operators`' compute nodes: registers each with its stake from its owner,
	/// publishes its trainer's content as its endpoint, puts its key into its collator's
	/// keystore and points that collator's off-chain worker at the trainer. `events` must
	/// follow the chain `chain` submits to.
	pub async fn enrol(
		&self,
		chain: &Chain,
		events: &Events,
		operators: &[Operator],
	) -> Result<Vec<ComputeNode>> {
		// The offchain storage prefix of a node key's trainer URL, as the runtime's metadata
		// names it: this workspace stays clear of the runtime's crates.
		let url_prefix = bytes(&chain.constant("ProofOfCompute", "TrainerUrlPrefix")?)
			.ok_or_else(|| anyhow!("ProofOfCompute::TrainerUrlPrefix is not bytes"))?;
		let mut nodes = Vec::new();
		for operator in operators {
			let key = operator.node_key();
			let rpc = self.network.get_node(operator.collator)?.rpc().await?;
			LegacyRpcMethods::<SubstrateConfig>::new(rpc.clone())
				.author_insert_key(
					"tsra".into(),
					operator.node_key.into(),
					key.public_key().0.to_vec(),
				)
				.await
				.context("inserting the compute-node key")?;
			let url_key = [&url_prefix[..], &key.public_key().0].concat();
			let url = self.trainer_url(operator, "http")?;
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

			let owner = (operator.owner)();
			let genesis = chain.client.genesis_hash();
			chain.submit(&register(operator, &key, genesis.as_ref()), &owner).await?;
			let owner_id = owner.public_key().0;
			let id = events
				.wait_for(
					&format!("{}'s node registered", operator.name),
					Duration::from_secs(120),
					|event| {
						(event.is("NodeRegistry", "NodeRegistered")
							&& event.bytes("owner").as_deref() == Some(&owner_id[..]))
						.then(|| event.number("node"))
						.flatten()
					},
				)
				.await?;
			let endpoint = self.trainer_url(operator, "public")?;
			let set_endpoint = tx(
				"NodeRegistry",
				"set_endpoint",
				vec![Value::u128(id), Value::from_bytes(endpoint.as_bytes())],
			);
			chain.submit(&set_endpoint, &owner).await?;
			nodes.push(ComputeNode { operator: *operator, id });
		}
		Ok(nodes)
	}

	/// Stops every process.
	pub async fn destroy(self) -> Result<()> {
		self.network.destroy().await?;
		Ok(())
	}
}

/// `NodeRegistry::register` of `operator`'s CPU node with key `key` on the chain of
/// `genesis`.
fn register(
	operator: &Operator,
	key: &Keypair,
	genesis: &[u8],
) -> zombienet_sdk::subxt::tx::DynamicPayload {
	let owner = (operator.owner)();
	let proof = key.sign(&[KEY_OWNERSHIP_CONTEXT, genesis, &owner.public_key().0].concat());
	tx(
		"NodeRegistry",
		"register",
		vec![
			Value::unnamed_composite([Value::unnamed_variant(operator.role.variant(), [])]),
			Value::from_bytes("local"),
			// 512 GB of disk and nothing else declared (see `Capabilities`).
			Value::u128(512 << 8),
			Value::from_bytes([0u8; 32]),
			Value::from_bytes(key.public_key().0),
			Value::from_bytes(proof.0),
			Value::u128(operator.stake),
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
