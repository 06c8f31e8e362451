//! Tessera as a real parachain: one zombienet network (`tessera.toml`), then each check in
//! order, each building on the ones before, so that the first failure stops the run and names
//! what broke. The network's directory (every node's log) is kept when a check fails.

use anyhow::{bail, ensure, Context, Result};
use std::{collections::BTreeMap, future::Future, time::Duration};
use tessera_zombienet::{
	chain::{bytes, number, Chain, Decoded, EventRecord, Events},
	ComputeNode, TesseraNetwork, COLLATORS, PARA_ID, UNIT,
};
use zombienet_sdk::{
	subxt::{
		config::{substrate::BlakeTwo256, Hasher},
		dynamic::{tx, At, Value},
		utils::H256,
	},
	subxt_signer::sr25519::dev,
};

/// The genesis model of Tessera's local spec, and what the job asks for it: 150 steps in three
/// checkpoints on the genesis dataset, two replicas.
const MODEL: u128 = 0;
const DATASET: u128 = 0;
const CHECKPOINTS: u128 = 3;
const REDUNDANCY: u128 = 2;
/// Blocks an accepted result may be challenged on this network, set through sudo: twice the
/// off-chain worker's resend interval (10 blocks), so that a reveal of an earlier checkpoint
/// that was dropped from the pool around the restart is sent again and lands before
/// finalization. Verification itself reads only the final checkpoint's reveals.
const CHALLENGE_WINDOW: u128 = 20;

const MINUTE: Duration = Duration::from_secs(60);

struct Run<'a> {
	net: &'a TesseraNetwork,
	para: Chain,
	relay: Chain,
	events: Events,
	nodes: Vec<ComputeNode>,
}

#[tokio::main]
async fn main() {
	let base_dir = TesseraNetwork::default_base_dir();
	let outcome = match check("the network spawns", TesseraNetwork::spawn(&base_dir)).await {
		Ok(net) => {
			let outcome = run(&net).await;
			// Every process goes, whatever the checks found.
			if let Err(error) = net.destroy().await {
				eprintln!("stopping the network: {error:#}");
			}
			outcome
		}
		Err(error) => Err(error),
	};
	match outcome {
		Ok(()) => {
			let _ = std::fs::remove_dir_all(&base_dir);
			println!("\ntest result: ok");
		}
		Err(error) => {
			eprintln!("\n{error:#}\nthe nodes' logs are under {}", base_dir.display());
			std::process::exit(1);
		}
	}
}

async fn run(net: &TesseraNetwork) -> Result<()> {
	let para = net.chain("charlie").await?;
	let relay = net.chain("alice").await?;
	let events = Events::follow(&para).await?;
	let mut run = Run { net, para, relay, events, nodes: Vec::new() };

	check(
		"the parachain's blocks are included by the relay chain and finalized",
		parachain_blocks_are_included_and_finalized(&run),
	)
	.await?;
	run.nodes = check(
		"each collator's compute node registers with its stake",
		run.net.enrol(&run.para, &run.events),
	)
	.await?;
	check("both compute nodes heartbeat", both_compute_nodes_heartbeat(&run)).await?;
	check("both collators author blocks", both_collators_author_blocks(&run)).await?;
	check(
		"a job with two replicas survives a collator restart and activates a model version",
		a_replicated_job_survives_a_collator_restart(&run),
	)
	.await
}

/// Runs one check, printing its name and outcome as the test harness does.
async fn check<T>(name: &str, body: impl Future<Output = Result<T>>) -> Result<T> {
	println!("test {name} ...");
	let outcome = body.await.with_context(|| format!("FAILED: {name}"));
	if outcome.is_ok() {
		println!("test {name} ... ok");
	}
	outcome
}

async fn parachain_blocks_are_included_and_finalized(run: &Run<'_>) -> Result<()> {
	for _ in 0..60 {
		let head = run.relay.storage("Paras", "Heads", vec![Value::u128(PARA_ID.into())]).await?;
		if let Some(head) = head.as_ref().and_then(bytes) {
			// The relay chain keeps the para's latest included header; its hash names a block
			// the collators built.
			let hash: H256 = BlakeTwo256.hash(&head);
			if let Ok(block) = run.para.client.blocks().at(hash).await {
				let finalized = run.para.finalized_number().await?;
				if block.number() >= 3 && finalized >= 3 {
					return Ok(());
				}
			}
		}
		tokio::time::sleep(Duration::from_secs(6)).await;
	}
	bail!("the relay chain did not include three parachain blocks within six minutes")
}

