// The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core)
// against a dev node on which the demo's job has run: every view shows what @polkadot/api
// reads from the same node, updates live, and says so when the node is unreachable; then a
// dispute between the honest and the lying replica, settled by three validators, shows its
// bisection, its panel and its verdict as the node holds them; then a federated job of two
// rounds shows its participants, shard draw, updates, aggregators' turns, aggregates and
// payments as the node holds them at every block the page showed. With
// TESSERA_SCREENSHOTS=1 it also writes a screenshot of each view to docs/dashboard/ for the
// README; a plain test run leaves the tracked images alone.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Keyring } from '@polkadot/keyring';
import { u8aConcat } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { chromium } from 'playwright-core';
import { approveDataset } from './lib/datasets.mjs';
import { freePort } from './lib/dev-node.mjs';
import {
  approveTraining, disableSpotChecks, enrolOperators, FINE_TUNING, followEvents, GENESIS, percent,
  proposeFineTuning, shortenChallengeWindow, startDemoNetwork, startFineTuning, tsra, UNIT,
} from './lib/demo-network.mjs';
import { createDid } from './lib/dids.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { enrolNode } from './lib/nodes.mjs';
import { cidString, csvJobSpec, csvTable, startTrainer } from './lib/trainer.mjs';
import { missingPallets, missingPalletsMessage, TESSERA_PALLETS } from '../../dashboard/pallets.js';
import { disputeReasonText, renderMissingPallets } from '../../dashboard/views.js';

