// Starts `tessera-trainer serve` on a free port with a store of its own, for one test file.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { u8aToHex } from '@polkadot/util';
import { base32Decode, base32Encode } from '@polkadot/util-crypto';
import { freePort, startDevNode } from './dev-node.mjs';
import { waitForEvent } from './extrinsics.mjs';

const TRAINER_BINARY = process.env.TESSERA_TRAINER;

/**
 * Starts a trainer and waits until `/v1/health` answers.
 *
 * A trainer listens twice: its control API at `url` (what its node's off-chain worker calls
 * and tests drive) and its public listener at `publicUrl`, which serves content by CID only
 * (what its node publishes with `nodeRegistry.setEndpoint` and other trainers fetch from).
 *
 * Options: `store` serves that store (kept afterwards) instead of a fresh one (removed by
 * `stop`); `seed` is a store whose content a fresh store starts with; `port` and `publicPort`
 * listen there; `allowOrigins` are web origins whose pages may read the control API (the
 * dashboard's); `wrongDigests` makes it report wrong weights digests, as a cheating node
 * would; `token` is the bearer token its control API then demands of every request
 * (`TESSERA_TRAINER_TOKEN`; the trainer enforces it on loopback too). Returns
 * `{ url, port, publicUrl, publicPort, store, token, headers, put, stop, kill }`: `headers`
 * authorise a `fetch` of the control API (none without a token); `put` stores a blob and
 * answers `{ cid, bytes }`; `stop` is idempotent; `kill` ends the trainer with SIGKILL, as a
 * crash would, and keeps the store.
 */
export async function startTrainer({
  store, seed, port, publicPort, allowOrigins = [], wrongDigests = false, token, timeoutMs = 30_000,
} = {}) {
  if (!TRAINER_BINARY) {
    throw new Error('TESSERA_TRAINER must name the tessera-trainer binary (scripts/test.sh sets it)');
  }
  const ownsStore = !store;
  store ??= await mkdtemp(join(tmpdir(), 'tessera-trainer-'));
  if (seed) {
    await cp(seed, store, { recursive: true });
  }
  port ??= await freePort();
  publicPort ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const log = [];
  const args = [
    '--store', store, 'serve', '--listen', `127.0.0.1:${port}`, '--public-listen', `127.0.0.1:${publicPort}`,
    ...allowOrigins.flatMap((origin) => ['--allow-origin', origin]),
    ...(wrongDigests ? ['--wrong-digests'] : []),
  ];
  // The token goes in the environment, not on the command line any local user can read;
  // none unless given, whatever this process inherited.
  const env = { ...process.env };
  delete env.TESSERA_TRAINER_TOKEN;
  if (token) {
    env.TESSERA_TRAINER_TOKEN = token;
  }
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const child = spawn(TRAINER_BINARY, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk) => log.push(chunk.toString()));
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const end = async (signal) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    }
    process.removeListener('exit', killOnExit);
  };
  const stop = async () => {
    await end('SIGINT');
    if (ownsStore) {
      await rm(store, { recursive: true, force: true });
    }
  };
  const kill = () => end('SIGKILL');

  const started = Date.now();
  for (;;) {
    try {
      const health = await fetch(`${url}/v1/health`, { headers });
      if (health.ok) {
        const put = async (body) => (await fetch(`${url}/v1/blobs`, { method: 'PUT', headers, body })).json();
        return { url, port, publicUrl, publicPort, store, token, headers, put, stop, kill };
      }
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() - started > timeoutMs) {
      await stop();
      throw new Error(`tessera-trainer did not serve within ${timeoutMs} ms:\n${log.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The bytes of a CIDv1 string in multibase `b` (lower-case base32 without padding). */
export function cidBytes(cid) {
  return base32Decode(cid, true);
}

/** The CIDv1 string (multibase `b`) of CID bytes. */
export function cidString(bytes) {
  return base32Encode(bytes, true);
}

/**
 * A CPU-reference job spec for a small MLP over the stored CSV table `datasetCid`, from the
 * seed, with `hyperParameters` (learning rate in parts per billion).
 */
export function csvJobSpec(datasetCid, hyperParameters) {
  return {
    architecture: { Mlp: { hidden: [8] } },
    baseWeights: '0x',
    baseDigest: u8aToHex(new Uint8Array(32)),
    dataset: u8aToHex(cidBytes(datasetCid)),
    hyperParameters,
    texts: [],
    trainerBuild: u8aToHex(new Uint8Array(32)),
    backend: 'CpuReference',
  };
}

/**
 * Trains `request` on `trainer` directly, under a job id the chain never gives out, until
 * done; returns its last commitment (the state a model's root version can be).
 */
export async function trainOffChain(trainer, request) {
  const post = await fetch(`${trainer.url}/v1/jobs`, {
    method: 'POST', headers: { ...trainer.headers, 'content-type': 'application/json' }, body: JSON.stringify(request),
  });
  if (post.status !== 202) {
    throw new Error(`the trainer refused the job: ${post.status} ${await post.text()}`);
  }
  for (;;) {
    const status = await (await fetch(`${trainer.url}/v1/jobs/${request.job}`, { headers: trainer.headers })).json();
    if (status.state !== 'running') {
      if (status.state !== 'done') {
        throw new Error(`the trainer's run ended ${status.state}: ${status.error}`);
      }
      return status.commitments.at(-1);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A CSV table of 64 samples of two features, labelled by which side of a line they lie. */
export function csvTable() {
  const rows = ['x,y,label'];
  for (let row = 0; row < 64; row += 1) {
    const [x, y] = [(row % 7) / 7, (row % 5) / 5];
    rows.push(`${x},${y},${x + y > 0.8 ? 1 : 0}`);
  }
  return rows.join('\n');
}

/**
 * Starts a dev node (with `nodeOptions`, see `startDevNode`) and a trainer (with
 * `trainerOptions`, see `startTrainer`) before a file's tests and stops both after them.
 */
export function devNodeWithTrainer(nodeOptions = {}, trainerOptions = {}) {
  const context = {};
  before(async () => {
    [context.node, context.trainer] = await Promise.all([startDevNode(nodeOptions), startTrainer(trainerOptions)]);
  });
  after(async () => {
    await context.node?.stop();
    await context.trainer?.stop();
  });
  return context;
}

/**
 * Waits for job `job` to be verified: its `JobAccepted`, or its `JobDisputed` when the
 * reputation pallet drew a spot-check of a replica (asserted to be the reason).
 */
export async function waitForVerdict(api, job) {
  const verdict = await waitForEvent(
    api,
    (event) => (api.events.proofOfCompute.JobAccepted.is(event) || api.events.proofOfCompute.JobDisputed.is(event))
      && event.data.job.toNumber() === job,
    150_000,
  );
  if (api.events.proofOfCompute.JobDisputed.is(verdict)) {
    assert.ok(verdict.data.reason.isSpotCheck, `disputed for ${verdict.data.reason}`);
  }
  return verdict;
}
