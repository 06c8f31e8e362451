// The demo's flow, asserted step by step against the chain, at the runtime's spot-check rate:
// Dave's honest and Eve's lying trainer replicate a fine-tuning of the genesis model; their
// disagreement (or a spot-check) puts it under dispute, the chain bisects it to a segment,
// a panel of three validators re-executes it with commits and reveals, convicts Eve and is
// paid; Dave is paid and the new model version activated. Then a federated job of two rounds
// on Bob's, Charlie's and Dave's trainers, aggregated by the validators, is accepted and
// finalized. Balances move to the unit by what the events say.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import {
  eventually, FEDERATED, FINE_TUNING, GENESIS, PANEL_FEE, runDemo, snapshot, startDemoNetwork, UNIT,
} from './lib/demo-network.mjs';
import { cidBytes } from './lib/trainer.mjs';

/** The runtime's `DefaultSpotCheckBase`, 10%, in parts per million. */
const DEFAULT_SPOT_CHECK_BASE = 100_000;
/** 0.1 TSRA × (1 + 3 / 1 000): the runtime's `AggregatorFee` for a round of three updates. */
const AGGREGATOR_FEE = (UNIT / 10n) * 1_003n / 1_000n;
const CHECKPOINTS = FINE_TUNING.hyperParameters.steps / FINE_TUNING.hyperParameters.checkpointEvery;

const context = {};
before(async () => {
  context.network = await startDemoNetwork({ blockTimeMs: 1_000 }, {}, { validators: true });
});
after(async () => {
  await context.demo?.stop();
  await context.network?.stop();
});

/**
 * The segment the chain bisects to among replicas that part at `parting` (or never, when
 * `undefined`), with the claim that checkpoints from `claim` on are wrong, over `checkpoints`:
 * `[checkpoint, probes]`, or `undefined` when nothing diverges (dispute.rs's `bisect`).
 */
function bisect(parting, claim, checkpoints) {
  const diverges = (checkpoint) => (claim !== undefined && checkpoint >= claim)
    || (parting !== undefined && checkpoint >= parting);
  let [low, high, probes] = [0, checkpoints - 1, 1];
  if (!diverges(high)) return undefined;
  while (low < high) {
    const middle = low + Math.floor((high - low) / 2);
    probes += 1;
    if (diverges(middle)) high = middle; else low = middle + 1;
  }
  return [high, probes];
}

test('the demo runs at the runtime\'s spot-check rate from registration to the federated job\'s end', async () => {
  const { node: { api } } = context.network;
  assert.equal((await api.query.reputation.spotCheckBase()).toNumber(), DEFAULT_SPOT_CHECK_BASE);
  context.demo = await runDemo(context.network, { shortWindows: true });
  context.last = await context.demo.stop();
  const { operators, validators, before } = context.demo;
  for (const [index, { node, stake, pair }] of [...operators, ...validators].entries()) {
    const record = (await api.call.nodeRegistryApi.node(node)).unwrap();
    assert.ok(record.owner.eq(pair.address));
    assert.equal(before[index].stake, stake, 'registered with its stake');
  }
  for (const { node } of validators) {
    assert.ok((await api.call.nodeRegistryApi.node(node)).unwrap().roles.toString().includes('Validator'));
  }
  assert.equal((await api.query.reputation.spotCheckBase()).toNumber(), DEFAULT_SPOT_CHECK_BASE, 'spot-checks stay on');
});

