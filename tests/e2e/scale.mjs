// The scale benchmark that `scripts/scale.sh` runs: a benchmark, not a test. It starts a dev
// node that seals a block every 6 s, registers 1 000 trainers of 1 000 owners and posts 300 jobs
// of 3 replicas; then a load generator (this script, used nowhere else) stands in for the
// trainers' off-chain workers: it signs with the 1 000 node keys and pools, at once, every
// replica's commit of a checkpoint, then every reveal, checkpoint after checkpoint, watches the
// hooks verify the jobs, and at the end pools one heartbeat of every node. For each phase it prints, block by block, what the phase got
// in, the block's normal-class weight and proof size against their limits, the mandatory class
// (inherents and hooks, with the verification queue), the block's length, the pool's backlog and
// the node's resident memory; and what the pool refused or dropped. Its exit status is 0 when
// every phase got all its transactions in and every job was accepted, 1 otherwise.
//
// With `--offchain K` it measures the off-chain worker path instead: K trainers whose keys are
// in the dev node's keystore, all served by one `tessera-trainer`, train K / 3 jobs of 3
// replicas as the off-chain worker drives them, commits and reveals included; it prints how long
// the proof-of-compute worker took per block (from the node's debug log) until every job was
// settled, how each ended and how many slashes there were; its exit status is 0 when every job
// was accepted and nobody slashed.
//
//   node scale.mjs [--nodes 1000] [--jobs 300] [--replicas 3] [--checkpoints 2] [--block-ms 6000]
//   node scale.mjs --offchain 50 [--checkpoints 2] [--block-ms 6000]

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Keyring } from '@polkadot/keyring';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { authorizedExtrinsic, poolExtrinsics, rpcBatch, signedBy } from './lib/authorized.mjs';
import { disableSpotChecks, genesisStore, UNIT } from './lib/demo-network.mjs';
import { startDevNode } from './lib/dev-node.mjs';
import { enrolNode, keyOwnershipProof } from './lib/nodes.mjs';
import { startTrainer } from './lib/trainer.mjs';

const { values: options } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    jobs: { type: 'string', default: '300' },
    replicas: { type: 'string', default: '3' },
    checkpoints: { type: 'string', default: '2' },
    'block-ms': { type: 'string', default: '6000' },
    offchain: { type: 'string' },
  },
});
const NODES = Number(options.nodes);
const JOBS = Number(options.jobs);
const REPLICAS = Number(options.replicas);
const CHECKPOINTS = Number(options.checkpoints);
const BLOCK_MS = Number(options['block-ms']);
/** With `--offchain K`: the off-chain worker path instead, K node keys in the dev node's keystore. */
const OFFCHAIN_KEYS = options.offchain === undefined ? undefined : Number(options.offchain);

/** What each owner gets: a node's stake and deposit, with room for fees. */
const STAKE = UNIT;
const OWNER_FUNDS = 12n * UNIT;
const BUDGET = 2n * UNIT;
const STEPS_PER_CHECKPOINT = 10;
const BATCH_SIZE = 8;
/** A phase that gets nothing more in for this many blocks is over: what is left was dropped. */
const STALL_BLOCKS = 10;
/** Signed transactions go to the pool in batches of this many, the load in one batch. */
const SETUP_BATCH = 250;

const log = (line) => process.stdout.write(`${line}\n`);

/** The node's resident memory in MiB, from `/proc`. */
function residentMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

