// The demo's network, shared by `scripts/demo.sh` and the end-to-end tests: a dev node, four
// compute nodes whose keys are in its keystore, each with a trainer of its own (the fourth
// reports wrong digests), and a job that fine-tunes the genesis model; for the demo also
// three validators, each with a trainer of its own, that settle disputes and aggregate the
// rounds of a federated job.

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
import { approveDataset } from './datasets.mjs';
import { enrolNode } from './nodes.mjs';
import { csvJobSpec, csvTable, startTrainer } from './trainer.mjs';

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

/**
 * The three validators: who owns each, its key and its stake. Their owners own no trainer, so
 * that every one of them may sit on the panel of a trainer's job and aggregate its rounds.
 */
export const VALIDATORS = [
  { name: 'Alice (stash)', account: '//Alice//stash', nodeKey: '//tessera-demo/validator-1', stake: 10n * UNIT },
  { name: 'Bob (stash)', account: '//Bob//stash', nodeKey: '//tessera-demo/validator-2', stake: 10n * UNIT },
  { name: 'Charlie (stash)', account: '//Charlie//stash', nodeKey: '//tessera-demo/validator-3', stake: 10n * UNIT },
];

/** What a panel member is paid for each segment it re-executes: the runtime's `PanelFee`. */
export const PANEL_FEE = UNIT / 10n;

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
 * `startTrainer`; `allowOrigins` lets a dashboard read the trainers' job reports); with
 * `validators`, also one such trainer per validator. Returns
 * `{ node, trainers, validatorTrainers, stop }`.
 */
export async function startDemoNetwork(nodeOptions = {}, trainerOptions = {}, { validators = false } = {}) {
  const seed = await genesisStore();
  const conducts = [...OPERATORS, ...(validators ? VALIDATORS : [])];
  const started = await Promise.all(
    conducts.map(({ wrongDigests }) => startTrainer({ ...trainerOptions, seed, wrongDigests })),
  );
  const node = await startDevNode(nodeOptions);
  const network = { node, trainers: started.slice(0, OPERATORS.length), validatorTrainers: started.slice(OPERATORS.length) };
  network.stop = async () => {
    await network.node?.stop();
    await Promise.all([...network.trainers, ...network.validatorTrainers].map((trainer) => trainer.stop()));
    await rm(seed, { recursive: true, force: true });
  };
  return network;
}

/**
 * Registers each operator's compute node (those named in `names`, all by default) with its
 * stake, puts its key into the node's keystore and points its off-chain worker at its
 * trainer. Returns the operators with their `pair` and `node` id.
 */
export async function enrolOperators(api, trainers, names = OPERATORS.map(({ name }) => name)) {
  const keyring = new Keyring({ type: 'sr25519' });
  const enrolled = [];
  for (const [index, operator] of OPERATORS.entries()) {
    if (!names.includes(operator.name)) continue;
    const pair = keyring.addFromUri(operator.account);
    const node = await enrolNode(api, pair, operator.nodeKey, trainers[index], operator.stake);
    enrolled.push({ ...operator, pair, node });
  }
  return enrolled;
}

/**
 * Registers the validators (see `VALIDATORS`) as `enrolOperators` registers trainers, each
 * pointed at its own of `validatorTrainers`. Returns them with their `pair` and `node` id.
 */
export async function enrolValidators(api, validatorTrainers) {
  const keyring = new Keyring({ type: 'sr25519' });
  const enrolled = [];
  for (const [index, validator] of VALIDATORS.entries()) {
    const pair = keyring.addFromUri(validator.account);
    const node = await enrolNode(api, pair, validator.nodeKey, validatorTrainers[index], validator.stake, ['Validator']);
    enrolled.push({ ...validator, pair, node });
  }
  return enrolled;
}

/**
 * Turns spot-checks off (root, through sudo), for tests whose job must be verified by replica
 * agreement alone: a spot-checked job is settled by a panel of validators. The demo keeps the
 * runtime's rate.
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

/** The federated job of the demo: two rounds of ten steps over a small table, three participants. */
export const FEDERATED = {
  hyperParameters: { learningRate: 100_000_000, batchSize: 4, steps: 20, checkpointEvery: 10, seed: 5 },
  budget: 2n * UNIT,
  participants: 3,
  shards: 4,
  duration: 200,
};