async fn both_compute_nodes_heartbeat(run: &Run<'_>) -> Result<()> {
	for node in &run.nodes {
		run.events
			.wait_for(
				&format!("a heartbeat from {}'s node", node.collator.name),
				3 * MINUTE,
				|event| {
					(event.is("NodeRegistry", "HeartbeatReceived")
						&& event.number("node") == Some(node.id))
					.then_some(())
				},
			)
			.await?;
	}
	Ok(())
}

async fn both_collators_author_blocks(run: &Run<'_>) -> Result<()> {
	for collator in COLLATORS {
		let account = (collator.owner)().public_key().0;
		let mut last_authored = 0;
		for _ in 0..30 {
			let key = vec![Value::from_bytes(account)];
			let stored = run.para.storage("CollatorSelection", "LastAuthoredBlock", key).await?;
			last_authored = stored.as_ref().and_then(number).unwrap_or(0);
			if last_authored > 0 {
				break;
			}
			tokio::time::sleep(Duration::from_secs(6)).await;
		}
		ensure!(last_authored > 0, "{} authored no block in three minutes", collator.name);
	}
	Ok(())
}

async fn a_replicated_job_survives_a_collator_restart(run: &Run<'_>) -> Result<()> {
	// Spot-checks would send the job to panel re-execution, which is the disputes' work; here
	// the replicas' agreement settles it.
	run.para.sudo(tx("Reputation", "set_spot_check_base", vec![Value::u128(0)])).await?;
	run.para
		.sudo(tx("ProofOfCompute", "set_challenge_window", vec![Value::u128(CHALLENGE_WINDOW)]))
		.await?;

	let base_digest = current_digest(&run.para).await?;
	let ferdie = dev::ferdie();
	let proposed = run.para.submit(&propose_training(base_digest), &ferdie).await?;
	let proposal = proposed
		.iter()
		.find(|event| event.is("ModelRegistry", "Proposed"))
		.and_then(|event| event.number("proposal"))
		.context("no Proposed event")?;
	let approved = run
		.para
		.submit(&tx("ModelRegistry", "approve", vec![Value::u128(proposal)]), &dev::alice())
		.await?;
	let job = approved
		.iter()
		.find(|event| event.is("ModelRegistry", "TrainingStarted"))
		.and_then(|event| event.number("job"))
		.context("the approval started no training")?;
	let of_job = |event: &EventRecord| event.number("job") == Some(job);

	let assigned = run
		.events
		.wait_for("the job's assignment", 3 * MINUTE, |event| {
			(event.is("ProofOfCompute", "JobAssigned") && of_job(event))
				.then(|| event.field("nodes").map(node_ids))
				.flatten()
		})
		.await?;
	let mut expected: Vec<u128> = run.nodes.iter().map(|node| node.id).collect();
	expected.sort();
	let mut replicas = assigned.clone();
	replicas.sort();
	ensure!(
		replicas == expected,
		"assigned to {assigned:?}, not to both compute nodes {expected:?}"
	);

	run.events
		.wait_for("the job's first commit", 5 * MINUTE, |event| {
			(event.is("ProofOfCompute", "Committed") && of_job(event)).then_some(())
		})
		.await?;
	let restarted = run.net.network.get_node("dave")?;
	restarted.restart(None).await.context("restarting dave")?;
	println!("    dave restarted after the job's first commit");

	let accepted = run
		.events
		.wait_for("the job's acceptance", 10 * MINUTE, |event| {
			(event.is("ProofOfCompute", "JobAccepted") && of_job(event))
				.then(|| event.bytes("weights_digest"))
				.flatten()
		})
		.await?;
	run.events
		.wait_for("the job's finalization", 5 * MINUTE, |event| {
			(event.is("ProofOfCompute", "JobFinalized") && of_job(event)).then_some(())
		})
		.await?;

	// Every replica committed and revealed each checkpoint exactly once: the restarted node's
	// worker kept its salts and did not start over.
	for (variant, what) in [("Committed", "commits"), ("Revealed", "reveals")] {
		let mut count = BTreeMap::<(u128, u128), usize>::new();
		for event in
			run.events.matching(|event| event.is("ProofOfCompute", variant) && of_job(event))
		{
			let key = (
				event.number("node").unwrap_or(u128::MAX),
				event.number("checkpoint").unwrap_or(u128::MAX),
			);
			*count.entry(key).or_default() += 1;
		}
		let expected: BTreeMap<_, _> = expected
			.iter()
			.flat_map(|node| (0..CHECKPOINTS).map(move |checkpoint| ((*node, checkpoint), 1)))
			.collect();
		ensure!(count == expected, "{what} per (node, checkpoint): {count:?}");
	}
	let paid =
		run.events.matching(|event| event.is("ProofOfCompute", "RewardPaid") && of_job(event));
	ensure!(paid.len() == expected.len(), "{} of {} replicas paid", paid.len(), expected.len());

	let activated = run
		.events
		.wait_for("the model version's activation", MINUTE, |event| {
			(event.is("ModelRegistry", "VersionActivated") && of_job(event)).then(|| event.clone())
		})
		.await?;
	ensure!(activated.number("model") == Some(MODEL), "another model activated: {activated:?}");
	ensure!(
		activated.bytes("model_digest_before").as_deref() == Some(&base_digest[..]),
		"the version was not trained from the current one"
	);
	ensure!(
		activated.bytes("model_digest_after") == Some(accepted),
		"the activated digest is not the one the replicas agreed on"
	);
	Ok(())
}

