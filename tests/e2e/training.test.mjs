// A job trained for real: the node's off-chain worker has a trainer service train it,
// commits and reveals each checkpoint signed with the node key, and the chain verifies what
// the trainer computed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { stringToHex, stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { startDevNode } from './lib/dev-node.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { registerTrainer } from './lib/nodes.mjs';
import { cidBytes, startTrainer } from './lib/trainer.mjs';

const UNIT = 1_000_000_000_000n;
const NODE_KEY_SEED = '//tessera-e2e-worker';

let node;
let trainer;

before(async () => {
  [node, trainer] = await Promise.all([startDevNode(), startTrainer()]);
});

after(async () => {
  await node?.stop();
  await trainer?.stop();
});

/** 64 samples of two features, labelled by which side of a line they lie. */
function table() {
  const rows = ['x,y,label'];
  for (let row = 0; row < 64; row += 1) {
    const [x, y] = [(row % 7) / 7, (row % 5) / 5];
    rows.push(`${x},${y},${x + y > 0.8 ? 1 : 0}`);
  }
  return rows.join('\n');
}

test('the off-chain worker brings a trainer\'s commitments to the chain, which verifies them', async () => {
  const { api } = node;
  const keyring = new Keyring({ type: 'sr25519' });
  const owner = keyring.addFromUri('//Dave');
  const requester = keyring.addFromUri('//Ferdie');
  const nodeKey = keyring.addFromUri(NODE_KEY_SEED);

  const trainerNode = await registerTrainer(api, owner, nodeKey, 2n * UNIT);

  // The node holds the key and knows where its trainer listens.
  await api.rpc.author.insertKey('tsra', NODE_KEY_SEED, u8aToHex(nodeKey.publicKey));
  const urlKey = u8aConcat(stringToU8a('tessera/proof-of-compute/trainer-url/'), nodeKey.publicKey);
  await api.rpc.offchain.localStorageSet('PERSISTENT', u8aToHex(urlKey), stringToHex(trainer.url));

  const stored = await (await fetch(`${trainer.url}/v1/blobs`, { method: 'PUT', body: table() })).json();
  const spec = {
    architecture: { Mlp: { hidden: [8] } },
    baseWeights: '0x',
    baseDigest: u8aToHex(new Uint8Array(32)),
    dataset: u8aToHex(cidBytes(stored.cid)),
    hyperParameters: { learningRate: 100_000_000, batchSize: 8, steps: 20, checkpointEvery: 10, seed: 3 },
    texts: [],
    trainerBuild: u8aToHex(new Uint8Array(32)),
    backend: 'CpuReference',
  };
  const deadline = (await api.query.system.number()).toNumber() + 60;
  const { events } = await inBlock(api.tx.proofOfCompute.createJob(spec, 2n * UNIT, 1, deadline), requester);
  const job = events.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event)).event.data.job.toNumber();

  // With one replica, verification follows its final reveal: accepted, or disputed when the
  // reputation pallet draws a spot-check of the new node (one time in five).
  const verified = await waitForEvent(
    api,
    (event) => (api.events.proofOfCompute.JobAccepted.is(event) || api.events.proofOfCompute.JobDisputed.is(event))
      && event.data.job.toNumber() === job,
    150_000,
  );
  if (api.events.proofOfCompute.JobDisputed.is(verified)) {
    assert.ok(verified.data.reason.isSpotCheck, `disputed for ${verified.data.reason}`);
  }

  const status = await (await fetch(`${trainer.url}/v1/jobs/${job}`)).json();
  assert.equal(status.state, 'done');
  // Verification needs the final reveal only; a reveal of the first checkpoint that missed
  // its block is sent again while the result can still be challenged.
  let views = await api.call.computeApi.commitments(job);
  for (let waited = 0; views.some((view) => view.revealed.isNone) && waited < 90_000; waited += 3_000) {
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    views = await api.call.computeApi.commitments(job);
  }
  assert.equal(views.length, 2, 'both checkpoints committed');
  for (const view of views) {
    assert.equal(view.node.toNumber(), trainerNode);
    const revealed = view.revealed.unwrap();
    const reported = status.commitments[view.checkpoint.toNumber()];
    assert.equal(revealed.weightsDigest.toHex(), reported.weights_digest);
    assert.equal(revealed.deltaRoot.toHex(), reported.delta_root);
    assert.deepEqual(revealed.stateCid.toU8a(true), cidBytes(reported.state_cid));
  }
  const final = views.find((view) => view.checkpoint.toNumber() === 1).revealed.unwrap();
  assert.equal(final.computeSeconds.unwrap().toNumber(), status.compute_seconds);
  if (api.events.proofOfCompute.JobAccepted.is(verified)) {
    const info = (await api.call.computeApi.job(job)).unwrap();
    assert.ok(info.state.isAccepted);
    assert.equal(info.result.unwrap().weightsDigest.toHex(), status.commitments[1].weights_digest);
  }
});