test('the lying replica is caught: bisected, re-executed by a panel, convicted; the panel and the honest replica are paid', async () => {
  const { node: { api }, trainers } = context.network;
  const { operators, validators, fineTuning: { job, baseDigest, ferdieBefore }, events } = context.demo;
  const { proofOfCompute: poc, modelRegistry: models } = api.events;
  // Each event keeps its place in the chain's order, which tells apart the events of one block:
  // a segment's last reveals share a block with the next segment's panel draw.
  const of = (kind) => events.map((record, order) => ({ ...record, order }))
    .filter(({ event }) => kind.is(event) && event.data.job?.toNumber() === job);
  const [dave, eve] = ['Dave', 'Eve'].map((name) => operators.find((operator) => operator.name === name));
  const validatorNodes = validators.map(({ node }) => node).sort();
  const honest = (await (await fetch(`${trainers[2].url}/v1/jobs/${job}`)).json()).commitments;

  // Eve's and Dave's nodes were the only trainers: the job is theirs.
  const [assigned] = of(poc.JobAssigned);
  assert.deepEqual(assigned.event.data.nodes.map((node) => node.toNumber()).sort(), [dave.node, eve.node].sort());
  for (const kind of [poc.Committed, poc.Revealed]) {
    const seen = of(kind).map(({ event }) => `${event.data.node}/${event.data.checkpoint}`);
    assert.equal(seen.length, 2 * CHECKPOINTS, `${kind.meta.name} once per replica and checkpoint`);
    assert.equal(new Set(seen).size, seen.length);
  }
  const liarReveals = of(poc.Revealed).filter(({ event }) => event.data.node.toNumber() === eve.node);
  assert.ok(liarReveals.every(({ event }) => event.data.weightsDigest.toHex() !== honest[event.data.checkpoint.toNumber()].weights_digest));

  // Verification finds no majority of two disagreeing replicas, unless a spot-check was drawn
  // first; either way a dispute, never an acceptance.
  assert.equal(of(poc.JobAccepted).length, 0);
  const [{ event: { data: { reason } } }] = of(poc.JobDisputed);
  assert.ok(reason.isNoMajority || (reason.isSpotCheck && [dave.node, eve.node].includes(reason.asSpotCheck.toNumber())), `${reason}`);

  // Eve's digests are wrong from the first checkpoint: the chain compares checkpoints down to
  // the first; then, Eve convicted, to what is left of the claim (the last checkpoint when
  // nobody had a majority, the spot-check's otherwise).
  const segments = of(poc.SegmentDisputed).map(({ event: { data } }) => data);
  const every = FINE_TUNING.hyperParameters.checkpointEvery;
  assert.deepEqual([segments[0].checkpoint, segments[0].probes].map(Number), bisect(0, undefined, CHECKPOINTS));
  if (reason.isNoMajority) {
    assert.equal(segments.length, 2);
    assert.deepEqual([segments[1].checkpoint, segments[1].probes].map(Number), bisect(undefined, CHECKPOINTS - 1, CHECKPOINTS));
  } else {
    assert.ok(segments.length <= 2);
  }
  for (const { checkpoint, fromStep, toStep } of segments) {
    assert.deepEqual([fromStep.toNumber(), toStep.toNumber()], [checkpoint.toNumber() * every, (checkpoint.toNumber() + 1) * every]);
  }

  // One panel of the three validators per segment; each commits, then reveals what Dave's
  // trainer computed, and the segment settles on it.
  const panels = of(poc.PanelDrawn);
  const settled = of(poc.SegmentSettled);
  assert.equal(panels.length, segments.length);
  assert.equal(settled.length, segments.length);
  assert.equal(of(poc.VerdictMissed).length + of(poc.NoPanel).length, 0);
  for (const [index, segment] of segments.entries()) {
    assert.deepEqual(panels[index].event.data.panel.map((node) => node.toNumber()).sort(), validatorNodes);
    const expected = honest[segment.checkpoint.toNumber()].weights_digest;
    assert.equal(settled[index].event.data.checkpoint.toNumber(), segment.checkpoint.toNumber());
    assert.equal(settled[index].event.data.weightsDigest.toHex(), expected);
    const window = ({ order }) => order > panels[index].order && order < settled[index].order;
    const commits = of(poc.VerdictCommitted).filter(window).map(({ event }) => event.data.node.toNumber());
    const reveals = of(poc.VerdictRevealed).filter(window);
    assert.deepEqual(commits.sort(), validatorNodes, `every member commits for segment ${index}`);
    assert.deepEqual(reveals.map(({ event }) => event.data.node.toNumber()).sort(), validatorNodes);
    assert.ok(reveals.every(({ event }) => event.data.weightsDigest.toHex() === expected));
    const firstReveal = Math.min(...reveals.map(({ order }) => order));
    assert.ok(of(poc.VerdictCommitted).filter(window).every(({ order }) => order < firstReveal), 'commits before reveals');
  }

  // The verdict: Eve forged (right states, wrong digests), half her stake.
  const convictions = of(poc.ReplicaConvicted);
  assert.equal(convictions.length, 1);
  const { data: convicted } = convictions[0].event;
  assert.equal(convicted.node.toNumber(), eve.node);
  assert.ok(convicted.reason.isForgedResult);
  assert.equal(convicted.amount.toBigInt(), eve.stake / 2n);
  const [{ event: { data: resolved }, block: resolvedAt }] = of(poc.DisputeResolved);
  assert.equal(resolved.upheld.isTrue, true);
  assert.equal(resolved.segments.toNumber(), segments.length);
  assert.equal(resolved.steps.toNumber(), segments.length * every);

  // Payouts, in the block of the verdict: a fee per member and segment from the budget, Dave's
  // reward, the rest refunded; Eve, convicted, is not slashed again.
  const fees = of(poc.PanelFeePaid);
  assert.equal(fees.length, 3 * segments.length);
  assert.ok(fees.every(({ event }) => event.data.amount.toBigInt() === PANEL_FEE));
  assert.equal(of(poc.ReplicaSlashed).length, 0);
  const rewards = of(poc.RewardPaid);
  assert.deepEqual(rewards.map(({ event }) => event.data.node.toNumber()), [dave.node]);
  const reward = rewards[0].event.data.amount.toBigInt();
  assert.ok(reward > 0n);
  const [finalized] = of(poc.JobFinalized);
  assert.equal(finalized.block, resolvedAt);
  assert.equal(
    reward + PANEL_FEE * BigInt(fees.length) + finalized.event.data.refunded.toBigInt(),
    FINE_TUNING.budget,
    'the budget is paid out or refunded',
  );
  const info = (await api.call.computeApi.job(job)).unwrap();
  assert.ok(info.state.isResolved);
  assert.equal(info.result.unwrap().weightsDigest.toHex(), honest.at(-1).weights_digest);

  // Ferdie's budget and proposal deposit are released when the job ends; its storage deposit
  // stays until the job is pruned.
  const atEnd = await api.at(await api.rpc.chain.getBlockHash(finalized.block));
  const ferdie = new Keyring({ type: 'sr25519' }).addFromUri('//Ferdie');
  const ferdieAtEnd = (await atEnd.query.system.account(ferdie.address)).data;
  assert.equal(ferdieAtEnd.reserved.toBigInt(), ferdieBefore.reserved.toBigInt() + info.deposit.toBigInt(), 'budget and proposal deposit released');

  // The model registry makes Dave's result the genesis model's current version.
  const [activated] = events.filter(({ event }) => models.VersionActivated.is(event) && event.data.job.toNumber() === job);
  assert.equal(activated.block, resolvedAt);
  assert.equal(activated.event.data.model.toNumber(), GENESIS.model);
  assert.equal(activated.event.data.modelDigestBefore.toHex(), baseDigest);
  assert.equal(activated.event.data.modelDigestAfter.toHex(), honest.at(-1).weights_digest);
  const model = (await api.call.modelApi.model(GENESIS.model)).unwrap();
  assert.ok(model.current.eq(activated.event.data.version));
  const version = (await api.call.modelApi.versions(GENESIS.model)).find(([index]) => index.eq(model.current))[1];
  assert.deepEqual(version.weights.toU8a(true), cidBytes(honest.at(-1).state_cid));
  assert.equal(version.producedByJob.unwrap().toNumber(), job);
});