const DASHBOARD_SERVER = fileURLToPath(new URL('../../dashboard/serve.mjs', import.meta.url));
const SCREENSHOTS = fileURLToPath(new URL('../../docs/dashboard/', import.meta.url));
const WRITE_SCREENSHOTS = process.env.TESSERA_SCREENSHOTS === '1';
/** Saves a screenshot of `page` as docs/dashboard/`name`.png, when asked to. */
const screenshot = async (page, name, options = {}) => {
  if (WRITE_SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, ...options });
};
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const context = {};
before(async () => {
  const port = await freePort();
  const server = spawn(process.execPath, [DASHBOARD_SERVER, '--port', `${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  context.server = server;
  await new Promise((resolve) => server.stdout.once('data', resolve));
  context.dashboard = `http://127.0.0.1:${port}/`;
  context.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  // The dashboard's page reads job reports from a trainer's control API, which answers only
  // the web origins it was told to.
  const origin = `http://127.0.0.1:${port}`;
  // An archive node, so that the page can read a dispute's events however long it took.
  context.network = await startDemoNetwork({ blockTimeMs: 1_000, archive: true }, { allowOrigins: [origin] });
  if (WRITE_SCREENSHOTS) await mkdir(SCREENSHOTS, { recursive: true });
});
after(async () => {
  await context.browser?.close();
  if (context.server && context.server.exitCode === null) {
    const exited = new Promise((resolve) => context.server.once('exit', resolve));
    context.server.kill('SIGINT');
    await exited;
  }
  await context.network?.stop();
  await Promise.all((context.federated?.trainers ?? []).map((trainer) => trainer.stop()));
});

/** Retries `check` (which throws while the page and the chain disagree) for up to `timeoutMs`. */
async function eventually(check, timeoutMs = 20_000) {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function openView(page, view) {
  await page.evaluate((hash) => { window.location.hash = hash; }, view);
  await page.waitForSelector(`section#${view}.active`);
}

/**
 * Opens the dashboard on the node at `rpcUrl` (and the trainer at `trainerUrl`, if given),
 * waits for its first block and shows `view`. Returns the page and the errors it throws.
 */
async function openDashboard(rpcUrl, view, trainerUrl) {
  const page = await context.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  const trainer = trainerUrl ? `&trainer=${encodeURIComponent(trainerUrl)}` : '';
  await page.goto(`${context.dashboard}?rpc=${encodeURIComponent(rpcUrl)}${trainer}`);
  await page.waitForSelector('body[data-block]', { timeout: 60_000 });
  await openView(page, view);
  return { page, errors };
}

const cell = (page, selector) => page.locator(selector).first().textContent();

test('the dashboard says when the node is unreachable', async () => {
  const page = await context.browser.newPage();
  await page.goto(`${context.dashboard}?rpc=ws://127.0.0.1:${await freePort()}`);
  await page.waitForSelector('#banner[data-state="error"]', { timeout: 15_000 });
  assert.match(await page.locator('#banner').textContent(), /unreachable/);
  await page.close();
});

test('the dashboard names the Tessera pallets a chain lacks, from its metadata', () => {
  const { api } = context.network.node;
  const names = api.runtimeMetadata.asLatest.pallets.map(({ name }) => name.toString());
  assert.deepEqual(missingPallets(names), [], 'the dev node has all of them');
  // The same metadata without two of them, as a chain without Tessera's runtime would have.
  const without = names.filter((name) => name !== 'ProofOfCompute' && name !== 'Did');
  assert.ok(without.includes('System') && without.length === names.length - 2);
  assert.deepEqual(missingPallets(without), ['Did', 'ProofOfCompute']);
  assert.deepEqual(missingPallets(names.filter((name) => !TESSERA_PALLETS.includes(name))), TESSERA_PALLETS);
  assert.equal(missingPalletsMessage([]), undefined);
  // Each of Tessera's views then says which, instead of showing empty tables.
  const section = {};
  renderMissingPallets(section, missingPallets(without));
  assert.equal(
    section.innerHTML,
    '<p class="error" data-missing-pallets="Did ProofOfCompute">This chain lacks Tessera&#39;s Did and '
      + 'ProofOfCompute pallets: it is not a Tessera chain, or runs an older runtime. Only the chain view is shown.</p>',
  );
});

test('every view shows what the chain holds, before and after a job has run, and updates live', async () => {
  const { node: { api, rpcUrl }, trainers } = context.network;
  const { page, errors } = await openDashboard(rpcUrl, 'jobs', trainers[0].url);
  assert.equal(await page.locator('[data-missing-pallets]').count(), 0, 'a Tessera chain lacks no pallet');
  assert.equal(await cell(page, '#jobs [data-empty]'), 'No jobs yet.');

  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const operators = await enrolOperators(api, trainers);
  context.operators = operators;
  await disableSpotChecks(api, alice);
  await shortenChallengeWindow(api, alice);
  await createDid(api, alice, keyring.addFromUri('//tessera-dashboard-did'));
  // A proposal under vote shows with its votes.
  const { proposal } = await proposeFineTuning(api, { buyer: keyring.addFromUri('//Ferdie'), redundancy: 4 });
  await openView(page, 'models');
  await eventually(async () => {
    assert.equal(await cell(page, `tr[data-proposal="${proposal}"] [data-field="status"]`), 'Voting');
    assert.equal(Number(await cell(page, `tr[data-proposal="${proposal}"] [data-field="ayes"]`)), 0);
  });
  const job = await approveTraining(api, proposal, alice);
  await waitForEvent(api, (event) => api.events.modelRegistry.VersionActivated.is(event) && event.data.job.eq(job), 300_000);

  // Chain: blocks, para id and runtime; the best block moves on by itself.
  await openView(page, 'chain');
  const shownBest = Number(await cell(page, '[data-field="best"]'));
  assert.ok(shownBest >= 1);
  assert.equal(Number(await cell(page, '[data-field="para-id"]')), (await api.query.parachainInfo.parachainId()).toNumber());
  assert.equal(await cell(page, '[data-field="runtime"]'), `${api.runtimeVersion.specName} v${api.runtimeVersion.specVersion}`);
  await eventually(async () => assert.ok(Number(await cell(page, '[data-field="best"]')) > shownBest, 'a live update'));
  await screenshot(page, 'chain');

  // Compute nodes: stake, score and tier of each, and a reputation chart with history.
  await openView(page, 'nodes');
  for (const { node } of operators) {
    await eventually(async () => {
      const record = (await api.call.nodeRegistryApi.node(node)).unwrap();
      const reputation = (await api.call.reputationApi.reputation(node)).unwrap();
      const row = `tr[data-node="${node}"]`;
      assert.equal(await cell(page, `${row} [data-field="stake"]`), tsra(record.stake.toBigInt()));
      assert.equal(await cell(page, `${row} [data-field="score"]`), percent(reputation.score.toNumber()));
      assert.equal(await cell(page, `${row} [data-field="tier"]`), reputation.tier.type);
    });
  }
  assert.ok(await page.locator('[data-chart^="reputation-"] circle').count() >= 2, 'reputation history');
  await screenshot(page, 'nodes', { fullPage: true });

  // Jobs: the job finalized with every commit and reveal, its payouts, progress and loss curve.
  await openView(page, 'jobs');
  const checkpoints = FINE_TUNING.hyperParameters.steps / FINE_TUNING.hyperParameters.checkpointEvery;
  const row = `tr[data-job="${job}"]`;
  assert.equal(await cell(page, `${row} [data-field="state"]`), 'Finalized');
  assert.equal(Number(await cell(page, `${row} [data-field="commits"]`)), operators.length * checkpoints);
  assert.equal(Number(await cell(page, `${row} [data-field="reveals"]`)), operators.length * checkpoints);
  const payouts = await cell(page, `${row} [data-field="payouts"]`);
  for (const [node, amount] of await api.call.computeApi.payouts(job)) {
    assert.ok(payouts.includes(`node ${node}: ${tsra(amount.toBigInt())}`), `payout of node ${node}`);
  }
  // Every reveal is coloured by whether it agrees with the majority: the liar's never do.
  const liar = operators.find(({ wrongDigests }) => wrongDigests);
  const honest = operators.filter((operator) => operator !== liar);
  const cells = (state) => page.locator(`[data-replica] .cell[data-state="${state}"]`).count();
  assert.equal(await cells('agrees'), honest.length * checkpoints);
  assert.equal(await cells('dissents'), checkpoints);
  assert.equal(
    await page.locator(`[data-replica="${liar.node}"] .cell[data-state="dissents"]`).count(),
    checkpoints,
  );
  assert.equal(
    await page.locator(`[data-replica="${liar.node}"] .cell[data-checkpoint="0"]`).getAttribute('title'),
    'checkpoint 0: revealed, disagrees with the majority\'s weights and state',
  );
  const reported = (await (await fetch(`${trainers[0].url}/v1/jobs/${job}`)).json()).commitments;
  const lossPoints = await page.locator(`[data-chart="loss-${job}"] circle`).evaluateAll(
    (circles) => circles.map((circle) => Number(circle.dataset.y)),
  );
  assert.deepEqual(lossPoints, reported.map(({ mean_loss: loss }) => loss));
  await screenshot(page, 'jobs', { fullPage: true });

  // Models: the genesis model moved to the job's version; its lineage is drawn; votes counted.
  await openView(page, 'models');
  const model = (await api.call.modelApi.model(GENESIS.model)).unwrap();
  assert.equal(Number(await cell(page, `h2[data-model="${GENESIS.model}"] + p [data-field="current"]`)), model.current.toNumber());
  const drawn = await page.locator(`svg[data-lineage="${GENESIS.model}"] circle`).evaluateAll(
    (circles) => circles.map((circle) => Number(circle.dataset.version)),
  );
  assert.deepEqual(drawn.sort(), (await api.call.modelApi.versions(GENESIS.model)).map(([index]) => index.toNumber()).sort());
  assert.equal(await page.locator(`tr[data-proposal="${proposal}"]`).count(), 0, 'a finished proposal leaves storage');
  await screenshot(page, 'models', { fullPage: true });

  // Datasets and DIDs.
  await openView(page, 'data');
  for (const [id, dataset] of await api.call.modelApi.datasets()) {
    assert.equal(await cell(page, `tr[data-dataset="${id}"] td.hash`), cidString(dataset.cid.toU8a(true)));
    assert.equal(
      await cell(page, `tr[data-dataset="${id}"] td[data-field="consent"]`),
      dataset.consent.isGranted ? 'nodes of granted DIDs' : 'any trainer',
    );
  }
  await screenshot(page, 'data', { fullPage: true });
  await openView(page, 'dids');
  assert.equal(await page.locator('tr[data-did]').count(), (await api.query.did.documents.entries()).length);
  await screenshot(page, 'dids', { fullPage: true });

  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});

/** What the page shows of the open dispute, with the block it was read at, read at once. */
const liveDispute = (page) => page.evaluate(() => {
  const live = document.querySelector('[data-dispute-live]');
  if (!live) return undefined;
  return {
    block: Number(document.body.dataset.block),
    ...Object.fromEntries(['checkpoint', 'fromStep', 'toStep', 'probes', 'deadline'].map((key) => [key, Number(live.dataset[key])])),
    members: [...live.querySelectorAll('tr[data-member]')].map((row) => ({
      node: Number(row.dataset.member),
      committed: row.querySelector('[data-field="committed"]').dataset.value === 'true',
      revealed: row.querySelector('[data-field="revealed"]').dataset.value === 'true',
    })),
  };
});

test('a dispute shows its bisection, its panel\'s commits and reveals while open, and its verdict, as the chain holds them', async () => {
  const { node: { api, rpcUrl }, trainers } = context.network;
  const { operators } = context;
  assert.ok(operators, 'the previous test enrolled the operators');
  const keyring = new Keyring({ type: 'sr25519' });
  const [alice, ferdie] = ['//Alice', '//Ferdie'].map((uri) => keyring.addFromUri(uri));
  // Two replicas, the honest Dave's and the lying Eve's: with Bob's and Charlie's nodes gone,
  // nobody has a majority, and three validators settle it by re-execution.
  const [bob, charlie] = operators;
  const liar = operators.find(({ wrongDigests }) => wrongDigests);
  for (const { node, pair } of [bob, charlie]) {
    await inBlock(api.tx.nodeRegistry.deregister(node), pair);
  }
  const validators = [];
  for (const [index, owner] of [alice, bob.pair, charlie.pair].entries()) {
    validators.push(await enrolNode(api, owner, `//tessera-dashboard-validator-${index}`, trainers[0], 2n * UNIT, ['Validator']));
  }
  context.validators = validators;
  const events = [];
  const stopFollowing = await followEvents(api, (event, block) => {
    if (event.section === 'proofOfCompute') events.push({ event, block });
  });

  const { page, errors } = await openDashboard(rpcUrl, 'jobs');
  const { job } = await startFineTuning(api, { buyer: ferdie, approver: alice, redundancy: 2 });
  const ofJob = (name) => events
    .filter(({ event }) => api.events.proofOfCompute[name].is(event) && event.data.job.toNumber() === job)
    .map(({ event }) => event.data);

  // While the dispute is open, every look at the page agrees with the chain at the block the
  // page read: the segment, its deadline, and each member's commit and reveal.
  const seen = new Map();
  for (const started = Date.now(); ofJob('DisputeResolved').length === 0; await new Promise((resolve) => setTimeout(resolve, 250))) {
    assert.ok(Date.now() - started < 400_000, 'the dispute is resolved');
    const shown = await liveDispute(page);
    if (!shown || seen.has(shown.block)) continue;
    seen.set(shown.block, shown);
    const at = await api.at(await api.rpc.chain.getBlockHash(shown.block));
    const dispute = (await at.query.proofOfCompute.disputes(job)).unwrap();
    assert.deepEqual(
      [shown.checkpoint, shown.fromStep, shown.toStep, shown.probes, shown.deadline],
      [dispute.segment.checkpoint, dispute.segment.fromStep, dispute.segment.toStep, dispute.segment.probes, dispute.deadline]
        .map((value) => value.toNumber()),
      `the open segment at block ${shown.block}`,
    );
    const members = [];
    for (const node of await at.query.proofOfCompute.panels(job)) {
      members.push({
        node: node.toNumber(),
        committed: (await at.query.proofOfCompute.panelCommits(job, node)).isSome,
        revealed: (await at.query.proofOfCompute.panelVerdicts(job, node)).isSome,
      });
    }
    assert.deepEqual(shown.members, members, `the panel at block ${shown.block}`);
  }
  await stopFollowing();
  const looks = [...seen.values()];
  assert.ok(looks.some(({ members }) => members.length === 3), 'the page showed a seated panel');
  assert.ok(looks.some(({ members }) => members.some(({ committed }) => committed)), 'and a commit');

  // Once resolved: each segment bisected, the checkpoints compared, its panel and what it
  // found; the verdict, the conviction and the panel's fees, as the events say.
  const [resolved] = ofJob('DisputeResolved');
  assert.equal(resolved.upheld.isTrue, true);
  const verdict = page.locator(`[data-verdict]`);
  await eventually(async () => assert.equal(await verdict.count(), 1));
  assert.equal(await verdict.getAttribute('data-upheld'), 'true');
  assert.equal(Number(await verdict.getAttribute('data-segments')), resolved.segments.toNumber());
  assert.equal(Number(await verdict.getAttribute('data-steps')), resolved.steps.toNumber());
  const segments = ofJob('SegmentDisputed');
  const checkpoints = FINE_TUNING.hyperParameters.steps / FINE_TUNING.hyperParameters.checkpointEvery;
  // Eve's digests are wrong from the first checkpoint: her segment from the start, then the
  // survivor's last one, which nobody else vouched for.
  assert.deepEqual(segments.map(({ checkpoint }) => checkpoint.toNumber()), [0, checkpoints - 1]);
  assert.equal(await page.locator('tr[data-segment]').count(), segments.length);
  const panels = ofJob('PanelDrawn');
  const settled = ofJob('SegmentSettled');
  for (const [index, segment] of segments.entries()) {
    const row = `tr[data-segment="${index}"]`;
    assert.equal(Number(await cell(page, `${row} [data-field="checkpoint"]`)), segment.checkpoint.toNumber());
    assert.equal(await cell(page, `${row} [data-field="steps"]`), `${segment.fromStep}–${segment.toStep}`);
    const compared = await page.locator(`${row} [data-compared]`).count();
    assert.equal(compared, segment.probes.toNumber(), `checkpoints compared for segment ${index}`);
    assert.equal(await cell(page, `${row} [data-field="panel"]`), panels[index].panel.map((node) => node.toNumber()).join(', '));
    assert.deepEqual(panels[index].panel.map((node) => node.toNumber()).sort(), [...validators].sort());
    assert.equal(Number(await cell(page, `${row} [data-field="deadline"]`)), panels[index].deadline.toNumber());
    assert.equal(await page.locator(`${row} [data-field="settled"]`).getAttribute('data-digest'), settled[index].weightsDigest.toHex());
  }
  const [convicted] = ofJob('ReplicaConvicted');
  assert.equal(ofJob('ReplicaConvicted').length, 1);
  assert.equal(convicted.node.toNumber(), liar.node);
  assert.equal(
    await cell(page, 'tr[data-segment="0"] [data-field="convicted"]'),
    `node ${liar.node} (${convicted.reason.type}): ${tsra(convicted.amount.toBigInt())}`,
  );
  const fees = ofJob('PanelFeePaid').reduce((total, { amount }) => total + amount.toBigInt(), 0n);
  assert.equal(ofJob('PanelFeePaid').length, 3 * segments.length);
  assert.equal(await cell(page, '[data-verdict] [data-field="panel-fees"]'), tsra(fees));
  // The jobs table: resolved, and no majority in the grid of two disagreeing replicas.
  const info = (await api.call.computeApi.job(job)).unwrap();
  assert.equal(await cell(page, `tr[data-job="${job}"] [data-field="state"]`), info.state.type);
  assert.equal(
    await cell(page, `tr[data-job="${job}"] [data-field="dispute"]`),
    `resolved, upheld: ${resolved.segments} segments, ${resolved.steps} steps re-executed`,
  );
  assert.equal(await page.locator('[data-replica] .cell[data-state="revealed"]').count(), 2 * checkpoints);
  await screenshot(page, 'dispute', { fullPage: true });

  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});

/** What the page shows of federated job `job`, with the block it was read at, read at once. */
const shownFederation = (page, job) => page.evaluate((id) => {
  const view = document.querySelector(`[data-federation="${id}"]`);
  if (!view) return undefined;
  const numbers = (value) => (value ? value.split(',').map(Number) : []);
  const optional = (value) => (value === '' ? undefined : Number(value));
  const rows = (selector) => [...view.querySelectorAll(selector)].map((row) => row.dataset);
  return {
    block: Number(document.body.dataset.block),
    round: Number(view.dataset.round),
    total: Number(view.dataset.rounds),
    shards: Number(view.dataset.shards),
    seed: view.dataset.seed,
    deadline: Number(view.dataset.deadline),
    closed: optional(view.dataset.closed),
    inputs: numbers(view.dataset.inputs),
    participants: rows('tr[data-participant]').map((row) => ({ node: Number(row.participant), shard: Number(row.shard), update: row.update })),
    seats: rows('tr[data-seat]').map((row) => ({ node: Number(row.node), turnStarts: optional(row.turnStarts), state: row.state })),
    rounds: rows('tr[data-round-row]').map((row) => ({
      round: Number(row.roundRow),
      opened: optional(row.opened),
      closed: optional(row.closed),
      updates: numbers(row.updates),
      aggregators: numbers(row.aggregators),
      author: optional(row.author),
      digest: row.digest,
      averaged: optional(row.averaged),
      paid: row.paid ? row.paid.split(',').map(BigInt) : [],
      upheld: numbers(row.upheld),
    })),
    challenge: view.querySelector('[data-challenge]').dataset.challenge,
    challengedUpdate: view.querySelector('[data-challenge]').dataset.challengedUpdate,
  };
}, job);

/** The shard `node` trains on in `round` of a federation drawn from `seed`, as rounds.rs draws it. */
function shardOf(node, seed, round, shards) {
  const u32 = (value) => {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value, true);
    return bytes;
  };
  return new DataView(blake2AsU8a(u8aConcat(u32(node), seed.toU8a(), u32(round))).buffer).getUint32(0, true) % shards;
}

/** Retries `tx` signed by `signer` until it is in a block without error, for up to `timeoutMs`. */
async function retryInBlock(tx, signer, timeoutMs = 120_000) {
  return eventually(() => inBlock(tx, signer), timeoutMs);
}

test('a federated job shows its participants, shard draw, updates, aggregators\' turns, aggregates, an update challenged live and its verdict as the chain holds them', async () => {
  const { node: { api, rpcUrl }, trainers } = context.network;
  const keyring = new Keyring({ type: 'sr25519' });
  const [alice, bob, charlie, dave, eve, ferdie] =
    ['//Alice', '//Bob', '//Charlie', '//Dave', '//Eve', '//Ferdie'].map((uri) => keyring.addFromUri(uri));
  const SHARDS = 4;
  const { page, errors } = await openDashboard(rpcUrl, 'rounds');
  assert.equal(await cell(page, '#rounds [data-empty]'), 'No federated jobs yet.');

  // Three fresh participants, each behind a trainer of its own; the demo's trainer nodes
  // leave (once their jobs are over), so that only these are drawn, the liar's among none.
  await disableSpotChecks(api, alice);
  await shortenChallengeWindow(api, alice);
  for (const { node, pair } of context.operators ?? []) {
    const record = await api.call.nodeRegistryApi.node(node);
    if (record.isSome && record.unwrap().status.isActive) {
      await retryInBlock(api.tx.nodeRegistry.deregister(node), pair);
    }
  }
  const validators = context.validators ?? [];
  for (const [index, owner] of [alice, bob, charlie].entries()) {
    if (validators.length < 3) {
      validators.push(await enrolNode(api, owner, `//tessera-dashboard-validator-${index}`, trainers[0], 2n * UNIT, ['Validator']));
    }
  }
  const participantTrainers = [await startTrainer(), await startTrainer(), await startTrainer()];
  context.federated = { trainers: participantTrainers };
  {
    const stored = await participantTrainers[0].put(csvTable());
    for (const other of [...participantTrainers.slice(1), trainers[0]]) {
      assert.equal((await other.put(csvTable())).cid, stored.cid);
    }
    await approveDataset(api, stored.cid, { owner: bob, approver: alice });
    const participants = [];
    for (const [index, owner] of [dave, eve, ferdie].entries()) {
      participants.push(await enrolNode(api, owner, `//tessera-dashboard-participant-${index}`, participantTrainers[index], 2n * UNIT));
    }
    const events = [];
    const stopFollowing = await followEvents(api, (event, block) => {
      if (event.section === 'proofOfCompute') events.push({ event, block });
    });
    const spec = csvJobSpec(stored.cid, { learningRate: 100_000_000, batchSize: 4, steps: 20, checkpointEvery: 10, seed: 5 });
    const deadline = (await api.query.system.number()).toNumber() + 200;
    const { events: created } = await inBlock(
      api.tx.proofOfCompute.createFederatedJob(spec, 2n * UNIT, 3, SHARDS, deadline, null),
      bob,
    );
    const job = created.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event)).event.data.job.toNumber();
    const ofJob = (name) => events
      .filter(({ event }) => api.events.proofOfCompute[name].is(event) && event.data.job.toNumber() === job);

    // Every block the page shows until both aggregators are paid, kept to check against the
    // chain at that block. Once the job is accepted, Alice challenges the first participant's
    // update of the last round: a panel of the validators that did not aggregate it trains
    // it again and upholds it, and the job is paid (the last aggregator with it).
    const looks = new Map();
    const challenged = participants[0];
    let challengeSent = false;
    for (const started = Date.now(); ofJob('AggregatorPaid').length < 2; await new Promise((resolve) => setTimeout(resolve, 250))) {
      assert.ok(Date.now() - started < 400_000, 'both rounds aggregated and their aggregators paid');
      if (!challengeSent && ofJob('JobAccepted').length > 0) {
        await inBlock(api.tx.proofOfCompute.challengeUpdate(job, 1, challenged), alice);
        challengeSent = true;
      }
      const shown = await shownFederation(page, job);
      if (shown && !looks.has(shown.block)) looks.set(shown.block, shown);
    }
    await eventually(async () => assert.equal((await shownFederation(page, job)).rounds[1].paid.length, 1));
    const last = await shownFederation(page, job);
    looks.set(last.block, last);
    await stopFollowing();

    const grace = api.consts.proofOfCompute.aggregatorGrace.toNumber();
    for (const shown of looks.values()) {
      const { block } = shown;
      const at = await api.at(await api.rpc.chain.getBlockHash(block));
      const federation = (await at.query.proofOfCompute.federations(job)).unwrap();
      const round = federation.round.toNumber();
      const closed = federation.closed.isSome ? federation.closed.unwrap().toNumber() : undefined;
      assert.deepEqual(
        [shown.round, shown.total, shown.shards, shown.seed, shown.deadline, shown.closed, shown.inputs],
        [round, 2, SHARDS, federation.seed.toHex(), federation.deadline.toNumber(), closed, federation.inputs.map((node) => node.toNumber())],
        `the round at block ${block}`,
      );
      // Participants, the shard each draws and whether its update is in, from storage.
      const keysOf = async (map) => (await map.keys(job)).map(({ args: [, node, checkpoint] }) => [node.toNumber(), checkpoint.toNumber()]);
      const [revealed, committed] = await Promise.all([keysOf(at.query.proofOfCompute.reveals), keysOf(at.query.proofOfCompute.commits)]);
      const nodesAt = (keys, r) => keys.filter(([, checkpoint]) => checkpoint === r).map(([node]) => node).sort((a, b) => a - b);
      // None before the participants are drawn.
      const assignments = await at.query.proofOfCompute.assignments(job);
      const assigned = assignments.isSome ? assignments.unwrap().map((node) => node.toNumber()) : [];
      if (assigned.length) assert.deepEqual(assigned.slice().sort(), participants.slice().sort(), 'the three participants are drawn');
      assert.deepEqual(shown.participants, assigned.map((node) => ({
        node,
        shard: shardOf(node, federation.seed, round, SHARDS),
        update: nodesAt(revealed, round).includes(node) ? 'revealed' : nodesAt(committed, round).includes(node) ? 'committed' : 'none',
      })), `the participants at block ${block}`);
      // Aggregators in turn, grace blocks apart, and whose turn it is.
      const aggregations = new Map((await at.query.proofOfCompute.aggregations.entries(job))
        .map(([key, value]) => [key.args[1].toNumber(), value.unwrap()]));
      const seats = federation.aggregators.map((node) => node.toNumber());
      const begun = seats.filter((_, seat) => closed + grace * seat <= block).length;
      assert.deepEqual(shown.seats, seats.map((node, seat) => {
        const aggregate = aggregations.get(round);
        let state = seat + 1 > begun ? 'waiting' : seat + 1 === begun ? 'turn' : 'passed';
        if (aggregate) state = aggregate.node.eq(node) ? 'aggregated' : 'passed';
        return { node, turnStarts: closed + grace * seat, state };
      }), `the aggregators at block ${block}`);
      // Every round's updates and aggregate; when it opened and closed, and whom it seated, from its events.
      assert.deepEqual(shown.rounds.map(({ round: r, updates, author, digest, averaged }) => ({ r, updates, author, digest, averaged })),
        [0, 1].map((r) => ({
          r,
          updates: nodesAt(revealed, r),
          author: aggregations.get(r)?.node.toNumber(),
          digest: aggregations.get(r)?.weightsDigest.toHex() ?? '',
          averaged: aggregations.get(r)?.participants.toNumber(),
        })), `the rounds at block ${block}`);
      const until = (name, r) => ofJob(name).filter(({ event, block: at }) => event.data.round.toNumber() === r && at <= block);
      for (const r of [0, 1]) {
        const [opened] = until('RoundOpened', r);
        const [closing] = until('RoundClosed', r);
        assert.deepEqual(
          [shown.rounds[r].opened, shown.rounds[r].closed, shown.rounds[r].aggregators],
          [opened?.block, closing?.block, closing ? closing.event.data.aggregators.map((node) => node.toNumber()) : []],
          `round ${r}'s opening and closing at block ${block}`,
        );
      }
      // The challenge, whose update it is, and the updates a panel upheld, from storage.
      const [challenge, dispute, upheld] = await Promise.all([
        at.query.proofOfCompute.challenges(job),
        at.query.proofOfCompute.disputes(job),
        at.query.proofOfCompute.upheldUpdates.keys(job),
      ]);
      const reason = dispute.isSome ? dispute.unwrap().reason : undefined;
      assert.deepEqual(
        [shown.challenge, shown.challengedUpdate],
        challenge.isSome
          ? [`${challenge.unwrap()[1]}`, reason?.isUpdateChallenged ? `${reason.asUpdateChallenged}` : '']
          : ['', ''],
        `the challenge at block ${block}`,
      );
      assert.deepEqual(
        shown.rounds.map(({ upheld: nodes }) => nodes),
        [0, 1].map((r) => upheld.map(({ args: [, [upheldRound, node]] }) => [upheldRound.toNumber(), node.toNumber()])
          .filter(([upheldRound]) => upheldRound === r).map(([, node]) => node).sort((a, b) => a - b)),
        `the upheld updates at block ${block}`,
      );
    }

    // The page showed each stage: updates coming in, a closed round with a seat's turn, and
    // both aggregates, each by the first seat of its round, and their payment.
    const seen = [...looks.values()];
    assert.ok(seen.some(({ participants: shown, closed }) => shown.length === 3 && closed === undefined), 'a round taking updates');
    assert.ok(seen.some(({ participants: shown }) => shown.length === 3 && shown.every(({ update }) => update === 'revealed')), 'a round\'s updates all in');
    assert.ok(seen.some(({ seats }) => seats.some(({ state }) => state === 'turn')), 'an aggregator\'s turn');
    assert.ok(seen.some(({ challenge: round, challengedUpdate }) => round === '1' && challengedUpdate === `${challenged}`), 'the update challenged');
    const [resolved] = ofJob('DisputeResolved');
    assert.equal(resolved.event.data.upheld.isTrue, true, 'the honest update upheld');
    assert.deepEqual([last.challenge, last.rounds[1].upheld], ['', [challenged]]);
    assert.equal(await cell(page, `[data-federation="${job}"] tr[data-round-row="1"] [data-field="upheld"]`), `node ${challenged}`);
    const aggregated = ofJob('RoundAggregated').map(({ event }) => event.data);
    assert.deepEqual(aggregated.map(({ round }) => round.toNumber()), [0, 1]);
    assert.deepEqual(last.rounds.map(({ author, digest, averaged }) => ({ author, digest, averaged })), aggregated.map((data) => ({
      author: data.node.toNumber(), digest: data.weightsDigest.toHex(), averaged: 3,
    })));
    assert.deepEqual(last.rounds.map(({ author }) => author), ofJob('RoundClosed').map(({ event }) => event.data.aggregators[0].toNumber()));
    const paid = ofJob('AggregatorPaid').map(({ event }) => event.data);
    assert.deepEqual(last.rounds.map(({ paid: amounts }) => amounts), paid.map(({ amount }) => [amount.toBigInt()]));
    assert.deepEqual(paid.map(({ node }) => node.toNumber()), aggregated.map(({ node }) => node.toNumber()));
    assert.equal(await cell(page, `[data-federation="${job}"] tr[data-round-row="1"] [data-field="paid"]`), tsra(paid[1].amount.toBigInt()));
    await screenshot(page, 'rounds', { fullPage: true });
    assert.deepEqual(errors, [], 'no errors in the page');
    await page.close();
    Object.assign(context.federated, { job, participants });
  }
});