/// The digest of the genesis model's current version.
async fn current_digest(para: &Chain) -> Result<[u8; 32]> {
	let model = para.call("ModelApi", "model", vec![Value::u128(MODEL)]).await?;
	let current = model.at(0).and_then(|model| model.at("current")).and_then(number);
	let versions = para.call("ModelApi", "versions", vec![Value::u128(MODEL)]).await?;
	let digest = versions
		.at(0)
		.into_iter()
		.chain((1..).map_while(|index| versions.at(index)))
		.find(|entry| entry.at(0).and_then(number) == current)
		.and_then(|entry| entry.at(1)?.at("digest").and_then(bytes))
		.context("the genesis model has no current version")?;
	digest.try_into().map_err(|_| anyhow::anyhow!("a digest is 32 bytes"))
}

/// Ferdie's proposal: fine-tune the genesis MLP on the genesis dataset on both compute nodes.
fn propose_training(base_digest: [u8; 32]) -> zombienet_sdk::subxt::tx::DynamicPayload {
	let hyper_parameters = Value::named_composite([
		// 0.05
		("learning_rate", Value::u128(50_000_000)),
		("batch_size", Value::u128(16)),
		("steps", Value::u128(150)),
		("checkpoint_every", Value::u128(150 / CHECKPOINTS)),
		("seed", Value::u128(7)),
	]);
	tx(
		"ModelRegistry",
		"propose_training",
		vec![
			Value::u128(MODEL),
			Value::from_bytes(base_digest),
			Value::named_variant("Mlp", [("hidden", Value::unnamed_composite([Value::u128(16)]))]),
			Value::u128(DATASET),
			hyper_parameters,
			Value::unnamed_composite([]),
			Value::from_bytes([0u8; 32]),
			Value::unnamed_variant("CpuReference", []),
			Value::u128(4 * UNIT),
			Value::u128(REDUNDANCY),
			Value::u128(300),
		],
	)
}

/// The node ids of a `Replicas` value (a bounded vector: a sequence in a one-field wrapper).
fn node_ids(nodes: &Decoded) -> Vec<u128> {
	let sequence = match nodes.at(0) {
		Some(inner) if inner.at(0).is_some() => inner,
		_ => nodes,
	};
	(0..).map_while(|index| sequence.at(index)).filter_map(number).collect()
}
