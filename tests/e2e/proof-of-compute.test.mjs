// A training job is posted with a held budget, gets the dev chain's only trainer as its
// replica at the next block, shows in ComputeApi, and — with no trainer committing — fails
// at its deadline and refunds the requester.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { startDevNode } from './lib/dev-node.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { registerNode } from './lib/nodes.mjs';

const UNIT = 1_000_000_000_000n;

let node;

before(async () => {
  node = await startDevNode();
});

after(async () => {
  await node?.stop();
});

test('a job is assigned to a registered trainer, readable through ComputeApi, and refunded when it fails', async () => {
  const { api } = node;
  const keyring = new Keyring({ type: 'sr25519' });
  const owner = keyring.addFromUri('//Dave');
  const requester = keyring.addFromUri('//Ferdie');
  const nodeKey = keyring.addFromUri('//tessera-e2e-trainer');

  const trainer = await registerNode(api, owner, nodeKey, 2n * UNIT);

  const budget = 2n * UNIT;
  const reservedBefore = (await api.query.system.account(requester.address)).data.reserved.toBigInt();
  const deadline = (await api.query.system.number()).toNumber() + 8;
  // Jobs train on approved datasets from registered versions: the genesis model's and its
  // dataset.
  const [[, root]] = await api.call.modelApi.versions(0);
  const [[, dataset]] = await api.call.modelApi.datasets();
  const spec = {
    architecture: { Mlp: { hidden: [64] } },
    baseWeights: root.weights.toHex(),
    baseDigest: root.digest.toHex(),
    dataset: dataset.cid.toHex(),
    hyperParameters: { learningRate: 100_000_000, batchSize: 32, steps: 20, checkpointEvery: 10, seed: 1 },
    texts: [],
    trainerBuild: u8aToHex(new Uint8Array(32).fill(2)),
    backend: 'CpuReference',
  };
  const { events } = await inBlock(api.tx.proofOfCompute.createJob(spec, budget, 1, deadline), requester);
  const created = events.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event));
  assert.ok(created, 'a proofOfCompute.JobCreated event');
  const job = created.event.data.job.toNumber();
  const reserved = (await api.query.system.account(requester.address)).data.reserved.toBigInt();
  const { deposit } = (await api.call.computeApi.job(job)).unwrap();
  assert.ok(deposit.toBigInt() > 0n, 'the job holds a storage deposit');
  assert.equal(reserved - reservedBefore, budget + deposit.toBigInt());

  const assigned = await waitForEvent(
    api, (event) => api.events.proofOfCompute.JobAssigned.is(event) && event.data.job.toNumber() === job, 30_000);
  assert.deepEqual(assigned.data.nodes.map((n) => n.toNumber()), [trainer]);
  const info = (await api.call.computeApi.job(job)).unwrap();
  assert.ok(info.state.isAssigned, `state ${info.state}`);
  assert.equal(info.checkpoints.toNumber(), 2);
  assert.deepEqual((await api.call.computeApi.assignments(job)).map((n) => n.toNumber()), [trainer]);
  assert.ok((await api.query.proofOfCompute.openJobs(trainer, job)).isSome);

  // No trainer service runs here, so nothing is committed: the deadline fails the job.
  const failed = await waitForEvent(
    api, (event) => api.events.proofOfCompute.JobFailed.is(event) && event.data.job.toNumber() === job, 60_000);
  assert.equal(failed.data.refunded.toBigInt(), budget);
  assert.ok((await api.call.computeApi.job(job)).unwrap().state.isFailed);
  // The budget is back; the storage deposit stays until the job is pruned, after its
  // retention.
  assert.equal(
    (await api.query.system.account(requester.address)).data.reserved.toBigInt(),
    reservedBefore + deposit.toBigInt(),
  );
  assert.ok((await api.query.proofOfCompute.openJobs(trainer, job)).isNone);
});