/** What the page shows of availability checks, with the block it was read at, read at once. */
const shownAvailability = (page) => page.evaluate(() => {
  const view = document.querySelector('section#availability');
  const rows = (selector) => [...view.querySelectorAll(selector)].map((row) => ({ ...row.dataset }));
  return {
    block: Number(document.body.dataset.block),
    open: rows('tr[data-check]'),
    closed: rows('tr[data-closed-check]'),
    lost: rows('tr[data-lost]').map(({ lost }) => lost),
  };
});

test('availability checks show open, proven and failed as the chain holds them', async () => {
  const { node: { api, rpcUrl } } = context.network;
  const { job, participants, trainers: participantTrainers } = context.federated ?? {};
  assert.ok(job !== undefined, 'the federated test ran a job whose participants serve their updates');
  const ferdie = new Keyring({ type: 'sr25519' }).addFromUri('//Ferdie');
  const { page, errors } = await openDashboard(rpcUrl, 'availability');
  const events = [];
  const stopFollowing = await followEvents(api, (event, block) => {
    if (event.section === 'proofOfCompute') events.push({ event, block });
  });
  const looks = new Map();
  const watch = async (until) => {
    for (const started = Date.now(); !until(); await new Promise((resolve) => setTimeout(resolve, 250))) {
      assert.ok(Date.now() - started < 120_000, 'the check closed');
      const shown = await shownAvailability(page);
      if (!looks.has(shown.block)) looks.set(shown.block, shown);
    }
  };
  const named = (name, check) => events.filter(({ event }) => api.events.proofOfCompute[name].is(event) && event.data.check.toNumber() === check);
  // Ferdie asks whether two participants still serve their first round's update: the first
  // does; the second's trainer is gone, so two validators in turn report it missing.
  const ask = async (node) => {
    const { events: opened } = await inBlock(api.tx.proofOfCompute.challengeAvailability(job, node, 0), ferdie);
    return opened.find(({ event }) => api.events.proofOfCompute.AvailabilityChecked.is(event)).event.data.check.toNumber();
  };
  const served = await ask(participants[0]);
  await watch(() => named('AvailabilityProven', served).length > 0);
  await participantTrainers[1].stop();
  const lost = await ask(participants[1]);
  await watch(() => named('AvailabilityFailed', lost).length > 0);
  await eventually(async () => assert.equal((await shownAvailability(page)).lost.length, (await api.query.proofOfCompute.lostContent.keys()).length));
  const last = await shownAvailability(page);
  looks.set(last.block, last);
  await stopFollowing();

  // Every look: the open checks and the content found missing, as the chain held them.
  for (const shown of looks.values()) {
    const at = await api.at(await api.rpc.chain.getBlockHash(shown.block));
    const open = [];
    for (const [key, value] of await at.query.proofOfCompute.availabilityChecks.entries()) {
      const check = value.unwrap();
      const bond = await at.query.proofOfCompute.availabilityBonds(key.args[0]);
      open.push({
        check: `${key.args[0]}`,
        job: `${check.job}`,
        node: `${check.node}`,
        checkpoint: `${check.checkpoint}`,
        validator: `${check.validator}`,
        deadline: `${check.deadline}`,
        earlier: check.earlier.map((node) => `${node}`).join(','),
        missing: `${check.missing}`,
        askedBy: bond.isSome ? bond.unwrap()[0].toString() : '',
      });
    }
    assert.deepEqual(shown.open, open.sort((a, b) => Number(a.check) - Number(b.check)), `open checks at block ${shown.block}`);
    const missing = (await at.query.proofOfCompute.lostContent.keys()).map(({ args }) => args.join('-')).sort();
    assert.deepEqual(shown.lost.slice().sort(), missing, `content found missing at block ${shown.block}`);
  }
  const seen = [...looks.values()];
  assert.ok(seen.some(({ open }) => open.some(({ check }) => Number(check) === served)), 'the served check open');
  assert.ok(seen.some(({ open }) => open.some(({ check }) => Number(check) === lost)), 'the lost check open');
  assert.deepEqual(last.lost.filter((key) => key === `${job}-${participants[1]}-0`), [`${job}-${participants[1]}-0`]);

  // Closed: the served check proven, the validator paid; the lost one failed after two
  // validators reported it missing, the node slashed, as the events say.
  const row = (check) => last.closed.find(({ closedCheck }) => Number(closedCheck) === check);
  const [proven] = named('AvailabilityProven', served);
  assert.deepEqual(
    [row(served).outcome, Number(row(served).block), Number(row(served).validator), BigInt(row(served).amount)],
    ['proven', proven.block, proven.event.data.validator.toNumber(), proven.event.data.fee.toBigInt()],
  );
  const [failed] = named('AvailabilityFailed', lost);
  assert.deepEqual(
    [row(lost).outcome, Number(row(lost).block), Number(row(lost).node), BigInt(row(lost).amount)],
    ['failed', failed.block, participants[1], failed.event.data.slashed.toBigInt()],
  );
  assert.equal(named('AvailabilityMissing', lost).length, 2);
  const reports = events
    .filter(({ event }) => (api.events.proofOfCompute.AvailabilityMissing.is(event) || api.events.proofOfCompute.AvailabilityReportMissed.is(event))
      && event.data.check.toNumber() === lost)
    .map(({ event }) => `${event.data.validator}:${api.events.proofOfCompute.AvailabilityMissing.is(event) ? 'missing' : 'silent'}`);
  assert.equal(row(lost).reports, reports.join(','));
  await screenshot(page, 'availability', { fullPage: true });
  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});