/**
 * Stores a small table on `trainers` (the participants' and the validators', which need it
 * to train and to re-execute), has `owner` propose it as a dataset and `approver` approve it,
 * and has `buyer` ask for a federated job over it (see `FEDERATED`). Returns `{ job, dataset }`.
 */
export async function startFederatedJob(api, { buyer, owner, approver, trainers }) {
  const stored = await Promise.all(trainers.map((trainer) => trainer.put(csvTable())));
  const { cid } = stored[0];
  if (stored.some((one) => one.cid !== cid)) {
    throw new Error('the trainers stored the table under different CIDs');
  }
  const dataset = await approveDataset(api, cid, { owner, approver });
  const { hyperParameters, budget, participants, shards, duration } = FEDERATED;
  const deadline = (await api.query.system.number()).toNumber() + duration;
  const { events } = await inBlock(
    api.tx.proofOfCompute.createFederatedJob(csvJobSpec(cid, hyperParameters), budget, participants, shards, deadline, null),
    buyer,
  );
  const created = events.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event));
  return { job: created.event.data.job.toNumber(), dataset };
}

/** Resolves with the first of `events` (`{ event, block }`, growing) that `matches`, or rejects after `timeoutMs`. */
export function eventually(events, matches, what, timeoutMs) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const look = () => {
      const found = events.find(matches);
      if (found) {
        resolve(found);
      } else if (Date.now() - started > timeoutMs) {
        reject(new Error(`${what} did not happen within ${timeoutMs} ms`));
      } else {
        setTimeout(look, 250);
      }
    };
    look();
  });
}

/**
 * The demo, on a network started with validators: Dave's honest trainer and Eve's lying one
 * are the only trainers when Ferdie asks for a two-replica fine-tuning of the genesis model,
 * so the job is theirs and their disagreement (or a spot-check, at the runtime's rate) puts it
 * under dispute, which the three validators settle by re-executing the segments the chain
 * bisects to; then Bob and Charlie join and a federated job runs two rounds on Bob's,
 * Charlie's and Dave's trainers, aggregated by the validators. Every event of every block from
 * the start is recorded in order as `{ event, block }` and passed to `onEvent`; `say` hears
 * what the demo does; with `shortWindows` the challenge windows last `TEST_CHALLENGE_WINDOW`
 * blocks instead of the runtime's 100 (sudo), which is all the demo changes of the chain's
 * settings. Returns `{ operators, validators, before, fineTuning, federated, events,
 * stop }`: `before` is the `snapshot` of each operator and validator when it was registered
 * (operators first, in `OPERATORS`' order), `fineTuning` `{ job, baseDigest, ferdieBefore }`,
 * `federated` `{ job, dataset }`, and `stop` ends the recording (returning the last block
 * recorded).
 */
