// The demo's network, shared by `scripts/demo.sh` and the end-to-end tests: a dev node, four
// compute nodes whose keys are in its keystore, each with a trainer of its own (the fourth
// reports wrong digests), and a job that fine-tunes the genesis model on all four.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { startDevNode } from './dev-node.mjs';
import { inBlock } from './extrinsics.mjs';
import { enrolNode } from './nodes.mjs';
import { startTrainer } from './trainer.mjs';

export const UNIT = 1_000_000_000_000n;

const GENESIS_MODEL_SCRIPT = fileURLToPath(new URL('../../../scripts/genesis-model.sh', import.meta.url));

/** The genesis model and dataset of the development preset. */
export const GENESIS = { model: 0, dataset: 0, architecture: { Mlp: { hidden: [16] } } };

/** The four operators: who owns each compute node, its key, its stake and its trainer's conduct. */
export const OPERATORS = [
  { name: 'Bob', account: '//Bob', nodeKey: '//tessera-demo/bob', stake: 20n * UNIT },
  { name: 'Charlie', account: '//Charlie', nodeKey: '//tessera-demo/charlie', stake: 30n * UNIT },
  { name: 'Dave', account: '//Dave', nodeKey: '//tessera-demo/dave', stake: 40n * UNIT },
  { name: 'Eve', account: '//Eve', nodeKey: '//tessera-demo/eve', stake: 50n * UNIT, wrongDigests: true },
];

/** The fine-tuning job the demo asks for: 300 steps in six checkpoints on the genesis dataset. */
export const FINE_TUNING = {
  hyperParameters: { learningRate: 50_000_000, batchSize: 16, steps: 300, checkpointEvery: 50, seed: 7 },
  budget: 4n * UNIT,
  duration: 300,
};

/**
 * Makes the genesis model's content (the iris table and the root weights) in a fresh trainer
 * store with `scripts/genesis-model.sh`, so that trainers seeded from it can train from the
 * genesis version. Returns the store's path.
 */
export async function genesisStore() {
  const store = await mkdtemp(join(tmpdir(), 'tessera-genesis-'));
  await promisify(execFile)('bash', [GENESIS_MODEL_SCRIPT, '--store', store]);
  return store;
}

/**
 * Starts the network: a dev node (with `nodeOptions`, see `startDevNode`) and one trainer per
 * operator, each seeded with the genesis content and started with `trainerOptions` (see
 * `startTrainer`; `allowOrigins` lets a dashboard read the trainers' job reports). Returns
 * `{ node, trainers, stop }`.
 */
export async function startDemoNetwork(nodeOptions = {}, trainerOptions = {}) {
  const seed = await genesisStore();
  const trainers = await Promise.all(
    OPERATORS.map(({ wrongDigests }) => startTrainer({ ...trainerOptions, seed, wrongDigests })),
  );
  const node = await startDevNode(nodeOptions);
  const network = { node, trainers };
  network.stop = async () => {
    await network.node?.stop();
    await Promise.all(network.trainers.map((trainer) => trainer.stop()));
    await rm(seed, { recursive: true, force: true });
  };
  return network;
}

/**
 * Registers each operator's compute node with its stake, puts its key into the node's
 * keystore and points its off-chain worker at its trainer. Returns the operators with their
 * `pair` and `node` id.
 */
export async function enrolOperators(api, trainers) {
  const keyring = new Keyring({ type: 'sr25519' });
  const enrolled = [];
  for (const [index, operator] of OPERATORS.entries()) {
    const pair = keyring.addFromUri(operator.account);
    const node = await enrolNode(api, pair, operator.nodeKey, trainers[index], operator.stake);
    enrolled.push({ ...operator, pair, node });
  }
  return enrolled;
}

/**
 * Turns spot-checks off (root, through sudo): a spot-checked job is settled by a panel of
 * validators, which the demo network does not register, and the demo shows verification by
 * replica agreement (`dispute.test.mjs` shows a panel at work).
 */
