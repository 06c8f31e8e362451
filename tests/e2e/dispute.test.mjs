// A dispute settled for real: two replicas disagree, the chain bisects their revealed
// checkpoints, and a panel of three validators re-executes each divergent segment through
// their off-chain workers and their own trainer's /v1/verify, fetching the start state from
// the replicas' endpoints; the replica whose trainer lied is slashed for forgery and the
// honest one is paid. Then availability checks: a served state is proven, a lost one slashed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { approveDataset } from './lib/datasets.mjs';
import { followEvents } from './lib/demo-network.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { enrolNode } from './lib/nodes.mjs';
import { csvJobSpec, csvTable, devNodeWithTrainer, startTrainer } from './lib/trainer.mjs';

const UNIT = 1_000_000_000_000n;
const STAKE = 2n * UNIT;
const PANEL_FEE = UNIT / 10n;

const context = devNodeWithTrainer({ blockTimeMs: 1_000 });

test('a panel re-executes the divergent segments and convicts the replica that lied; availability checks catch a lost state', async () => {
  const { node: { api }, trainer } = context;
  const liar = await startTrainer({ wrongDigests: true });
  // The validators' trainer has the data but none of the replicas' states: it fetches what it
  // re-executes from from the replicas' endpoints.
  const judge = await startTrainer();
  try {
    const keyring = new Keyring({ type: 'sr25519' });
    const [alice, bob, charlie, dave, eve, ferdie] =
      ['//Alice', '//Bob', '//Charlie', '//Dave', '//Eve', '//Ferdie'].map((uri) => keyring.addFromUri(uri));
    // Spot-checks off: the dispute comes from the disagreement alone, so its course is known.
    await inBlock(api.tx.sudo.sudo(api.tx.reputation.setSpotCheckBase(0)), alice);
    const honest = await enrolNode(api, dave, '//tessera-e2e-honest', trainer, STAKE);
    const forger = await enrolNode(api, eve, '//tessera-e2e-liar', liar, STAKE);
    const validators = [];
    for (const [index, owner] of [alice, bob, charlie].entries()) {
      const seed = `//tessera-e2e-validator-${index}`;
      validators.push({ owner, node: await enrolNode(api, owner, seed, judge, STAKE, ['Validator']) });
    }

    const stored = await trainer.put(csvTable());
    for (const other of [liar, judge]) {
      assert.equal((await other.put(csvTable())).cid, stored.cid);
    }
    await approveDataset(api, stored.cid, { owner: ferdie, approver: alice });
    const spec = csvJobSpec(stored.cid, { learningRate: 100_000_000, batchSize: 8, steps: 20, checkpointEvery: 10, seed: 3 });
    const events = [];
    const stopFollowing = await followEvents(api, (event) => {
      if (event.section === 'proofOfCompute') events.push(event);
    });
    const balanceOf = async (pair) => (await api.query.system.account(pair.address)).data.free.toBigInt();
    const before = new Map();
    for (const pair of [dave, eve, ...validators.map(({ owner }) => owner)]) {
      before.set(pair.address, await balanceOf(pair));
    }
    const deadline = (await api.query.system.number()).toNumber() + 100;
    const { events: created } = await inBlock(api.tx.proofOfCompute.createJob(spec, 2n * UNIT, 2, deadline), ferdie);
    const job = created.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event)).event.data.job.toNumber();

    const resolved = await waitForEvent(
      api,
      (event) => api.events.proofOfCompute.DisputeResolved.is(event) && event.data.job.toNumber() === job,
      300_000,
    );
    while (!events.some((event) => api.events.proofOfCompute.DisputeResolved.is(event))) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const ofJob = events.filter((event) => event.data.job?.toNumber() === job);
    const named = (name) => ofJob.filter((event) => api.events.proofOfCompute[name].is(event));

    assert.ok(named('JobDisputed')[0].data.reason.isNoMajority);
    // The liar's weights digests differ from the first checkpoint on: segment 0 from the
    // job's start, then the survivor's last segment, 20 steps in all.
    const segments = named('SegmentDisputed').map(({ data }) => [data.checkpoint.toNumber(), data.fromStep.toNumber(), data.toStep.toNumber()]);
    assert.deepEqual(segments, [[0, 0, 10], [1, 10, 20]]);
    assert.equal(resolved.data.upheld.isTrue, true);
    assert.equal(resolved.data.segments.toNumber(), 2);
    assert.equal(resolved.data.steps.toNumber(), 20);
    for (const { data } of named('PanelDrawn')) {
      assert.deepEqual(data.panel.map((member) => member.toNumber()).sort(), validators.map(({ node }) => node).sort());
    }

    // Its states were right and its digests not: forgery, half the stake.
    const [convicted] = named('ReplicaConvicted');
    assert.equal(named('ReplicaConvicted').length, 1);
    assert.equal(convicted.data.node.toNumber(), forger);
    assert.ok(convicted.data.reason.isForgedResult);
    assert.equal(convicted.data.amount.toBigInt(), STAKE / 2n);
    assert.equal((await api.call.nodeRegistryApi.node(forger)).unwrap().stake.toBigInt(), STAKE / 2n);

    const info = (await api.call.computeApi.job(job)).unwrap();
    assert.ok(info.state.isResolved);
    const status = await (await fetch(`${trainer.url}/v1/jobs/${job}`)).json();
    assert.equal(info.result.unwrap().weightsDigest.toHex(), status.commitments[1].weights_digest);
    const [paid] = named('RewardPaid');
    assert.equal(named('RewardPaid').length, 1);
    assert.equal(paid.data.node.toNumber(), honest);
    assert.equal(await balanceOf(dave), before.get(dave.address) + paid.data.amount.toBigInt());

    // Reveals drawn for an availability check (one in ten) were fetched from the replicas'
    // trainers by a validator's, in time.
    const closed = () => events.filter((event) => api.events.proofOfCompute.AvailabilityProven.is(event)
      || api.events.proofOfCompute.AvailabilityFailed.is(event)).length;
    const checked = named('AvailabilityChecked').length;
    for (let waited = 0; closed() < checked && waited < 20_000; waited += 500) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const proven = events.filter((event) => api.events.proofOfCompute.AvailabilityProven.is(event));
    await stopFollowing();
    assert.equal(proven.length, checked, `${checked} checks, all proven`);

    // Every member re-executed both segments and was paid for each, and, by the treasury,
    // for each availability proof it made (nothing while the treasury holds only its
    // existential deposit).
    const fees = named('PanelFeePaid');
    assert.equal(fees.length, 6);
    assert.ok(fees.every(({ data }) => data.amount.toBigInt() === PANEL_FEE));
    for (const { owner, node } of validators) {
      assert.equal(named('VerdictRevealed').filter(({ data }) => data.node.toNumber() === node).length, 2);
      const proofFees = proven
        .filter(({ data }) => data.validator.toNumber() === node)
        .reduce((total, { data }) => total + data.fee.toBigInt(), 0n);
      assert.equal(await balanceOf(owner), before.get(owner.address) + 2n * PANEL_FEE + proofFees);
    }
    assert.equal(await balanceOf(eve), before.get(eve.address), 'the slash comes from the stake, not the free balance');

    // Asked for, with a bond: the honest replica serves its first state and gets the bond;
    // the liar, its trainer gone, does not: two validators in turn report it missing, and it
    // loses 3% (a new node's tier) of the stake it has left.
    const challengeAvailability = async (node) => {
      const { events: opened } = await inBlock(api.tx.proofOfCompute.challengeAvailability(job, node, 0), ferdie);
      const check = opened.find(({ event }) => api.events.proofOfCompute.AvailabilityChecked.is(event)).event.data;
      assert.ok(validators.some(({ node: validator }) => validator === check.validator.toNumber()));
      return check.check.toNumber();
    };
    const servedCheck = await challengeAvailability(honest);
    await waitForEvent(
      api,
      (event) => api.events.proofOfCompute.AvailabilityProven.is(event) && event.data.check.toNumber() === servedCheck,
      30_000,
    );
    await liar.stop();
    const lostCheck = await challengeAvailability(forger);
    const failed = await waitForEvent(
      api,
      (event) => api.events.proofOfCompute.AvailabilityFailed.is(event) && event.data.check.toNumber() === lostCheck,
      90_000,
    );
    assert.equal(failed.data.node.toNumber(), forger);
    assert.equal(failed.data.slashed.toBigInt(), (STAKE / 2n) * 3n / 100n);
  } finally {
    await liar.stop();
    await judge.stop();
  }
});
