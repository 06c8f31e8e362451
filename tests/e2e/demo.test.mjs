// The demo's flow, asserted step by step: four compute nodes with their own trainers (one
// reports wrong digests) replicate a fine-tuning of the genesis model; commit–reveal,
// verification by majority, the challenge window, the liar slashed, the others paid, their
// reputations moved and the new model version activated.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import {
  disableSpotChecks, enrolOperators, FINE_TUNING, followEvents, GENESIS, shortenChallengeWindow,
  snapshot, startDemoNetwork, startFineTuning,
} from './lib/demo-network.mjs';
import { cidBytes } from './lib/trainer.mjs';

const context = {};
before(async () => {
  context.network = await startDemoNetwork({ blockTimeMs: 1_000 });
});
after(async () => {
  await context.stopFollowing?.();
  await context.network?.stop();
});

/** Resolves with the first recorded event that `matches`, waiting up to `timeoutMs`. */
function eventually(events, matches, what, timeoutMs) {
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

test('a fine-tuning job runs from request to reward, and the node that lies is slashed', async () => {
  const { node: { api }, trainers } = context.network;
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const ferdie = keyring.addFromUri('//Ferdie');
  const { poc, models } = { poc: api.events.proofOfCompute, models: api.events.modelRegistry };

  const operators = await enrolOperators(api, trainers);
  for (const { node, stake, pair } of operators) {
    const record = (await api.call.nodeRegistryApi.node(node)).unwrap();
    assert.equal(record.stake.toBigInt(), stake);
    assert.ok(record.owner.eq(pair.address));
  }
  const [liar, ...honest] = [operators[3], ...operators.slice(0, 3)];
  await disableSpotChecks(api, alice);
  await shortenChallengeWindow(api, alice);
  assert.equal((await api.query.reputation.spotCheckBase()).toNumber(), 0);

  const before = await snapshot(api, operators);
  const events = [];
  context.stopFollowing = await followEvents(api, (event, block) => events.push({ event, block }));
  const ferdieBefore = (await api.query.system.account(ferdie.address)).data;
  const { job, baseDigest } = await startFineTuning(api, { buyer: ferdie, approver: alice, redundancy: 4 });
  const ofJob = (check) => ({ event }) => check.is(event) && event.data.job.toNumber() === job;

  // Assigned to all four active trainers, within a few blocks.
  const assigned = await eventually(events, ofJob(poc.JobAssigned), 'JobAssigned', 30_000);
  assert.deepEqual(
    assigned.event.data.nodes.map((node) => node.toNumber()).sort(),
    operators.map(({ node }) => node).sort(),
  );

  // Every replica commits every checkpoint and reveals the final one; then the majority is
  // accepted. (A reveal of an earlier checkpoint may still follow: a dispute would need it.)
  const accepted = await eventually(events, ofJob(poc.JobAccepted), 'JobAccepted', 180_000);
  const checkpoints = FINE_TUNING.hyperParameters.steps / FINE_TUNING.hyperParameters.checkpointEvery;
  const onceEach = (kind) => {
    const seen = events.filter(ofJob(kind)).map(({ event }) => `${event.data.node}/${event.data.checkpoint}`);
    assert.equal(seen.length, operators.length * checkpoints, `${kind.meta.name} once per replica and checkpoint`);
    assert.equal(new Set(seen).size, seen.length, `no ${kind.meta.name} twice`);
  };
  onceEach(poc.Committed);
  const honestFinal = (await (await fetch(`${trainers[0].url}/v1/jobs/${job}`)).json()).commitments.at(-1);
  assert.equal(accepted.event.data.weightsDigest.toHex(), honestFinal.weights_digest);
  const liarReveals = events.filter(ofJob(poc.Revealed)).filter(({ event }) => event.data.node.toNumber() === liar.node);
  assert.ok(liarReveals.every(({ event }) => event.data.weightsDigest.toHex() !== honestFinal.weights_digest));

  // Nothing is paid or slashed during the challenge window; then everything at once.
  assert.equal(events.filter(ofJob(poc.RewardPaid)).length, 0);
  assert.equal(events.filter(ofJob(poc.ReplicaSlashed)).length, 0);
  const finalized = await eventually(events, ofJob(poc.JobFinalized), 'JobFinalized', 180_000);
  assert.ok(finalized.block >= accepted.event.data.challengeEnds.toNumber());
  const atFinalization = events.filter(({ block }) => block === finalized.block);
  onceEach(poc.Revealed);

  const slashes = atFinalization.filter(ofJob(poc.ReplicaSlashed));
  assert.deepEqual(slashes.map(({ event }) => event.data.node.toNumber()), [liar.node]);
  const slashed = slashes[0].event.data.amount.toBigInt();
  assert.equal(slashed, liar.stake / 10n, 'a failed verification costs 10% of the stake');

  const rewards = new Map(atFinalization.filter(ofJob(poc.RewardPaid))
    .map(({ event }) => [event.data.node.toNumber(), event.data.amount.toBigInt()]));
  assert.deepEqual([...rewards.keys()].sort(), honest.map(({ node }) => node).sort());
  const paid = [...rewards.values()].reduce((sum, amount) => sum + amount, 0n);
  assert.ok([...rewards.values()].every((amount) => amount > 0n));
  assert.equal(paid + finalized.event.data.refunded.toBigInt(), FINE_TUNING.budget, 'the budget is paid out or refunded');

  const afterwards = await snapshot(api, operators);
  for (const [index, operator] of operators.entries()) {
    const [was, is] = [before[index], afterwards[index]];
    if (operator === liar) {
      assert.equal(is.stake, was.stake - slashed);
      assert.equal(is.free, was.free, 'a slash takes from the stake only');
      assert.equal(is.score, 0, 'a failed verification zeroes the reputation');
    } else {
      assert.equal(is.stake, was.stake);
      assert.equal(is.free, was.free + rewards.get(operator.node), 'the reward reaches the owner');
      assert.ok(is.score > was.score, `${operator.name}'s reputation rises`);
    }
  }
  const ferdieAfter = (await api.query.system.account(ferdie.address)).data;
  // The budget and the proposal's deposit are released; the job's storage deposit stays
  // until the job is pruned, after its retention.
  const { deposit } = (await api.call.computeApi.job(job)).unwrap();
  assert.equal(
    ferdieAfter.reserved.toBigInt(),
    ferdieBefore.reserved.toBigInt() + deposit.toBigInt(),
    'budget and proposal deposit released',
  );

  // The model registry makes the result the genesis model's current version.
  const activated = await eventually(
    events, ({ event }) => models.VersionActivated.is(event) && event.data.job.toNumber() === job, 'VersionActivated', 30_000);
  assert.equal(activated.event.data.model.toNumber(), GENESIS.model);
  assert.equal(activated.event.data.modelDigestBefore.toHex(), baseDigest);
  assert.equal(activated.event.data.modelDigestAfter.toHex(), honestFinal.weights_digest);
  const model = (await api.call.modelApi.model(GENESIS.model)).unwrap();
  assert.ok(model.current.eq(activated.event.data.version));
  const version = (await api.call.modelApi.versions(GENESIS.model)).find(([index]) => index.eq(model.current))[1];
  assert.deepEqual(version.weights.toU8a(true), cidBytes(honestFinal.state_cid));
  assert.equal(version.producedByJob.unwrap().toNumber(), job);
});