export async function disableSpotChecks(api, sudoKey) {
  await inBlock(api.tx.sudo.sudo(api.tx.reputation.setSpotCheckBase(0)), sudoKey);
}

/** Blocks the tests' challenge windows last: long enough to watch, short enough to wait out. */
export const TEST_CHALLENGE_WINDOW = 10;

/**
 * Shortens the challenge window (root, through sudo) from the runtime's 100 blocks to
 * `TEST_CHALLENGE_WINDOW`, for results accepted from now on.
 */
export async function shortenChallengeWindow(api, sudoKey) {
  await inBlock(api.tx.sudo.sudo(api.tx.proofOfCompute.setChallengeWindow(TEST_CHALLENGE_WINDOW)), sudoKey);
}

/**
 * `buyer` proposes fine-tuning the genesis model on the genesis dataset with `redundancy`
 * replicas. Returns `{ proposal, baseDigest }`.
 */
export async function proposeFineTuning(api, { buyer, redundancy }) {
  const model = (await api.call.modelApi.model(GENESIS.model)).unwrap();
  const versions = await api.call.modelApi.versions(GENESIS.model);
  const current = versions.find(([index]) => index.eq(model.current))[1];
  const { hyperParameters, budget, duration } = FINE_TUNING;
  const { events } = await inBlock(
    api.tx.modelRegistry.proposeTraining(
      GENESIS.model, current.digest, GENESIS.architecture, GENESIS.dataset, hyperParameters, [],
      u8aToHex(new Uint8Array(32)), 'CpuReference', budget, redundancy, duration,
    ),
    buyer,
  );
  const proposal = events.find(({ event }) => api.events.modelRegistry.Proposed.is(event)).event.data.proposal;
  return { proposal: proposal.toNumber(), baseDigest: current.digest.toHex() };
}

/** `approver` approves training proposal `proposal`; returns the job it became. */
export async function approveTraining(api, proposal, approver) {
  const { events } = await inBlock(api.tx.modelRegistry.approve(proposal), approver);
  const started = events.find(({ event }) => api.events.modelRegistry.TrainingStarted.is(event));
  if (!started) {
    throw new Error('the approval did not start the training');
  }
  return started.event.data.job.toNumber();
}

/**
 * `buyer` proposes fine-tuning the genesis model (see `proposeFineTuning`) and `approver`
 * approves it. Returns `{ proposal, job, baseDigest }`.
 */
export async function startFineTuning(api, { buyer, approver, redundancy }) {
  const { proposal, baseDigest } = await proposeFineTuning(api, { buyer, redundancy });
  return { proposal, job: await approveTraining(api, proposal, approver), baseDigest };
}

/** The events of block number `block`, read from the node's state at that block. */
export async function eventsAt(api, block) {
  const hash = await api.rpc.chain.getBlockHash(block);
  return (await (await api.at(hash)).query.system.events()).map(({ event }) => event);
}

/**
 * Calls `onEvent(event, blockNumber)` for every event of every block from the next one on,
 * in order and without gaps. Returns a function that stops following.
 */
export async function followEvents(api, onEvent) {
  let next = (await api.rpc.chain.getHeader()).number.toNumber() + 1;
  let queue = Promise.resolve();
  const unsubscribe = await api.rpc.chain.subscribeNewHeads((header) => {
    const head = header.number.toNumber();
    queue = queue.then(async () => {
      for (; next <= head; next += 1) {
        for (const event of await eventsAt(api, next)) {
          onEvent(event, next);
        }
      }
    });
  });
  return () => {
    unsubscribe();
    return queue;
  };
}

