// A private federated job spends a data owner's privacy budget: the owner grants a node's
// DID its dataset with an (ε, δ) budget; a federated job that declares its noise is drawn to
// that node, the chain states the ε the job spends and takes it from the grant, the
// aggregator's trainer adds the declared noise, and a second such job, which what is left of
// the budget no longer covers, finds nobody.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { approveDataset } from './lib/datasets.mjs';
import { createDid } from './lib/dids.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { enrolNode } from './lib/nodes.mjs';
import {
  cidBytes, csvJobSpec, csvTable, devNodeWithTrainer, startTrainer, trainOffChain,
} from './lib/trainer.mjs';

const UNIT = 1_000_000_000_000n;
const STAKE = 2n * UNIT;
/** σ = 1.1 on a clipping norm of 1, every participant every round, δ = 10⁻⁵. */
const PRIVACY = { clipMilli: 1_000, noiseMultiplierMilli: 1_100, sampling: 1_000_000_000, delta: 10_000 };
const ROUNDS = 2;

/**
 * The ε of the Gaussian mechanism with noise multiplier `sigma` over `rounds` rounds, for
 * `delta`: RDP α·rounds/(2σ²) at the integer orders the chain uses, converted as it does.
 */
function epsilon(sigma, rounds, delta) {
  const orders = [2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64];
  return Math.min(...orders.map((alpha) => (alpha * rounds) / (2 * sigma * sigma)
    + Math.log((alpha - 1) / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1)));
}

const context = devNodeWithTrainer({ blockTimeMs: 1_000 });

test('a private federated job spends its epsilon from the grant, and a job the rest no longer covers is refused', async () => {
  const { node: { api }, trainer } = context;
  const aggregatorTrainer = await startTrainer();
  try {
    const keyring = new Keyring({ type: 'sr25519' });
    const [alice, charlie, dave, eve] = ['//Alice', '//Charlie', '//Dave', '//Eve'].map((uri) => keyring.addFromUri(uri));
    await inBlock(api.tx.sudo.sudo(api.tx.reputation.setSpotCheckBase(0)), alice);
    const dataOwner = await createDid(api, charlie, keyring.addFromUri('//tessera-e2e-private-owner'));
    const nodeDid = await createDid(api, dave, keyring.addFromUri('//tessera-e2e-private-node'));
    const participant = await enrolNode(api, dave, '//tessera-e2e-private-participant', trainer, STAKE);
    await inBlock(api.tx.nodeRegistry.linkDid(participant, nodeDid), dave);
    await enrolNode(api, eve, '//tessera-e2e-private-aggregator', aggregatorTrainer, STAKE, ['Validator']);

    // Updates are clipped against the state their round started from: the job starts from a
    // registered version, a state the participant's trainer made and the aggregator's holds.
    const data = await trainer.put(csvTable());
    assert.equal((await aggregatorTrainer.put(csvTable())).cid, data.cid);
    const root = await trainOffChain(trainer, {
      job: 4_000_000_001,
      architecture: { kind: 'mlp', hidden: [8] },
      dataset: { cid: data.cid },
      hyper_parameters: { learning_rate: 0.1, batch_size: 8, steps: 10, checkpoint_every: 10, seed: 2 },
      backend: 'reference',
    });
    const rootState = await (await fetch(`${trainer.url}/v1/blobs/${root.state_cid}`)).arrayBuffer();
    assert.equal((await aggregatorTrainer.put(Buffer.from(rootState))).cid, root.state_cid);
    await inBlock(
      api.tx.modelRegistry.registerModel(null, 'private-mlp', 'mlp', 'bafy-meta', u8aToHex(cidBytes(root.state_cid)), root.weights_digest),
      charlie,
    );

    // The owner grants the node's DID its data, with a budget for one such job and a half.
    await approveDataset(api, data.cid, { owner: charlie, approver: alice, did: dataOwner, consent: 'Granted' });
    const dataset = u8aToHex(cidBytes(data.cid));
    const expected = Math.ceil(epsilon(1.1, ROUNDS, 1e-5) * 1_000);
    const budget = { epsilonMilli: Math.floor(expected * 1.5), delta: PRIVACY.delta };
    const expiresAt = (await api.query.system.number()).toNumber() + 1_000;
    await inBlock(api.tx.did.grantAccess(dataOwner, dataset, nodeDid, expiresAt, 'bafkreiencryptedkey'), charlie);
    await inBlock(api.tx.did.setPrivacyBudget(dataOwner, dataset, nodeDid, budget), charlie);

    const spec = {
      ...csvJobSpec(data.cid, { learningRate: 100_000_000, batchSize: 8, steps: 10 * ROUNDS, checkpointEvery: 10, seed: 3 }),
      baseWeights: u8aToHex(cidBytes(root.state_cid)),
      baseDigest: root.weights_digest,
    };
    const post = async () => {
      const deadline = (await api.query.system.number()).toNumber() + 200;
      const { events } = await inBlock(api.tx.proofOfCompute.createFederatedJob(spec, 2n * UNIT, 1, 1, deadline, PRIVACY), alice);
      const created = events.find(({ event }) => api.events.proofOfCompute.FederatedJobCreated.is(event)).event.data;
      return { job: created.job.toNumber(), spends: created.epsilonMilli.unwrap().toNumber() };
    };

    const first = await post();
    // The chain's fixed-point accountant and this float one agree to the thousandth.
    assert.ok(Math.abs(first.spends - expected) <= 1, `chain ${first.spends}, expected ${expected}`);
    const spent = await waitForEvent(
      api, (event) => api.events.did.PrivacySpent.is(event) && event.data.grantee.toHex() === nodeDid, 30_000);
    assert.equal(spent.data.job.toNumber(), first.job);
    assert.equal(spent.data.epsilonMilli.toNumber(), first.spends);
    const assigned = (await api.call.computeApi.assignments(first.job)).map((node) => node.toNumber());
    assert.deepEqual(assigned, [participant]);

    // The aggregator's trainer adds the declared noise and the job is accepted with it.
    const accepted = await waitForEvent(
      api, (event) => api.events.proofOfCompute.JobAccepted.is(event) && event.data.job.toNumber() === first.job, 240_000);
    const last = (await api.query.proofOfCompute.aggregations(first.job, ROUNDS - 1)).unwrap();
    assert.equal(accepted.data.weightsDigest.toHex(), last.weightsDigest.toHex());

    const grant = (await api.call.didApi.grantsForDataset(dataset)).find((entry) => entry.grantee.toHex() === nodeDid);
    assert.equal(grant.grant.spentEpsilonMilli.toNumber(), first.spends);
    assert.equal(grant.grant.budget.unwrap().epsilonMilli.toNumber(), budget.epsilonMilli);

    // What is left no longer covers a second such job, and no other grant does: it is
    // refused when posted, and nothing of Alice's is held for it.
    const heldBefore = (await api.query.system.account(alice.address)).data.reserved.toBigInt();
    await assert.rejects(post(), /proofOfCompute\.NoConsent/);
    assert.equal((await api.query.system.account(alice.address)).data.reserved.toBigInt(), heldBefore);
  } finally {
    await aggregatorTrainer.stop();
  }
});
