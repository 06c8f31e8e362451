//! Tessera as a real parachain: one zombienet network (`tessera.toml`), then each check in
//! order, each building on the ones before, so that the first failure stops the run and names
//! what broke. The network's directory (every node's log) is kept when a check fails.
//!
//! The last check settles a dispute the way the chain does in production: spot-checks at the
//! runtime's rate, and every draw (replicas, spot-checks, panels, availability checks) from
//! the relay chain's randomness, which the collators read from the relay state proof.

use anyhow::{bail, ensure, Context, Result};
use std::{collections::BTreeMap, future::Future, time::Duration};
use tessera_zombienet::{
	chain::{bytes, number, Chain, Decoded, EventRecord, Events},
	ComputeNode, Role, TesseraNetwork, COLLATOR_NODES, DISPUTE_NODES, PARA_ID, UNIT,
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
	/// The runtime's spot-check base, read before the restart check sets it aside.
	spot_check_base: u128,
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
	// Storage holds the base once root set one; until then it is the runtime's default.
	let spot_check_base = match para.storage("Reputation", "SpotCheckBase", vec![]).await? {
		Some(set) => set,
		None => para.constant("Reputation", "DefaultSpotCheckBase")?,
	};
	let spot_check_base = number(&spot_check_base).context("the spot-check base is a number")?;
	let mut run = Run { net, para, relay, events, nodes: Vec::new(), spot_check_base };

	check(
		"the parachain's blocks are included by the relay chain and finalized",
		parachain_blocks_are_included_and_finalized(&run),
	)
	.await?;
	run.nodes = check(
		"each collator's compute node registers with its stake",
		run.net.enrol(&run.para, &run.events, &COLLATOR_NODES),
	)
	.await?;
	check("both compute nodes heartbeat", both_compute_nodes_heartbeat(&run)).await?;
	check("both collators author blocks", both_collators_author_blocks(&run)).await?;
	check(
		"a job with two replicas survives a collator restart and activates a model version",
		a_replicated_job_survives_a_collator_restart(&run),
	)
	.await?;
	check(
		"a lying replica is bisected, re-executed by a panel of two validators and convicted",
		a_lying_replica_is_convicted_by_a_panel_of_validators(&run),
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
				&format!("a heartbeat from {}'s node", node.operator.name),
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
	// Each collator's dev account, which owns its compute node, is the collator's account.
	for collator in COLLATOR_NODES {
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
		ensure!(last_authored > 0, "{} authored no block in three minutes", collator.collator);
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
	let job = start_training(&run.para, base_digest).await?;
	let of_job = |event: &EventRecord| event.number("job") == Some(job);

	let mut expected: Vec<u128> = run.nodes.iter().map(|node| node.id).collect();
	expected.sort();
	let replicas = replicas_of(run, job).await?;
	ensure!(
		replicas == expected,
		"assigned to {replicas:?}, not to both compute nodes {expected:?}"
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

async fn a_lying_replica_is_convicted_by_a_panel_of_validators(run: &Run<'_>) -> Result<()> {
	// The rest runs at the runtime's spot-check rate: a spot-check drawn before the replicas
	// disagree opens the same dispute.
	let base = run.spot_check_base;
	run.para.sudo(tx("Reputation", "set_spot_check_base", vec![Value::u128(base)])).await?;
	// Charlie's node leaves, so that the job's two replicas are Dave's honest trainer and Eve's
	// lying one; Alice's and Bob's validators, whose owners own neither, are its panel.
	let &[charlie, dave] = run.nodes.as_slice() else { bail!("not two collator nodes") };
	let leave = tx("NodeRegistry", "deregister", vec![Value::u128(charlie.id)]);
	run.para.submit(&leave, &(charlie.operator.owner)()).await?;
	let enrolled = run.net.enrol(&run.para, &run.events, &DISPUTE_NODES).await?;
	let eve = enrolled
		.iter()
		.find(|node| node.operator.role == Role::Trainer)
		.copied()
		.context("Eve's node is not among those enrolled")?;
	let mut validators: Vec<u128> = enrolled
		.iter()
		.filter(|node| node.operator.role == Role::Validator)
		.map(|node| node.id)
		.collect();
	validators.sort();

	let base_digest = current_digest(&run.para).await?;
	let job = start_training(&run.para, base_digest).await?;
	let of_job = |event: &EventRecord| event.number("job") == Some(job);
	let mut expected = vec![dave.id, eve.id];
	expected.sort();
	let replicas = replicas_of(run, job).await?;
	ensure!(replicas == expected, "assigned to {replicas:?}, not to Dave's and Eve's {expected:?}");

	let reason = run
		.events
		.wait_for("the job's dispute", 10 * MINUTE, |event| {
			(event.is("ProofOfCompute", "JobDisputed") && of_job(event))
				.then(|| event.variant_of("reason").map(str::to_owned))
				.flatten()
		})
		.await?;
	println!("    job {job} disputed: {reason}");
	ensure!(
		reason == "NoMajority" || reason == "SpotCheck",
		"disputed for {reason}, not for the replicas' disagreement or a spot-check"
	);
	let (upheld, segments) = run
		.events
		.wait_for("the dispute's resolution", 20 * MINUTE, |event| {
			(event.is("ProofOfCompute", "DisputeResolved") && of_job(event))
				.then(|| Some((event.flag("upheld")?, event.number("segments")?)))
				.flatten()
		})
		.await?;
	ensure!(upheld, "the dispute did not end with Dave's result standing");
	println!("    the dispute settled after {segments} segment(s)");

	// Each segment bisected to had a panel of both validators, which both committed and
	// revealed, before its settlement; nobody missed a verdict and a panel was always found.
	let count = |variant: &str| {
		run.events.matching(|event| event.is("ProofOfCompute", variant) && of_job(event))
	};
	let disputed = count("SegmentDisputed");
	ensure!(disputed.len() as u128 == segments, "{} segments bisected to", disputed.len());
	ensure!(count("SegmentSettled").len() as u128 == segments, "not every segment settled");
	for panel in count("PanelDrawn") {
		let mut members = panel.field("panel").map(node_ids).unwrap_or_default();
		members.sort();
		ensure!(members == validators, "panel {members:?}, not the validators {validators:?}");
	}
	ensure!(count("PanelDrawn").len() as u128 == segments, "not one panel a segment");
	for variant in ["VerdictCommitted", "VerdictRevealed", "PanelFeePaid"] {
		let mut members: Vec<u128> =
			count(variant).iter().filter_map(|event| event.number("node")).collect();
		members.sort();
		let every: Vec<u128> = validators
			.iter()
			.flat_map(|member| std::iter::repeat_n(*member, segments as usize))
			.collect();
		ensure!(members == every, "{variant} by {members:?}, not each validator a segment");
	}
	ensure!(count("VerdictMissed").is_empty() && count("NoPanel").is_empty(), "a panel failed");

	// Eve revealed wrong digests of the states it trained: forged, half its stake.
	let convicted = count("ReplicaConvicted");
	ensure!(convicted.len() == 1, "{} convictions", convicted.len());
	ensure!(convicted[0].number("node") == Some(eve.id), "convicted {convicted:?}, not Eve");
	ensure!(
		convicted[0].variant_of("reason") == Some("ForgedResult"),
		"Eve convicted for {:?}",
		convicted[0].variant_of("reason")
	);
	ensure!(
		convicted[0].number("amount") == Some(eve.operator.stake / 2),
		"Eve lost {:?}, not half its stake",
		convicted[0].number("amount")
	);
	ensure!(count("ReplicaSlashed").is_empty(), "Eve, convicted, was slashed again");
	let paid: Vec<u128> =
		count("RewardPaid").iter().filter_map(|event| event.number("node")).collect();
	ensure!(paid == [dave.id], "paid {paid:?}, not Dave alone");

	// Dave's result is the model's new version.
	let last = CHECKPOINTS - 1;
	let daves_result = count("Revealed")
		.iter()
		.find(|event| {
			event.number("node") == Some(dave.id) && event.number("checkpoint") == Some(last)
		})
		.and_then(|event| event.bytes("weights_digest"))
		.context("Dave revealed no final checkpoint")?;
	let activated = run
		.events
		.wait_for("the model version's activation", 5 * MINUTE, |event| {
			(event.is("ModelRegistry", "VersionActivated") && of_job(event))
				.then(|| event.bytes("model_digest_after"))
				.flatten()
		})
		.await?;
	ensure!(activated == daves_result, "the activated digest is not Dave's result");
	Ok(())
}

/// Ferdie proposes fine-tuning the current version of the genesis model, whose digest is
/// `base_digest`, and Alice approves it; the job it became.
async fn start_training(para: &Chain, base_digest: [u8; 32]) -> Result<u128> {
	let proposed = para.submit(&propose_training(base_digest), &dev::ferdie()).await?;
	let proposal = proposed
		.iter()
		.find(|event| event.is("ModelRegistry", "Proposed"))
		.and_then(|event| event.number("proposal"))
		.context("no Proposed event")?;
	let approved = para
		.submit(&tx("ModelRegistry", "approve", vec![Value::u128(proposal)]), &dev::alice())
		.await?;
	approved
		.iter()
		.find(|event| event.is("ModelRegistry", "TrainingStarted"))
		.and_then(|event| event.number("job"))
		.context("the approval started no training")
}

/// The nodes `job` was assigned to, sorted.
async fn replicas_of(run: &Run<'_>, job: u128) -> Result<Vec<u128>> {
	let mut assigned = run
		.events
		.wait_for("the job's assignment", 3 * MINUTE, |event| {
			(event.is("ProofOfCompute", "JobAssigned") && event.number("job") == Some(job))
				.then(|| event.field("nodes").map(node_ids))
				.flatten()
		})
		.await?;
	assigned.sort();
	Ok(assigned)
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
		("optimizer", Value::unnamed_variant("Sgd", [])),
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