export async function runDemo(network, {
  say = () => {}, onEvent = () => {}, shortWindows = false, stepTimeoutMs = 240_000,
} = {}) {
  const { node: { api }, trainers, validatorTrainers } = network;
  const keyring = new Keyring({ type: 'sr25519' });
  const [alice, ferdie] = ['//Alice', '//Ferdie'].map((uri) => keyring.addFromUri(uri));
  const events = [];
  let last = 0;
  const stopFollowing = await followEvents(api, (event, block) => {
    events.push({ event, block });
    last = block;
    onEvent(event, block);
  });
  const stop = async () => {
    await stopFollowing();
    return last;
  };
  const { proofOfCompute: poc } = api.events;
  const ofJob = (kind, job) => ({ event }) => kind.is(event) && event.data.job.toNumber() === job;
  const trainerOf = (name) => trainers[OPERATORS.findIndex((operator) => operator.name === name)];

  const firstTrainers = await enrolOperators(api, trainers, ['Dave', 'Eve']);
  const validators = await enrolValidators(api, validatorTrainers);
  for (const { name, node, stake, wrongDigests } of firstTrainers) {
    say(`${name} registered trainer node ${node} with ${tsra(stake)} TSRA at stake${wrongDigests ? ' — its trainer lies' : ''}`);
  }
  for (const { name, node, stake } of validators) {
    say(`${name} registered validator node ${node} with ${tsra(stake)} TSRA at stake, its own trainer behind it`);
  }
  const base = (await api.query.reputation.spotCheckBase()).toNumber();
  say(`spot-checks at the runtime's rate: ${percent(base)} of jobs, times each node's tier factor`);
  if (shortWindows) {
    await shortenChallengeWindow(api, alice);
  }
  say(`challenge windows last ${await api.query.proofOfCompute.challengeWindow()} blocks`);
  const before = await snapshot(api, [...firstTrainers, ...validators]);

  const ferdieBefore = (await api.query.system.account(ferdie.address)).data;
  const { job, baseDigest } = await startFineTuning(api, { buyer: ferdie, approver: alice, redundancy: 2 });
  say(`Ferdie proposed fine-tuning model 0 with two replicas, Alice approved it: job ${job}`);
  await eventually(events, ofJob(poc.JobAssigned, job), `job ${job}'s assignment`, 60_000);
  // Meanwhile Bob and Charlie bring the trainers the federated job needs.
  const joining = enrolOperators(api, trainers, ['Bob', 'Charlie']);
  await eventually(events, ({ event }) => (poc.JobFinalized.is(event) || poc.JobFailed.is(event))
    && event.data.job.toNumber() === job, `job ${job}'s end`, stepTimeoutMs);
  const later = await joining;
  for (const { name, node, stake } of later) {
    say(`${name} registered trainer node ${node} with ${tsra(stake)} TSRA at stake`);
  }
  const beforeLater = await snapshot(api, later);

  say('Ferdie asks for a federated job: three participants train their shards of a table, two rounds, aggregated by validators');
  const federated = await startFederatedJob(api, {
    buyer: ferdie,
    owner: ferdie,
    approver: alice,
    trainers: [...['Bob', 'Charlie', 'Dave'].map(trainerOf), ...validatorTrainers],
  });
  say(`dataset ${federated.dataset} approved; federated job ${federated.job} posted`);
  await eventually(events, ofJob(poc.JobFinalized, federated.job), `federated job ${federated.job}'s end`, stepTimeoutMs);
  // Availability checks drawn from the jobs' reveals close within a few blocks.
  const open = () => {
    const closed = new Set(events.filter(({ event }) => poc.AvailabilityProven.is(event) || poc.AvailabilityFailed.is(event)
      || poc.AvailabilityUndecided.is(event)).map(({ event }) => event.data.check.toNumber()));
    return events.filter(({ event }) => poc.AvailabilityChecked.is(event) && !closed.has(event.data.check.toNumber())).length;
  };
  for (const started = Date.now(); open() > 0 && Date.now() - started < 30_000;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const byName = new Map([...firstTrainers, ...later].map((operator) => [operator.name, operator]));
  const operators = OPERATORS.map(({ name }) => byName.get(name));
  const beforeOf = new Map([...firstTrainers, ...validators, ...later]
    .map((one, index) => [one.node, [...before, ...beforeLater][index]]));
  return {
    operators,
    validators,
    before: [...operators, ...validators].map(({ node }) => beforeOf.get(node)),
    fineTuning: { job, baseDigest, ferdieBefore },
    federated,
    events,
    stop,
  };
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

/** A digest as its first eight bytes, for people to compare by eye. */
const short = (digest) => `${digest.toHex().slice(0, 18)}…`;

/**
 * One line for people watching the jobs `jobs` (a job id or a list of them), or `undefined`
 * for an event the demo does not show. `names` maps node ids to operator names.
 */
export function describe(api, event, jobs, names) {
  const { data } = event;
  const ofJob = [jobs].flat().includes(data.job?.toNumber?.());
  const name = (node) => `${names.get(node.toNumber()) ?? `node ${node}`}`;
  const { proofOfCompute: poc, nodeRegistry, reputation, modelRegistry } = api.events;
  const lines = ofJob && [
    [poc.JobCreated, () => `job ${data.job} posted: budget ${tsra(data.budget.toBigInt())} TSRA held, ${data.redundancy} replicas`],
    [poc.FederatedJobCreated, () => `federated: ${data.rounds} rounds over ${data.shards} shards`],
    [poc.JobAssigned, () => `assigned to ${data.nodes.map(name).join(', ')}`],
    [poc.Committed, () => `${name(data.node)} committed ${data.checkpoint}`],
    [poc.Revealed, () => `${name(data.node)} revealed ${data.checkpoint}: weights ${short(data.weightsDigest)}`],
    [poc.JobAccepted, () => `verified: the agreed weights are ${short(data.weightsDigest)}; challenge window until block ${data.challengeEnds}`],
    [poc.JobDisputed, () => (data.reason.isNoMajority
      ? 'verification: the replicas\' final weights differ and no majority agrees — disputed'
      : `disputed: ${data.reason.isSpotCheck ? `spot-check of ${name(data.reason.asSpotCheck)} drawn` : data.reason}`)],
    [poc.SegmentDisputed, () => `bisection: ${data.probes} checkpoints compared, the replicas part at checkpoint ${data.checkpoint}; steps ${data.fromStep}–${data.toStep} to re-execute`],
    [poc.PanelDrawn, () => `panel drawn: ${data.panel.map(name).join(', ')}, verdicts due by block ${data.deadline}`],
    [poc.NoPanel, () => `no panel could be drawn; again at block ${data.retryAt}`],
    [poc.VerdictCommitted, () => `${name(data.node)} committed its verdict`],
    [poc.VerdictRevealed, () => `${name(data.node)} revealed its verdict: weights ${short(data.weightsDigest)}`],
    [poc.VerdictMissed, () => `${name(data.node)} missed its verdict: ${tsra(data.slashed.toBigInt())} TSRA slashed`],
    [poc.SegmentSettled, () => `segment at checkpoint ${data.checkpoint} settled: the panel's majority computed ${short(data.weightsDigest)}`],
    [poc.ReplicaConvicted, () => `${name(data.node)} convicted (${data.reason}): ${tsra(data.amount.toBigInt())} TSRA of its stake slashed`],
    [poc.PanelFeePaid, () => `${name(data.node)} paid a panel fee of ${tsra(data.amount.toBigInt())} TSRA`],
    [poc.DisputeResolved, () => `verdict: ${data.upheld.isTrue ? 'a result stands' : 'no result stands'} after ${data.segments} segments, ${data.steps} steps re-executed`],
    [poc.AvailabilityChecked, () => `availability check ${data.check}: ${name(data.validator)} fetches ${name(data.node)}'s state of checkpoint ${data.checkpoint}`],
    [poc.RoundOpened, () => `round ${data.round} opened, updates due by block ${data.deadline}`],
    [poc.RoundClosed, () => `round ${data.round} closed with ${data.participants} updates; aggregators in turn: ${data.aggregators.map(name).join(', ')}`],
    [poc.RoundAggregated, () => `${name(data.node)} aggregated round ${data.round} from ${data.participants} updates: weights ${short(data.weightsDigest)}`],
    [poc.AggregatorPaid, () => `${name(data.node)} paid ${tsra(data.amount.toBigInt())} TSRA for its aggregate`],
    [poc.ReplicaSlashed, () => `${name(data.node)} slashed ${tsra(data.amount.toBigInt())} TSRA for a result the majority does not share`],
    [poc.RewardPaid, () => `${name(data.node)} paid ${tsra(data.amount.toBigInt())} TSRA`],
    [poc.JobFinalized, () => `job ${data.job} finalized: ${tsra(data.refunded.toBigInt())} TSRA refunded to the buyer`],
    [poc.JobFailed, () => `job ${data.job} failed: ${tsra(data.refunded.toBigInt())} TSRA refunded`],
    [modelRegistry.VersionActivated, () => `model ${data.model} version ${data.version} is current: digest ${short(data.modelDigestBefore)} → ${short(data.modelDigestAfter)}`],
  ].find(([kind]) => kind.is(event));
  if (lines) {
    return lines[1]();
  }
  if (poc.AvailabilityProven.is(event)) {
    return `availability check ${data.check}: ${name(data.validator)} fetched the state; fee ${tsra(data.fee.toBigInt())} TSRA`;
  }
  if (poc.AvailabilityFailed.is(event)) {
    return `availability check ${data.check}: ${name(data.node)} did not serve its state: ${tsra(data.slashed.toBigInt())} TSRA slashed`;
  }
  if (reputation.ReputationChanged.is(event) && data.outcome.type === 'HeartbeatKept') {
    return undefined;
  }
  if (reputation.ReputationChanged.is(event) || reputation.SlashRecorded.is(event)) {
    const what = reputation.SlashRecorded.is(event) ? `slash (${data.reason})` : `${data.outcome}`;
    return `${name(data.node)}: reputation ${percent(data.score.toNumber())} after ${what}`;
  }
  if (nodeRegistry.NodeSlashed.is(event)) {
    return `${name(data.node)} loses ${tsra(data.amount.toBigInt())} TSRA of stake (${data.reason})`;
  }
  return undefined;
}
