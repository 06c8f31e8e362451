// Federated training for real: three participants, each behind its own trainer, train two
// rounds on their own shards of a dataset; validators drawn by reputation, each behind its
// own trainer too, aggregate each round through their trainer's /v1/aggregate, fetching the
// updates from the participants' endpoints and the round's start state from the previous
// aggregator's, and the participants fetch each aggregate from the aggregator's to train
// the next round from it. The last aggregate is the job's result; a participant's update of
// the last round, challenged, is trained again by a panel of validators and upheld.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aConcat } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { approveDataset } from './lib/datasets.mjs';
import { followEvents } from './lib/demo-network.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { enrolNode } from './lib/nodes.mjs';
import { cidString, csvJobSpec, csvTable, devNodeWithTrainer, startTrainer } from './lib/trainer.mjs';

const UNIT = 1_000_000_000_000n;
const STAKE = 2n * UNIT;
/// 0.1 TSRA × (1 + 3 / 1 000) for a round of three updates.
const AGGREGATOR_FEE = (UNIT / 10n) * 1_003n / 1_000n;
const SHARDS = 4;
const u32 = (value) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
};

const context = devNodeWithTrainer({ blockTimeMs: 1_000 });

test('participants train their shards round by round from the aggregates that validators commit', async () => {
  const { node: { api }, trainer } = context;
  // Every node has a trainer of its own; the validators' hold the data but none of the
  // updates.
  const others = [await startTrainer(), await startTrainer()];
  const aggregatorTrainers = [await startTrainer(), await startTrainer(), await startTrainer()];
  try {
    const keyring = new Keyring({ type: 'sr25519' });
    const [alice, bob, charlie, dave, eve, ferdie] =
      ['//Alice', '//Bob', '//Charlie', '//Dave', '//Eve', '//Ferdie'].map((uri) => keyring.addFromUri(uri));
    await inBlock(api.tx.sudo.sudo(api.tx.reputation.setSpotCheckBase(0)), alice);
    const participantTrainers = [trainer, ...others];
    const participants = [];
    for (const [index, owner] of [dave, eve, ferdie].entries()) {
      const seed = `//tessera-e2e-participant-${index}`;
      participants.push(await enrolNode(api, owner, seed, participantTrainers[index], STAKE));
    }
    const validators = [];
    for (const [index, owner] of [alice, bob, charlie].entries()) {
      const seed = `//tessera-e2e-aggregator-${index}`;
      validators.push(await enrolNode(api, owner, seed, aggregatorTrainers[index], STAKE, ['Validator']));
    }
    const stored = await trainer.put(csvTable());
    for (const other of [...others, ...aggregatorTrainers]) {
      assert.equal((await other.put(csvTable())).cid, stored.cid);
    }
    await approveDataset(api, stored.cid, { owner: bob, approver: alice });
    const spec = csvJobSpec(stored.cid, { learningRate: 100_000_000, batchSize: 4, steps: 20, checkpointEvery: 10, seed: 5 });
    const events = [];
    const stopFollowing = await followEvents(api, (event) => {
      if (event.section === 'proofOfCompute') events.push(event);
    });
    const deadline = (await api.query.system.number()).toNumber() + 200;
    const { events: created } = await inBlock(
      api.tx.proofOfCompute.createFederatedJob(spec, 2n * UNIT, 3, SHARDS, deadline, null),
      bob,
    );
    const job = created.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event)).event.data.job.toNumber();

    const accepted = await waitForEvent(
      api,
      (event) => api.events.proofOfCompute.JobAccepted.is(event) && event.data.job.toNumber() === job,
      240_000,
    );
    while (events.filter((event) => api.events.proofOfCompute.RoundAggregated.is(event)).length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await stopFollowing();
    const ofJob = events.filter((event) => event.data.job?.toNumber() === job);
    const named = (name) => ofJob.filter((event) => api.events.proofOfCompute[name].is(event));

    assert.deepEqual(named('RoundOpened').map(({ data }) => data.round.toNumber()), [0, 1]);
    for (const { data } of named('RoundClosed')) {
      assert.equal(data.participants.toNumber(), 3);
      assert.deepEqual(data.aggregators.map((node) => node.toNumber()).sort(), [...validators].sort());
    }
    // Each participant trained the shard the chain drew for it: in the last round, whose
    // seed the chain still holds, updates are equal exactly where the shards are.
    const federation = (await api.query.proofOfCompute.federations(job)).unwrap();
    assert.equal(federation.round.toNumber(), 1);
    const shardOf = (node) => {
      const encoded = u8aConcat(u32(node), federation.seed.toU8a(), u32(1));
      return new DataView(blake2AsU8a(encoded).buffer).getUint32(0, true) % SHARDS;
    };
    const updates = named('Revealed')
      .filter(({ data }) => data.checkpoint.toNumber() === 1)
      .map(({ data }) => ({ shard: shardOf(data.node.toNumber()), digest: data.weightsDigest.toHex() }));
    assert.equal(updates.length, 3);
    for (const one of updates) {
      for (const other of updates) {
        assert.equal(one.shard === other.shard, one.digest === other.digest, JSON.stringify(updates));
      }
    }
    const aggregated = named('RoundAggregated');
    assert.deepEqual(aggregated.map(({ data }) => data.round.toNumber()), [0, 1]);
    // Every round is aggregated in the first seat's turn, by that seat, even where its trainer
    // did not make the aggregate the round started from: it fetches it.
    const firstSeats = named('RoundClosed').map(({ data }) => data.aggregators[0].toNumber());
    assert.deepEqual(aggregated.map(({ data }) => data.node.toNumber()), firstSeats);
    // An aggregator is paid once its aggregate can no longer be challenged: the first when
    // the second superseded it; the last only when the job's challenge window closes.
    assert.deepEqual(named('AggregatorPaid').map(({ data }) => data.amount.toBigInt()), [AGGREGATOR_FEE]);
    assert.equal(named('AggregatorPaid')[0].data.node.toNumber(), aggregated[0].data.node.toNumber());

    // The result is the last aggregate, served by its aggregator's trainer, which averaged
    // the second round from the first aggregate (fetched, if another validator made it),
    // as the participants trained it.
    const trainerOf = (node) => aggregatorTrainers[validators.indexOf(node.toNumber())];
    const last = (await api.query.proofOfCompute.aggregations(job, 1)).unwrap();
    assert.equal(accepted.data.weightsDigest.toHex(), last.weightsDigest.toHex());
    assert.equal(aggregated[1].data.weightsDigest.toHex(), last.weightsDigest.toHex());
    const result = await fetch(`${trainerOf(last.node).url}/v1/blobs/${cidString(last.stateCid.toU8a(true))}`);
    assert.equal(result.status, 200);
    const first = (await api.query.proofOfCompute.aggregations(job, 0)).unwrap();
    const secondStart = await fetch(`${trainerOf(last.node).url}/v1/blobs/${cidString(first.stateCid.toU8a(true))}`);
    assert.equal(secondStart.status, 200, 'the second round was averaged from the first aggregate');
    for (const participantTrainer of participantTrainers) {
      const status = await (await fetch(`${participantTrainer.url}/v1/jobs/${job}`)).json();
      assert.equal(status.commitments[0].step, 20);
      const resumedFrom = await fetch(`${participantTrainer.url}/v1/blobs/${cidString(first.stateCid.toU8a(true))}`);
      assert.equal(resumedFrom.status, 200, 'the first aggregate was fetched to train the second round');
    }

    // A challenged update is trained again by the validators that did not aggregate its
    // round, each on its own trainer, on the participant's shard from the round's start:
    // an honest one re-executes to the digest and state it revealed, and is upheld.
    const challenged = participants[0];
    await inBlock(api.tx.proofOfCompute.challengeUpdate(job, 1, challenged), charlie);
    const resolved = await waitForEvent(
      api,
      (event) => api.events.proofOfCompute.DisputeResolved.is(event) && event.data.job.toNumber() === job,
      180_000,
    );
    assert.equal(resolved.data.upheld.isTrue, true);
    assert.equal(resolved.data.steps.toNumber(), 10);
    assert.ok((await api.query.proofOfCompute.upheldUpdates(job, [1, challenged])).isSome);
  } finally {
    for (const other of [...others, ...aggregatorTrainers]) {
      await other.stop();
    }
  }
});