test('the dashboard names, in words of its own, every reason for a dispute the chain has', () => {
  const { node: { api } } = context.network;
  const field = api.events.proofOfCompute.JobDisputed.meta.fields.find(({ name }) => name.unwrap().eq('reason'));
  const reasonType = api.registry.createLookupType(field.type);
  const variants = api.registry.lookup.getSiType(field.type).def.asVariant.variants;
  const NODE = 3;
  const texts = variants.map(({ name, fields }) => {
    const variant = name.toString();
    const reason = api.registry.createType(reasonType, fields.length ? { [variant]: NODE } : variant);
    const shown = disputeReasonText(reason);
    assert.notEqual(shown, variant, `${variant} has words of its own`);
    return [variant, shown];
  });
  assert.deepEqual(Object.fromEntries(texts), {
    NoMajority: 'no majority of replicas agreed',
    SpotCheck: `spot-check of node ${NODE}`,
    Challenged: 'challenge of the accepted result',
    UpdateChallenged: `challenge of node ${NODE}'s update`,
  });
});

/** What the page shows of traps, with the block it was read at, read at once. */
const shownTraps = (page) => page.evaluate(() => {
  const summary = document.querySelector('[data-traps]');
  return {
    block: Number(document.body.dataset.block),
    ...Object.fromEntries(['tasks', 'assigned', 'postedSoFar', 'rate', 'sprung'].map((key) => [key, Number(summary.dataset[key])])),
    vault: [...document.querySelectorAll('tr[data-task]')].map(({ dataset: { task, setters, armed } }) => ({ task, setters: Number(setters), armed: Number(armed) })),
    posted: [...document.querySelectorAll('tr[data-posted]')].map(({ dataset: { posted } }) => Number(posted)),
  };
});