/** Resolves once `condition()` holds, polling every second; throws after `timeoutMs`. */
async function until(condition, what, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) {
      throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** One JSON-RPC call over HTTP, answered as the node sent it, undecoded. */
async function rawRpc(rpcUrl, method, params = []) {
  const [{ result, error }] = await rpcBatch(rpcUrl, [{ method, params }]);
  if (error) {
    throw new Error(`${method}: ${error.message}`);
  }
  return result;
}

/**
 * Every block the node imports, as a row: the events of each kind, the normal and mandatory
 * classes' weight, the block's length, the pool's backlog and the node's memory then.
 */
class BlockLog {
  constructor(node) {
    this.node = node;
    this.rows = new Map();
    this.recording = Promise.resolve();
  }

  async start() {
    const { api } = this.node;
    this.unsubscribe = await api.rpc.chain.subscribeNewHeads((header) => {
      this.recording = this.recording.then(() => this.record(header.hash)).catch((error) => {
        log(`could not read block ${header.number}: ${error.message}`);
      });
    });
  }

  async record(hash) {
    const { api, rpcUrl, pid } = this.node;
    const at = await api.at(hash);
    const [signedBlock, weight, events, number, pending] = await Promise.all([
      rawRpc(rpcUrl, 'chain_getBlock', [hash.toHex()]),
      at.query.system.blockWeight(),
      at.query.system.events(),
      at.query.system.number(),
      rawRpc(rpcUrl, 'author_pendingExtrinsics'),
    ]);
    const counts = new Map();
    for (const { event } of events) {
      const name = `${event.section}.${event.method}`;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const { extrinsics } = signedBlock.block;
    this.rows.set(number.toNumber(), {
      number: number.toNumber(),
      counts,
      extrinsics: extrinsics.length,
      bytes: extrinsics.reduce((sum, hex) => sum + (hex.length - 2) / 2, 0),
      normal: weight.normal,
      mandatory: weight.mandatory,
      pending: pending.length,
      rss: residentMiB(pid),
    });
  }

  async stop() {
    this.unsubscribe?.();
    await this.recording;
  }

  async settled() {
    await this.recording;
    return this.rows;
  }
}

/**
 * Pools `extrinsics` at once and watches blocks, from `since` (the next block unless given),
 * until `event` has been emitted `expected` times or nothing more came in for `STALL_BLOCKS`
 * blocks; prints the phase's rows and returns `{ complete, first }`: whether all got in, and
 * the first block watched.
 */
async function phase(node, blocks, name, extrinsics, event, expected, since = undefined) {
  const { api, rpcUrl } = node;
  const first = since ?? (await api.query.system.number()).toNumber() + 1;
  const started = Date.now();
  const refusals = await poolExtrinsics(rpcUrl, extrinsics);
  const pooledIn = Date.now() - started;
  const refused = refusals.filter((refusal) => refusal !== null);
  let included = 0;
  let lastProgress = first;
  let last = first - 1;
  while (included < expected && last - lastProgress < STALL_BLOCKS) {
    await until(async () => (await blocks.settled()).has(last + 1), `block ${last + 1}`, 10 * BLOCK_MS + 60_000);
    last += 1;
    const got = blocks.rows.get(last).counts.get(event) ?? 0;
    if (got > 0) {
      included += got;
      lastProgress = last;
    }
  }
  const rows = [...blocks.rows.values()].filter((row) => row.number >= first && row.number <= lastProgress);
  const limits = api.consts.system.blockWeights;
  const normalMax = limits.perClass.normal.maxTotal.unwrap();
  const percent = (used, max) => `${((100 * Number(used.toBigInt())) / Number(max.toBigInt())).toFixed(1)}%`;
  const ms = (weight) => `${(Number(weight.refTime.toBigInt()) / 1e9).toFixed(1)} ms`;
  const kib = (weight) => `${(Number(weight.proofSize.toBigInt()) / 1024).toFixed(0)} KiB`;
  log('');
  log(`${name}: ${extrinsics.length} sent in ${pooledIn} ms, ${extrinsics.length - refused.length} pooled, `
    + `${refused.length} refused; ${included} of ${expected} in ${rows.length} block(s), `
    + `${expected - included} dropped`);
  for (const reason of new Set(refused)) {
    log(`  refused ${refused.filter((one) => one === reason).length}x: ${reason}`);
  }
  log('  block | in phase | extrinsics | normal ref time     | normal proof size     | mandatory ref / proof | bytes   | pool | RSS');
  for (const row of rows) {
    const failed = row.counts.get('system.ExtrinsicFailed') ?? 0;
    log(`  ${String(row.number).padStart(5)} | ${String(row.counts.get(event) ?? 0).padStart(8)} | `
      + `${String(row.extrinsics).padStart(10)} | ${ms(row.normal).padStart(9)} ${percent(row.normal.refTime, normalMax.refTime).padStart(6)} | `
      + `${kib(row.normal).padStart(10)} ${percent(row.normal.proofSize, normalMax.proofSize).padStart(6)} | `
      + `${ms(row.mandatory).padStart(8)} / ${kib(row.mandatory).padStart(8)} | ${String(row.bytes).padStart(7)} | `
      + `${String(row.pending).padStart(4)} | ${row.rss.toFixed(0)} MiB${failed ? `, ${failed} failed` : ''}`);
  }
  return { complete: refused.length === 0 && included === expected, first };
}

/** Signs each of `txs` (`[tx, pair, nonce]`) as an immortal signed extrinsic and pools them in batches. */
async function poolSigned(rpcUrl, txs) {
  for (let start = 0; start < txs.length; start += SETUP_BATCH) {
    const batch = await Promise.all(txs.slice(start, start + SETUP_BATCH).map(async ([tx, pair, nonce]) => {
      await tx.signAsync(pair, { nonce, era: 0 });
      return tx.toHex();
    }));
    const refused = (await poolExtrinsics(rpcUrl, batch)).filter((refusal) => refusal !== null);
    if (refused.length > 0) {
      throw new Error(`the pool refused ${refused.length} set-up transactions: ${refused[0]}`);
    }
  }
}

/** `alice` sends each of `owners` a node's stake and deposit; resolves once every transfer is in. */
async function fundOwners(api, rpcUrl, alice, owners) {
  const nonce = (await api.rpc.system.accountNextIndex(alice.address)).toNumber();
  await poolSigned(rpcUrl, owners.map((owner, i) => [
    api.tx.balances.transferKeepAlive(owner.address, OWNER_FUNDS), alice, nonce + i]));
  await until(async () => (await api.query.system.account(alice.address)).nonce.toNumber() >= nonce + owners.length,
    'funding the owners', 600_000);
}

/** Registers `NODES` trainers, each of an owner of its own; returns their node keys by node id. */
async function registerTrainers(api, rpcUrl, alice) {
  const keyring = new Keyring({ type: 'sr25519' });
  const owners = Array.from({ length: NODES }, (_, i) => keyring.addFromUri(`//tessera-scale/owner/${i}`));
  const keys = Array.from({ length: NODES }, (_, i) => keyring.addFromUri(`//tessera-scale/node/${i}`));
  await fundOwners(api, rpcUrl, alice, owners);
  const nodesBefore = (await api.query.nodeRegistry.nodeCount()).toNumber();
  await poolSigned(rpcUrl, owners.map((owner, i) => [
    api.tx.nodeRegistry.register(['Trainer'], 'eu-west', 512n << 8n, u8aToHex(new Uint8Array(32).fill(3)),
      u8aToHex(keys[i].publicKey), u8aToHex(keyOwnershipProof(api, keys[i], owner)), STAKE),
    owner, 0]));
  await until(async () => (await api.query.nodeRegistry.nodeCount()).toNumber() >= nodesBefore + NODES,
    'registering the trainers', 600_000);
  const ids = await api.query.nodeRegistry.nodeOfKey.multi(keys.map((key) => key.publicKey));
  return new Map(ids.map((id, i) => [id.unwrap().toNumber(), keys[i]]));
}

/**
 * Posts `count` jobs of `REPLICAS` replicas fine-tuning the genesis model on its dataset, each
 * from a seed of its own, no more at a time than the pending queue holds, with deadlines spread
 * over blocks so that no block's due list fills; returns each job's id and replicas once every
 * one has its replicas.
 */
async function postJobs(api, rpcUrl, alice, count) {
  const [[, root]] = await api.call.modelApi.versions(0);
  const [[, dataset]] = await api.call.modelApi.datasets();
  const spec = (seed) => ({
    architecture: { Mlp: { hidden: [16] } },
    baseWeights: root.weights.toHex(),
    baseDigest: root.digest.toHex(),
    dataset: dataset.cid.toHex(),
    hyperParameters: {
      learningRate: 100_000_000, batchSize: BATCH_SIZE, steps: STEPS_PER_CHECKPOINT * CHECKPOINTS,
      checkpointEvery: STEPS_PER_CHECKPOINT, seed,
    },
    texts: [],
    trainerBuild: u8aToHex(new Uint8Array(32).fill(2)),
    backend: 'CpuReference',
  });
  const capacity = api.consts.proofOfCompute.maxPendingJobs.toNumber();
  const perDeadline = api.consts.proofOfCompute.maxDuePerBlock.toNumber() / 2;
  const firstJob = (await api.query.proofOfCompute.nextJobId()).toNumber();
  const deadline = (await api.query.system.number()).toNumber() + 1_200;
  let posted = 0;
  while (posted < count) {
    const pending = (await api.query.proofOfCompute.pending()).length;
    const wave = Math.min(count - posted, capacity - pending - 8);
    if (wave > 0) {
      const nonce = (await api.rpc.system.accountNextIndex(alice.address)).toNumber();
      await poolSigned(rpcUrl, Array.from({ length: wave }, (_, i) => [
        api.tx.proofOfCompute.createJob(spec(posted + i), BUDGET, REPLICAS, deadline + Math.floor((posted + i) / perDeadline)),
        alice, nonce + i]));
      posted += wave;
      await until(async () => (await api.query.proofOfCompute.nextJobId()).toNumber() >= firstJob + posted,
        'posting the jobs', 300_000);
    }
    await new Promise((resolve) => setTimeout(resolve, BLOCK_MS));
  }
  const jobs = Array.from({ length: count }, (_, i) => firstJob + i);
  await until(async () => (await api.query.proofOfCompute.pending()).length === 0,
    'assigning every job', count * BLOCK_MS * 2 + 120_000);
  const assignments = await api.query.proofOfCompute.assignments.multi(jobs);
  return jobs.map((job, i) => ({ job, replicas: assignments[i].unwrap().map((node) => node.toNumber()) }));
}

/** What every replica of `job` reports at `checkpoint`: the same digests, as if all trained alike. */
function payloadOf(job, checkpoint, node) {
  const digest = (what) => u8aToHex(blake2AsU8a(u8aConcat(new TextEncoder().encode(what), new Uint8Array([job, job >> 8, checkpoint]))));
  // A CIDv1 of raw bytes with a 32-byte digest, as the trainer's store names its blobs.
  const stateCid = u8aToHex(u8aConcat(new Uint8Array([0x01, 0x55, 0x12, 0x20]), blake2AsU8a(`state ${job} ${checkpoint}`)));
  return {
    job,
    checkpoint,
    step: STEPS_PER_CHECKPOINT * (checkpoint + 1),
    lossDigest: digest('loss'),
    gradientDigest: digest('gradient'),
    weightsDigest: digest('weights'),
    deltaRoot: digest('delta'),
    stateCid,
    samples: STEPS_PER_CHECKPOINT * BATCH_SIZE,
    backendClass: 'CpuReference',
    node,
    work: checkpoint + 1 === CHECKPOINTS ? STEPS_PER_CHECKPOINT * CHECKPOINTS * BATCH_SIZE : null,
  };
}

async function loadGenerated() {
  const node = await startDevNode({ blockTimeMs: BLOCK_MS, timeoutMs: 300_000 });
  const { api, rpcUrl } = node;
  const blocks = new BlockLog(node);
  let complete = false;
  try {
    const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
    await disableSpotChecks(api, alice);
    log(`registering ${NODES} trainers of ${NODES} owners...`);
    const keys = await registerTrainers(api, rpcUrl, alice);
    log(`posting ${JOBS} jobs of ${REPLICAS} replicas (${CHECKPOINTS} checkpoints each)...`);
    const jobs = await postJobs(api, rpcUrl, alice, JOBS);
    log(`every job has its replicas at block ${(await api.query.system.number()).toNumber()}`);
    await blocks.start();
    const salt = (job, node, checkpoint) => blake2AsU8a(`salt ${job} ${node} ${checkpoint}`);
    const outcomes = [];
    for (let checkpoint = 0; checkpoint < CHECKPOINTS; checkpoint += 1) {
      const replicas = jobs.flatMap(({ job, replicas }) => replicas.map((node) => ({ job, node })));
      const reveals = replicas.map(({ job, node }) => {
        const build = (signature) => api.tx.proofOfCompute.reveal(
          { payload: payloadOf(job, checkpoint, node), salt: u8aToHex(salt(job, node, checkpoint)) }, signature);
        return { job, node, reveal: signedBy(api, keys.get(node), 'tessera/poc-reveal', build) };
      });
      const commits = reveals.map(({ job, node, reveal }) => {
        const payload = reveal.args[0].payload.toU8a();
        const hash = blake2AsU8a(u8aConcat(payload, api.createType('u32', node).toU8a(), salt(job, node, checkpoint)));
        return signedBy(api, keys.get(node), 'tessera/poc-commit',
          (signature) => api.tx.proofOfCompute.commit({ job, checkpoint, node, hash: u8aToHex(hash) }, signature));
      });
      outcomes.push(await phase(node, blocks, `checkpoint ${checkpoint}: commits`, commits.map(authorizedExtrinsic),
        'proofOfCompute.Committed', commits.length));
      outcomes.push(await phase(node, blocks, `checkpoint ${checkpoint}: reveals`,
        reveals.map(({ reveal }) => authorizedExtrinsic(reveal)), 'proofOfCompute.Revealed', reveals.length));
    }
    // A job's last reveal queues its verification for the hooks, from the block the last
    // checkpoint's reveals began in.
    outcomes.push(await phase(node, blocks, 'verification (hooks)', [], 'proofOfCompute.JobAccepted', jobs.length,
      outcomes.at(-1).first));
    const now = (await api.query.system.number()).toNumber();
    const period = Math.floor(now / api.consts.nodeRegistry.heartbeatPeriod.toNumber());
    const heartbeats = [...keys].map(([id, key]) => signedBy(api, key, 'tessera/node-heartbeat',
      (signature) => api.tx.nodeRegistry.heartbeat({ node: id, period, block: now }, signature)));
    outcomes.push(await phase(node, blocks, 'heartbeats', heartbeats.map(authorizedExtrinsic),
      'nodeRegistry.HeartbeatReceived', heartbeats.length));
    complete = outcomes.every((outcome) => outcome.complete);
  } finally {
    await blocks.stop();
    await node.stop();
  }
  log('');
  log(complete ? 'every phase got all its transactions in' : 'some phase did not get all its transactions in');
  process.exitCode = complete ? 0 : 1;
}

/** The events of blocks `first` to `last`. */
async function eventsBetween(api, first, last) {
  const events = [];
  for (let number = first; number <= last; number += 1) {
    const at = await api.at(await api.rpc.chain.getBlockHash(number));
    events.push(...(await at.query.system.events()).map(({ event }) => event));
  }
  return events;
}

/**
 * The off-chain worker path: `OFFCHAIN_KEYS` trainers enrolled in the dev node, their jobs
 * trained and committed by the worker; prints the worker's time per block.
 */
async function offchain() {
  const seed = await genesisStore();
  const trainer = await startTrainer({ seed });
  const logDir = await mkdtemp(join(tmpdir(), 'tessera-scale-'));
  const logPath = join(logDir, 'node.log');
  const node = await startDevNode({
    blockTimeMs: BLOCK_MS, timeoutMs: 300_000, log: { path: logPath, targets: 'runtime::proof-of-compute=debug' },
  });
  const { api, rpcUrl } = node;
  let complete = false;
  try {
    const keyring = new Keyring({ type: 'sr25519' });
    const alice = keyring.addFromUri('//Alice');
    await disableSpotChecks(api, alice);
    const owners = Array.from({ length: OFFCHAIN_KEYS }, (_, i) => keyring.addFromUri(`//tessera-scale/owner/${i}`));
    await fundOwners(api, rpcUrl, alice, owners);
    log(`enrolling ${OFFCHAIN_KEYS} trainers, their keys in the node's keystore...`);
    await Promise.all(owners.map((owner, i) => enrolNode(api, owner, `//tessera-scale/node/${i}`, trainer, STAKE)));
    const count = Math.floor(OFFCHAIN_KEYS / REPLICAS);
    log(`posting ${count} jobs of ${REPLICAS} replicas (${CHECKPOINTS} checkpoints each)...`);
    const first = (await api.query.system.number()).toNumber();
    const jobs = (await postJobs(api, rpcUrl, alice, count)).map(({ job }) => job);
    const states = async () => (await api.query.proofOfCompute.jobs.multi(jobs))
      .map((info) => (info.isSome ? info.unwrap().state.type : 'Pruned'));
    const settled = async () => (await states()).every((state) => !['Created', 'Assigned', 'Running'].includes(state));
    await until(settled, 'settling every job', 1_800_000);
    const last = (await api.query.system.number()).toNumber();
    const outcomes = new Map();
    for (const state of await states()) {
      outcomes.set(state, (outcomes.get(state) ?? 0) + 1);
    }
    const slashed = (await eventsBetween(api, first, last)).filter((event) => api.events.nodeRegistry.NodeSlashed.is(event));
    const took = [...readFileSync(logPath, 'utf8').matchAll(/off-chain work of block (\d+) took (\d+) ms/g)]
      .filter(([, block]) => Number(block) >= first && Number(block) <= last)
      .map(([, , ms]) => Number(ms))
      .sort((a, b) => a - b);
    const quantile = (q) => took[Math.min(took.length - 1, Math.floor(q * took.length))];
    log('');
    log(`off-chain worker, ${OFFCHAIN_KEYS} node keys in one node, one trainer; ${count} jobs settled `
      + `in blocks ${first}..${last} (${BLOCK_MS} ms blocks): `
      + `${[...outcomes].map(([state, n]) => `${n} ${state}`).join(', ')}; ${slashed.length} slash(es)`);
    log(`  proof-of-compute worker per block over ${took.length} blocks: median ${quantile(0.5)} ms, `
      + `90th percentile ${quantile(0.9)} ms, most ${took.at(-1)} ms; `
      + `${took.filter((ms) => ms > BLOCK_MS).length} block(s) longer than the block time`);
    complete = took.length > 0 && (outcomes.get('Accepted') ?? 0) + (outcomes.get('Finalized') ?? 0) === count
      && slashed.length === 0;
  } finally {
    await node.stop();
    await trainer.stop();
    await rm(seed, { recursive: true, force: true });
    await rm(logDir, { recursive: true, force: true });
  }
  process.exitCode = complete ? 0 : 1;
}

await (OFFCHAIN_KEYS === undefined ? loadGenerated() : offchain());
