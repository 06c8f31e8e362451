// A crash in the middle of a job: the node and one honest trainer are killed with SIGKILL after
// the first commitment lands, and started again on the same data. The job must still
// complete, its model version be applied once, and no commitment be submitted twice.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { startDevNode } from './lib/dev-node.mjs';
import {
  disableSpotChecks, enrolOperators, eventsAt, FINE_TUNING, GENESIS, shortenChallengeWindow,
  startDemoNetwork, startFineTuning,
} from './lib/demo-network.mjs';
import { startTrainer } from './lib/trainer.mjs';
import { waitForEvent } from './lib/extrinsics.mjs';

const NODE_OPTIONS = { blockTimeMs: 1_000, archive: true };
const context = {};
before(async () => {
  context.basePath = await mkdtemp(join(tmpdir(), 'tessera-crash-'));
  context.network = await startDemoNetwork({ ...NODE_OPTIONS, basePath: context.basePath });
});
after(async () => {
  await context.network?.stop();
  await rm(context.basePath, { recursive: true, force: true });
});

/** Every event of blocks `from..=to`, read back from the node's (archive) state. */
async function eventsOfBlocks(api, from, to) {
  const events = [];
  for (let block = from; block <= to; block += 1) {
    events.push(...await eventsAt(api, block));
  }
  return events;
}

test('a job survives its node and a trainer being killed mid-job, and nothing is sent or applied twice', async () => {
  const { network } = context;
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  let { api } = network.node;
  const operators = await enrolOperators(api, network.trainers);
  await disableSpotChecks(api, alice);
  await shortenChallengeWindow(api, alice);
  const startBlock = (await api.rpc.chain.getHeader()).number.toNumber();
  const { job } = await startFineTuning(api, { buyer: keyring.addFromUri('//Ferdie'), approver: alice, redundancy: 4 });
  const ofJob = (check) => (event) => check.is(event) && event.data.job.toNumber() === job;

  // The crash: right after the first commitment of the job is in a block.
  await waitForEvent(api, ofJob(api.events.proofOfCompute.Committed), 60_000);
  const victim = network.trainers[0];
  const { rpcPort, p2pPort } = network.node;
  await Promise.all([network.node.kill(), victim.kill()]);

  network.trainers[0] = await startTrainer({ store: victim.store, port: victim.port, publicPort: victim.publicPort });
  network.node = await startDevNode({ ...NODE_OPTIONS, basePath: context.basePath, rpcPort, p2pPort });
  ({ api } = network.node);

  await waitForEvent(api, ofJob(api.events.proofOfCompute.JobFinalized), 300_000);
  // Three more blocks, in which a second application would show.
  const finalizedAt = (await api.rpc.chain.getHeader()).number.toNumber();
  while ((await api.rpc.chain.getHeader()).number.toNumber() < finalizedAt + 3) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const head = (await api.rpc.chain.getHeader()).number.toNumber();
  const events = await eventsOfBlocks(api, startBlock, head);
  const checkpoints = FINE_TUNING.hyperParameters.steps / FINE_TUNING.hyperParameters.checkpointEvery;
  const commits = events.filter(ofJob(api.events.proofOfCompute.Committed))
    .map(({ data }) => `${data.node}/${data.checkpoint}`);
  assert.equal(commits.length, operators.length * checkpoints, 'one commit per replica and checkpoint');
  assert.equal(new Set(commits).size, commits.length, 'no commitment twice');
  // Each opened by its reveal: the worker kept every salt across the crash.
  const reveals = events.filter(ofJob(api.events.proofOfCompute.Revealed))
    .map(({ data }) => `${data.node}/${data.checkpoint}`);
  assert.deepEqual(reveals.sort(), commits.sort());

  const versions = events.filter((event) => api.events.modelRegistry.VersionActivated.is(event)
    && event.data.job.toNumber() === job);
  assert.equal(versions.length, 1, 'the model version is applied once');
  assert.equal(versions[0].data.model.toNumber(), GENESIS.model);

  // The restarted trainer's node retrained to the same result and is paid like the others.
  const rewarded = events.filter(ofJob(api.events.proofOfCompute.RewardPaid)).map(({ data }) => data.node.toNumber());
  assert.deepEqual(rewarded.sort(), operators.slice(0, 3).map(({ node }) => node).sort());
});