test('the federated job runs two rounds on the honest trainers, aggregated by the validators, and is finalized', async () => {
  const { node: { api } } = context.network;
  const { operators, validators, federated: { job }, events } = context.demo;
  const { proofOfCompute: poc } = api.events;
  const of = (kind) => events.filter(({ event }) => kind.is(event) && event.data.job?.toNumber() === job).map(({ event }) => event.data);
  const participants = operators.filter(({ name }) => name !== 'Eve').map(({ node }) => node).sort();
  const validatorNodes = validators.map(({ node }) => node).sort();

  assert.deepEqual(of(poc.JobAssigned)[0].nodes.map((node) => node.toNumber()).sort(), participants);
  assert.deepEqual(of(poc.RoundOpened).map(({ round }) => round.toNumber()), [0, 1]);
  const closed = of(poc.RoundClosed);
  assert.deepEqual(closed.map(({ round }) => round.toNumber()), [0, 1]);
  for (const { participants: updates, aggregators } of closed) {
    assert.equal(updates.toNumber(), FEDERATED.participants);
    assert.deepEqual(aggregators.map((node) => node.toNumber()).sort(), validatorNodes);
  }
  assert.deepEqual(of(poc.Revealed).map(({ node }) => node.toNumber()).sort(), [...participants, ...participants].sort());
  // Each round aggregated in its first seat's turn: two aggregates, the last the result.
  const aggregated = of(poc.RoundAggregated);
  assert.deepEqual(aggregated.map(({ round }) => round.toNumber()), [0, 1]);
  assert.deepEqual(aggregated.map(({ node }) => node.toNumber()), closed.map(({ aggregators }) => aggregators[0].toNumber()));
  const last = (await api.query.proofOfCompute.aggregations(job, 1)).unwrap();
  const [accepted] = of(poc.JobAccepted);
  assert.equal(accepted.weightsDigest.toHex(), last.weightsDigest.toHex());
  assert.equal(aggregated[1].weightsDigest.toHex(), last.weightsDigest.toHex());

  // Finalized once its challenge window closed: each aggregator paid its fee, each
  // participant its reward, the rest refunded.
  const finalized = events.find(({ event }) => poc.JobFinalized.is(event) && event.data.job.toNumber() === job);
  assert.ok(finalized.block >= accepted.challengeEnds.toNumber());
  assert.ok((await api.call.computeApi.job(job)).unwrap().state.isFinalized);
  const paid = of(poc.AggregatorPaid);
  assert.deepEqual(paid.map(({ node }) => node.toNumber()), aggregated.map(({ node }) => node.toNumber()));
  assert.ok(paid.every(({ amount }) => amount.toBigInt() === AGGREGATOR_FEE));
  const rewards = of(poc.RewardPaid);
  assert.deepEqual(rewards.map(({ node }) => node.toNumber()).sort(), participants);
  const total = [...rewards, ...paid].reduce((sum, { amount }) => sum + amount.toBigInt(), 0n);
  assert.equal(total + of(poc.JobFinalized)[0].refunded.toBigInt(), FEDERATED.budget, 'the budget is paid out or refunded');
  assert.equal(of(poc.JobDisputed).length, 0);
});