/** The treasury's account: the runtime's `PalletId(*b"tsr/trsy")`, padded to 32 bytes. */
const TREASURY = u8aConcat(new TextEncoder().encode('modltsr/trsy'), new Uint8Array(20));

test('traps show the vault, the traps the chain posts from it and the traps sprung, as the chain holds them', async () => {
  const { node: { api, rpcUrl } } = context.network;
  const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
  const { page, errors } = await openDashboard(rpcUrl, 'traps');
  const matchesChain = async (shown) => {
    const at = await api.at(await api.rpc.chain.getBlockHash(shown.block));
    const [assigned, postedSoFar] = await at.query.proofOfComputeTraps.trapTally();
    const armed = (await at.query.proofOfComputeTraps.armedTasks()).map(({ source, seed }) => `${source}:${seed}`);
    const vault = (await at.query.proofOfComputeTraps.vault.entries()).map(([, value]) => {
      const { task: { source, seed }, seals } = value.unwrap();
      return { task: `${source}:${seed}`, setters: seals.length, armed: armed.indexOf(`${source}:${seed}`) };
    });
    const posted = (await at.query.proofOfComputeTraps.postedTraps.keys()).map(({ args: [job] }) => job.toNumber()).sort((a, b) => a - b);
    assert.deepEqual(
      [shown.tasks, shown.assigned, shown.postedSoFar, shown.rate, shown.vault, shown.posted],
      [vault.length, assigned.toNumber(), postedSoFar.toNumber(), (await at.query.proofOfComputeTraps.trapRate()).toNumber(), vault, posted],
      `the traps at block ${shown.block}`,
    );
  };
  // The vault is empty, no trap posted or sprung; the jobs of the earlier tests are counted.
  const before = await shownTraps(page);
  await matchesChain(before);
  assert.equal(before.tasks, 0);
  assert.equal(await cell(page, '#traps [data-empty]'), 'The vault is empty.');
  assert.equal(before.sprung, 0);
  // A verified job of the earlier tests, on the reference backend, is what a trap re-runs.
  const federated = new Set((await api.query.proofOfCompute.federations.keys()).map(({ args: [job] }) => job.toNumber()));
  const source = (await api.query.proofOfCompute.jobs.entries())
    .map(([{ args: [job] }, info]) => ({ job: job.toNumber(), info: info.unwrap() }))
    .find(({ job, info }) => (info.state.isAccepted || info.state.isFinalized) && info.workload.backend.isCpuReference && !federated.has(job));
  assert.ok(source, 'an earlier test left a verified job');
  // The treasury puts up a trap's budget and deposit; then Alice, the dev chain's one approver (its
  // quorum), seals an answer to a re-run of that job, which arms it.
  await inBlock(api.tx.balances.transferKeepAlive(TREASURY, (source.info.budget.toBigInt() + source.info.deposit.toBigInt()) * 2n), alice);
  const task = { source: source.job, seed: 4242 };
  // The chain posts it after the next block's inherents: the page shows the trap job.
  const posting = waitForEvent(api, (event) => api.events.proofOfComputeTraps.TrapPosted.is(event), 60_000);
  await inBlock(api.tx.proofOfComputeTraps.sealTrap(task, `0x${'7e'.repeat(32)}`), alice);
  const posted = await posting;
  const job = posted.data.job.toNumber();
  assert.equal(posted.data.task.source.toNumber(), source.job);
  const after = await eventually(async () => {
    const shown = await shownTraps(page);
    assert.ok(shown.posted.includes(job));
    return shown;
  });
  await matchesChain(after);
  assert.equal(after.postedSoFar, before.postedSoFar + 1);
  assert.equal(after.tasks, 0, 'the posted task left the vault');
  assert.equal(after.sprung, 0);
  assert.equal((await api.query.proofOfCompute.jobs(job)).unwrap().requester.toString(), api.createType('AccountId', TREASURY).toString());
  await screenshot(page, 'traps', { fullPage: true });
  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});
