// The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core)
// against a dev node on which the demo's job has run: every view shows what @polkadot/api
// reads from the same node, updates live, and says so when the node is unreachable; then a
// dispute between the honest and the lying replica, settled by three validators, shows its
// bisection, its panel and its verdict as the node holds them. With
// TESSERA_SCREENSHOTS=1 it also writes a screenshot of each view to docs/dashboard/ for the
// README; a plain test run leaves the tracked images alone.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Keyring } from '@polkadot/keyring';
import { chromium } from 'playwright-core';
import { freePort } from './lib/dev-node.mjs';
import {
  approveTraining, disableSpotChecks, enrolOperators, FINE_TUNING, followEvents, GENESIS, percent,
  proposeFineTuning, shortenChallengeWindow, startDemoNetwork, startFineTuning, tsra, UNIT,
} from './lib/demo-network.mjs';
import { createDid } from './lib/dids.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { enrolNode } from './lib/nodes.mjs';
import { cidString } from './lib/trainer.mjs';
import { missingPallets, missingPalletsMessage, TESSERA_PALLETS } from '../../dashboard/pallets.js';
import { renderMissingPallets } from '../../dashboard/views.js';

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
  const page = await context.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${context.dashboard}?rpc=${encodeURIComponent(rpcUrl)}&trainer=${encodeURIComponent(trainers[0].url)}`);
  await page.waitForSelector('body[data-block]', { timeout: 60_000 });
  assert.equal(await page.locator('[data-missing-pallets]').count(), 0, 'a Tessera chain lacks no pallet');
  await openView(page, 'jobs');
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
  const events = [];
  const stopFollowing = await followEvents(api, (event, block) => {
    if (event.section === 'proofOfCompute') events.push({ event, block });
  });

  const page = await context.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${context.dashboard}?rpc=${encodeURIComponent(rpcUrl)}`);
  await page.waitForSelector('body[data-block]', { timeout: 60_000 });
  await openView(page, 'jobs');
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