test('every owner\'s balance and stake moved by exactly what the events say', async () => {
  const { node: { api } } = context.network;
  const { operators, validators, before, events } = context.demo;
  const { proofOfCompute: poc, nodeRegistry } = api.events;
  // Read at the last block whose events were recorded.
  const at = await api.at(await api.rpc.chain.getBlockHash(context.last));
  const nodes = [...operators, ...validators];
  const afterwards = await Promise.all(nodes.map(async ({ node, pair }) => ({
    stake: (await at.query.nodeRegistry.nodes(node)).unwrap().stake.toBigInt(),
    free: (await at.query.system.account(pair.address)).data.free.toBigInt(),
  })));
  const sum = (kind, node, field = 'amount', key = 'node') => events
    .filter(({ event }) => kind.is(event) && event.data[key].toNumber() === node)
    .reduce((total, { event }) => total + event.data[field].toBigInt(), 0n);
  assert.equal(events.filter(({ event }) => poc.AvailabilityFailed.is(event) || poc.AvailabilityReportMissed.is(event)).length, 0);
  for (const [index, { name, node, wrongDigests }] of nodes.entries()) {
    const [was, is] = [before[index], afterwards[index]];
    const earned = sum(poc.RewardPaid, node) + sum(poc.PanelFeePaid, node) + sum(poc.AggregatorPaid, node)
      + sum(poc.AvailabilityProven, node, 'fee', 'validator');
    assert.equal(is.free, was.free + earned, `${name}'s free balance`);
    assert.equal(is.stake, was.stake - sum(nodeRegistry.NodeSlashed, node), `${name}'s stake`);
    if (wrongDigests) {
      assert.equal(earned, 0n);
      assert.equal(is.stake, was.stake / 2n, 'a forged result costs half the stake');
    } else {
      assert.equal(sum(nodeRegistry.NodeSlashed, node), 0n, `${name} is not slashed`);
      assert.ok(earned > 0n, `${name} earned`);
    }
  }
  const validatorFees = validators.map(({ node }) => sum(poc.PanelFeePaid, node));
  assert.ok(validatorFees.every((fees) => fees >= PANEL_FEE), 'every validator was paid panel fees');
  const scores = await snapshot(api, nodes);
  for (const [index, { name, wrongDigests }] of nodes.entries()) {
    if (wrongDigests) {
      assert.equal(scores[index].score, 0, 'a conviction zeroes the reputation');
    } else {
      assert.ok(scores[index].score > before[index].score, `${name}'s reputation rises`);
    }
  }
});
