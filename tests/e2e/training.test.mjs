// A job trained for real: the node's off-chain worker has a trainer service train it,
// commits and reveals each checkpoint signed with the node key, and the chain verifies what
// the trainer computed. The trainer's control API demands a bearer token, which the worker
// sends from the node's offchain storage: without it the trainer trains nothing. The job
// names AdamW, whose moments the trainer keeps in the training states it commits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { approveDataset } from './lib/datasets.mjs';
import { inBlock } from './lib/extrinsics.mjs';
import { enrolNode } from './lib/nodes.mjs';
import { cidBytes, csvJobSpec, csvTable, devNodeWithTrainer, waitForVerdict } from './lib/trainer.mjs';

const UNIT = 1_000_000_000_000n;
const NODE_KEY_SEED = '//tessera-e2e-worker';
/** AdamW with β₁ 0.9, β₂ 0.999, ε 10⁻⁸ and a weight decay of 0.01, in parts per billion. */
const ADAMW = { AdamW: { beta1: 900_000_000, beta2: 999_000_000, epsilon: 10, weightDecay: 10_000_000 } };
/** What begins a training state that carries Adam's moments (the trainer's `ADAM_STATE_TAG`). */
const ADAM_STATE_TAG = 'tessera/adam-state/1\n';

const context = devNodeWithTrainer({}, { token: 'tessera-e2e-control-token' });

test('the off-chain worker brings a trainer\'s commitments to the chain, which verifies them', async () => {
  const { node: { api }, trainer } = context;
  const keyring = new Keyring({ type: 'sr25519' });
  const owner = keyring.addFromUri('//Dave');
  const requester = keyring.addFromUri('//Ferdie');
  // The node holds the node key and knows where its trainer listens and its token.
  const trainerNode = await enrolNode(api, owner, NODE_KEY_SEED, trainer, 2n * UNIT);

  const stored = await trainer.put(csvTable());
  await approveDataset(api, stored.cid, { owner: requester, approver: keyring.addFromUri('//Alice') });
  const spec = csvJobSpec(stored.cid, {
    learningRate: 10_000_000, batchSize: 8, steps: 20, checkpointEvery: 10, seed: 3, optimizer: ADAMW,
  });
  const deadline = (await api.query.system.number()).toNumber() + 60;
  const { events } = await inBlock(api.tx.proofOfCompute.createJob(spec, 2n * UNIT, 1, deadline), requester);
  const job = events.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event)).event.data.job.toNumber();
  const { optimizer } = (await api.call.computeApi.spec(job)).unwrap().hyperParameters;
  assert.ok(optimizer.isAdamW);
  assert.equal(optimizer.asAdamW.weightDecay.toNumber(), 10_000_000);

  // With one replica, verification follows its final reveal.
  const verified = await waitForVerdict(api, job);

  const status = await (await fetch(`${trainer.url}/v1/jobs/${job}`, { headers: trainer.headers })).json();
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
    // The state the chain names carries AdamW's moments beside the weights.
    const state = await fetch(`${trainer.url}/v1/blobs/${reported.state_cid}`, { headers: trainer.headers });
    const head = new TextDecoder().decode((await state.arrayBuffer()).slice(0, ADAM_STATE_TAG.length));
    assert.equal(head, ADAM_STATE_TAG);
  }
  const final = views.find((view) => view.checkpoint.toNumber() === 1).revealed.unwrap();
  // The trainer reports its run's work by the rule the chain pays by: what the chain holds
  // as the replica's delivered work.
  assert.equal(final.work.unwrap().toNumber(), status.work);
  const [, delivered] = await api.query.proofOfCompute.contributions(job, trainerNode);
  assert.equal(delivered.toNumber(), status.work);
  if (api.events.proofOfCompute.JobAccepted.is(verified)) {
    const info = (await api.call.computeApi.job(job)).unwrap();
    assert.ok(info.state.isAccepted);
    assert.equal(info.result.unwrap().weightsDigest.toHex(), status.commitments[1].weights_digest);
  }
});