/** What the summary shows of each node: stake, reputation score and tier, owner's free balance. */
export async function snapshot(api, operators) {
  return Promise.all(operators.map(async ({ node, pair }) => {
    const record = (await api.call.nodeRegistryApi.node(node)).unwrap();
    const reputation = (await api.call.reputationApi.reputation(node)).unwrap();
    const { data } = await api.query.system.account(pair.address);
    return {
      stake: record.stake.toBigInt(),
      score: reputation.score.toNumber(),
      tier: reputation.tier.toString(),
      free: data.free.toBigInt(),
    };
  }));
}

/** `amount` in TSRA with four decimals. */
export function tsra(amount) {
  const negative = amount < 0n;
  const magnitude = negative ? -amount : amount;
  const whole = magnitude / UNIT;
  const fraction = ((magnitude % UNIT) * 10_000n) / UNIT;
  return `${negative ? '-' : ''}${whole}.${fraction.toString().padStart(4, '0')}`;
}

/** A score in parts per million as a percentage. */
export function percent(partsPerMillion) {
  return `${(partsPerMillion / 10_000).toFixed(1)}%`;
}

/**
 * One line for a people watching the job, or `undefined` for an event the demo does not show.
 * `names` maps node ids to operator names.
 */
export function describe(api, event, job, names) {
  const { data } = event;
  const ofJob = data.job?.toNumber?.() === job;
  const name = (node) => `${names.get(node.toNumber()) ?? `node ${node}`}`;
  const { proofOfCompute: poc, nodeRegistry, reputation, modelRegistry } = api.events;
  if (poc.JobCreated.is(event) && ofJob) {
    return `job ${job} posted: budget ${tsra(data.budget.toBigInt())} TSRA held, ${data.redundancy} replicas`;
  }
  if (poc.JobAssigned.is(event) && ofJob) {
    return `assigned to ${data.nodes.map(name).join(', ')}`;
  }
  if (poc.Committed.is(event) && ofJob) {
    return `${name(data.node)} committed checkpoint ${data.checkpoint}`;
  }
  if (poc.Revealed.is(event) && ofJob) {
    return `${name(data.node)} revealed checkpoint ${data.checkpoint}: weights ${data.weightsDigest.toHex().slice(0, 18)}…`;
  }
  if (poc.JobAccepted.is(event) && ofJob) {
    return `verified: the majority agrees on ${data.weightsDigest.toHex().slice(0, 18)}…; challenge window until block ${data.challengeEnds}`;
  }
  if (poc.JobDisputed.is(event) && ofJob) {
    return `disputed: ${data.reason}`;
  }
  if (poc.ReplicaSlashed.is(event) && ofJob) {
    return `${name(data.node)} slashed ${tsra(data.amount.toBigInt())} TSRA for a result the majority does not share`;
  }
  if (poc.RewardPaid.is(event) && ofJob) {
    return `${name(data.node)} paid ${tsra(data.amount.toBigInt())} TSRA`;
  }
  if (poc.JobFinalized.is(event) && ofJob) {
    return `finalized: ${tsra(data.refunded.toBigInt())} TSRA refunded to the buyer`;
  }
  if (poc.JobFailed.is(event) && ofJob) {
    return `failed: ${tsra(data.refunded.toBigInt())} TSRA refunded`;
  }
  if (reputation.ReputationChanged.is(event) || reputation.SlashRecorded.is(event)) {
    const what = reputation.SlashRecorded.is(event) ? `slash (${data.reason})` : `${data.outcome}`;
    return `${name(data.node)}: reputation ${percent(data.score.toNumber())} after ${what}`;
  }
  if (nodeRegistry.NodeSlashed.is(event)) {
    return `${name(data.node)} loses ${tsra(data.amount.toBigInt())} TSRA of stake (${data.reason})`;
  }
  if (modelRegistry.VersionActivated.is(event)) {
    return `model ${data.model} version ${data.version} is current: digest ${data.modelDigestBefore.toHex().slice(0, 18)}… → ${data.modelDigestAfter.toHex().slice(0, 18)}…`;
  }
  return undefined;
}
