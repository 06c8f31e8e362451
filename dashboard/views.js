// One render function per view; each fills its section from a snapshot of the chain (see
// `load` in app.js). Rows and cells carry `data-*` attributes so that tests can read them.

import { lineageGraph, lineChart } from './charts.js';
import { missingPalletsMessage } from './pallets.js';

const UNIT = 1_000_000_000_000n;

/** Escapes text for HTML. */
function text(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An amount of planck as TSRA with four decimals. */
export function tsra(amount) {
  const whole = amount / UNIT;
  const fraction = ((amount % UNIT) * 10_000n) / UNIT;
  return `${whole}.${fraction.toString().padStart(4, '0')}`;
}

/** Parts per million as a percentage with one decimal. */
export function percent(partsPerMillion) {
  return `${(partsPerMillion / 10_000).toFixed(1)}%`;
}

const short = (hex) => `${hex.slice(0, 10)}…${hex.slice(-6)}`;
const empty = (message) => `<p class="empty" data-empty>${text(message)}</p>`;

function table(headers, rows) {
  const head = headers ? `<thead><tr>${headers.map((h) => `<th>${text(h)}</th>`).join('')}</tr></thead>` : '';
  return `<table>${head}<tbody>${rows.join('')}</tbody></table>`;
}

export function renderChain(section, { chain }) {
  section.innerHTML = `<h2>Chain</h2>${table(undefined, [
    `<tr><th>chain</th><td data-field="name">${text(chain.name)}</td></tr>`,
    `<tr><th>best block</th><td data-field="best" class="number">${chain.best}</td></tr>`,
    `<tr><th>finalized block</th><td data-field="finalized" class="number">${chain.finalized}</td></tr>`,
    `<tr><th>para id</th><td data-field="para-id" class="number">${chain.paraId ?? '—'}</td></tr>`,
    `<tr><th>runtime</th><td data-field="runtime">${text(chain.specName)} v${chain.specVersion}</td></tr>`,
  ])}`;
}

/** A view of a chain that lacks the Tessera pallets `missing`: what it lacks, instead of empty tables. */
export function renderMissingPallets(section, missing) {
  section.innerHTML = `<p class="error" data-missing-pallets="${text(missing.join(' '))}">${text(missingPalletsMessage(missing))}</p>`;
}

export function renderNodes(section, { nodes }, { history, selectedNode }) {
  if (nodes.length === 0) {
    section.innerHTML = `<h2>Compute nodes</h2>${empty('No compute nodes registered yet.')}`;
    return;
  }
  const dimensionNames = ['uptime', 'proofSuccess', 'bandwidth', 'lineage', 'slashFree', 'completion', 'violations'];
  const rows = nodes.map((node) => `<tr data-node="${node.id}">
    <td class="number">${node.id}</td><td class="hash">${text(node.owner)}</td><td>${text(node.roles.join(', '))}</td>
    <td data-field="stake" class="number">${tsra(node.stake)}</td>
    <td data-field="status" class="status-${text(node.status.split(' ')[0])}">${text(node.status)}</td>
    <td data-field="heartbeat" class="number">${node.lastHeartbeat ?? '—'}</td>
    <td data-field="score" class="number">${percent(node.reputation.score)}</td>
    <td data-field="tier">${text(node.reputation.tier)}</td>
    ${dimensionNames.map((name) => `<td data-dimension="${name}" class="number">${(node.reputation.dimensions[name] / 100).toFixed(1)}%</td>`).join('')}
  </tr>`);
  const chosen = nodes.find(({ id }) => id === selectedNode) ?? nodes[0];
  section.innerHTML = `<h2>Compute nodes</h2>${table(
    ['node', 'owner', 'roles', 'stake (TSRA)', 'status', 'last heartbeat period', 'score', 'tier',
      'uptime', 'proof', 'bandwidth', 'lineage', 'slash-free', 'completion', 'violations'],
    rows,
  )}
  <h2>Reputation over blocks</h2>
  <label for="node-select">node</label><select id="node-select">${nodes.map(({ id }) => `<option value="${id}" ${id === chosen.id ? 'selected' : ''}>${id}</option>`).join('')}</select>
  <div class="charts"><figure id="reputation-chart"><figcaption>score of node ${chosen.id} by block</figcaption></figure></div>`;
  section.querySelector('#reputation-chart').append(lineChart(
    `reputation-${chosen.id}`,
    history.get(chosen.id) ?? [],
    { xLabel: 'block', yLabel: 'score', yFormat: percent },
  ));
}

export function renderJobs(section, { jobs }, { selectedJob, losses }) {
  if (jobs.length === 0) {
    section.innerHTML = `<h2>Jobs</h2>${empty('No jobs yet.')}`;
    return;
  }
  const rows = jobs.map((job) => `<tr data-job="${job.id}">
    <td class="number">${job.id}</td><td data-field="state" class="state-${text(job.state)}">${text(job.state)}</td>
    <td data-field="replicas">${text(job.replicas.join(', '))}</td>
    <td data-field="commits" class="number">${job.commitments.length}</td>
    <td data-field="reveals" class="number">${job.commitments.filter(({ revealed }) => revealed).length}</td>
    <td data-field="budget" class="number">${tsra(job.budget)}</td>
    <td data-field="result" class="hash">${job.result ? short(job.result) : '—'}</td>
    <td data-field="dispute">${text([job.challenged, disputeSummary(job.dispute)].filter(Boolean).join('; ') || '—')}</td>
    <td data-field="payouts">${job.payouts.map(([node, amount]) => `node ${node}: ${tsra(amount)}`).join('<br>') || '—'}</td>
  </tr>`);
  const chosen = jobs.find(({ id }) => id === selectedJob) ?? jobs.at(-1);
  const majority = majorityClaims(chosen);
  const progress = chosen.replicas.map((node) => {
    const cells = Array.from({ length: chosen.checkpoints }, (_, checkpoint) => {
      const view = chosen.commitments.find((c) => c.node === node && c.checkpoint === checkpoint);
      const state = cellState(view, majority.get(checkpoint));
      return `<span class="cell ${state}" data-checkpoint="${checkpoint}" data-state="${state}" title="checkpoint ${checkpoint}: ${CELL_TITLES[state]}"></span>`;
    });
    return `<tr data-replica="${node}"><td>node ${node}</td><td>${cells.join('')}</td></tr>`;
  });
  section.innerHTML = `<h2>Jobs</h2>${table(
    ['job', 'state', 'replicas', 'commits', 'reveals', 'budget (TSRA)', 'agreed weights', 'dispute', 'payouts (TSRA)'],
    rows,
  )}
  <h2>Job ${chosen.id}: checkpoints per replica</h2>
  <label for="job-select">job</label><select id="job-select">${jobs.map(({ id }) => `<option value="${id}" ${id === chosen.id ? 'selected' : ''}>${id}</option>`).join('')}</select>
  ${table(['replica', 'checkpoints: committed (amber); revealed and agreeing with the majority (green), dissenting (red), or with no majority yet (blue)'], progress)}
  ${chosen.dispute ? disputeView(chosen) : ''}
  <div class="charts"><figure id="loss-chart"><figcaption>mean loss per checkpoint, from the trainer</figcaption></figure></div>`;
  const loss = losses.get(chosen.id);
  section.querySelector('#loss-chart').append(loss
    ? lineChart(`loss-${chosen.id}`, loss, { xLabel: 'step', yLabel: 'loss', yFormat: (y) => y.toFixed(3) })
    : document.createTextNode('Add ?trainer=<URL> to the address to draw the loss reported by a trainer.'));
}

/** A dispute in one line, for the jobs table. */
function disputeSummary(dispute) {
  if (!dispute) return undefined;
  if (dispute.resolved) {
    const { upheld, segments, steps } = dispute.resolved;
    return `resolved, ${upheld ? 'upheld' : 'not upheld'}: ${segments} segments, ${steps} steps re-executed`;
  }
  if (!dispute.open) return `disputed (${dispute.reason ?? 'reason unknown'})`;
  const { checkpoint, fromStep, toStep, members, deadline } = dispute.open;
  const count = (key) => members.filter((member) => member[key]).length;
  return `disputed (${dispute.reason}): checkpoint ${checkpoint}, steps ${fromStep}–${toStep}; `
    + `panel ${count('committed')}/${members.length} committed, ${count('revealed')}/${members.length} revealed, due by block ${deadline}`;
}

/**
 * The checkpoints a bisection over `checkpoints` compared to find the segment ending at
 * `segment`, in order, and whether the replicas diverged there: the chain's search, which
 * compares the last checkpoint and then halves, diverging exactly from `segment` on.
 */
export function comparedCheckpoints(checkpoints, segment) {
  let [low, high] = [0, checkpoints - 1];
  const compared = [{ checkpoint: high, diverged: true }];
  while (low < high) {
    const middle = low + Math.floor((high - low) / 2);
    const diverged = middle >= segment;
    compared.push({ checkpoint: middle, diverged });
    if (diverged) high = middle;
    else low = middle + 1;
  }
  return compared;
}

/** The compared checkpoints of a segment, where they reproduce the chain's count of them. */
function comparedText(job, { checkpoint, probes }) {
  const compared = comparedCheckpoints(job.checkpoints, checkpoint);
  if (compared.length !== probes) return `${probes}`;
  return `${probes}: ${compared.map((c) => `<span class="${c.diverged ? 'diverged' : 'agreed'}" data-compared="${c.checkpoint}">${c.checkpoint} ${c.diverged ? 'diverged' : 'agreed'}</span>`).join(', ')}`;
}

/** A job's dispute: the segments bisected and their panels, the open segment's panel, the verdict. */
function disputeView(job) {
  const { dispute } = job;
  const segmentRows = dispute.segments.map((segment, index) => `<tr data-segment="${index}">
    <td class="number">${index + 1}</td>
    <td data-field="checkpoint" class="number">${segment.checkpoint}</td>
    <td data-field="steps">${segment.fromStep}–${segment.toStep}</td>
    <td data-field="compared">${comparedText(job, segment)}</td>
    <td data-field="panel">${text(segment.panel.join(', ') || 'none drawn yet')}</td>
    <td data-field="deadline" class="number">${segment.deadline ?? '—'}</td>
    <td data-field="settled" class="hash" data-digest="${text(segment.settled ?? '')}">${segment.settled ? short(segment.settled) : 'not yet'}</td>
    <td data-field="convicted">${segment.convicted.map((c) => `node ${c.node} (${text(c.reason)}): ${tsra(c.amount)}`).join('<br>') || '—'}</td>
    <td data-field="fees">${segment.fees.map((f) => `node ${f.node}: ${tsra(f.amount)}`).join('<br>') || '—'}</td>
  </tr>`);
  const open = dispute.open;
  const live = open ? `<div data-dispute-live data-checkpoint="${open.checkpoint}" data-from-step="${open.fromStep}" data-to-step="${open.toStep}" data-probes="${open.probes}" data-deadline="${open.deadline}">
    <p>Segment under re-execution: checkpoint <b>${open.checkpoint}</b>, steps <b>${open.fromStep}–${open.toStep}</b>,
    found by bisection (checkpoints compared: ${comparedText(job, open)}); panel draw ${open.draws}, verdicts due by block <b data-field="deadline">${open.deadline}</b>.
    ${open.settledSegments} segments (${open.steps} steps) settled so far; ${open.convicted.length ? `convicted: nodes ${open.convicted.join(', ')}, ${tsra(open.slashed)} TSRA slashed` : 'nobody convicted yet'}.</p>
    ${open.members.length ? table(['panel member', 'verdict committed', 'verdict revealed'], open.members.map((m) => `<tr data-member="${m.node}">
      <td class="number">node ${m.node}</td><td data-field="committed" data-value="${m.committed}">${m.committed ? 'yes' : 'no'}</td>
      <td data-field="revealed" data-value="${m.revealed}">${m.revealed ? 'yes' : 'no'}</td></tr>`)) : empty('No panel drawn yet: too few validators; the chain tries again at the deadline.')}
  </div>` : '';
  const resolved = dispute.resolved;
  const convicted = dispute.segments.flatMap((segment) => segment.convicted);
  const fees = dispute.segments.flatMap((segment) => segment.fees).reduce((total, { amount }) => total + amount, 0n);
  const verdict = resolved ? `<p data-verdict data-upheld="${resolved.upheld}" data-segments="${resolved.segments}" data-steps="${resolved.steps}">
    Verdict: the result was <b>${resolved.upheld ? 'upheld' : 'not upheld: the job failed'}</b> after ${resolved.segments} segments, ${resolved.steps} steps re-executed;
    ${convicted.length ? `convicted ${convicted.map((c) => `node ${c.node} (${text(c.reason)}, ${tsra(c.amount)} TSRA slashed)`).join(', ')}` : 'nobody convicted'};
    panel fees <span data-field="panel-fees">${tsra(fees)}</span> TSRA.</p>` : '';
  const unreadable = dispute.unreadable ? `<p class="empty">The node no longer has the events of ${dispute.unreadable} of the job's blocks: its history may be incomplete.</p>` : '';
  return `<h2 data-dispute="${job.id}">Job ${job.id}: dispute (${text(dispute.reason ?? 'reason unknown')})</h2>
  ${live}
  ${segmentRows.length ? table(['segment', 'ends at checkpoint', 'steps', 'checkpoints compared', 'panel', 'verdicts due', 'panel\'s weights', 'convicted (TSRA slashed)', 'panel fees (TSRA)'], segmentRows) : ''}
  ${verdict}${unreadable}`;
}

/** Per checkpoint, the claim (weights and state) more than half of the job's replicas revealed. */
function majorityClaims(job) {
  const counts = new Map();
  for (const { checkpoint, claim } of job.commitments) {
    if (claim === undefined) continue;
    const key = `${checkpoint} ${claim}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const majority = new Map();
  for (const [key, count] of counts) {
    const [checkpoint, claim] = key.split(' ');
    if (count * 2 > job.replicas.length) majority.set(Number(checkpoint), claim);
  }
  return majority;
}

/** What each state of a checkpoint cell means, as its title says it. */
const CELL_TITLES = {
  missing: 'nothing committed',
  committed: 'committed, not revealed yet',
  revealed: 'revealed; no weights and state have a majority of the replicas yet',
  agrees: 'revealed, agrees with the majority',
  dissents: 'revealed, disagrees with the majority\'s weights and state',
};

/** A replica's checkpoint: missing, committed, or revealed and agreeing with the majority's claim or not. */
function cellState(view, majority) {
  if (!view) return 'missing';
  if (!view.revealed) return 'committed';
  if (majority === undefined) return 'revealed';
  return view.claim === majority ? 'agrees' : 'dissents';
}

export function renderModels(section, { models, proposals }) {
  const modelParts = models.map((model) => `<h2 data-model="${model.id}">Model ${model.id}: ${text(model.name)}</h2>
    <p>owner <span class="hash">${text(model.owner)}</span>, current version <b data-field="current">${model.current}</b></p>
    ${table(['version', 'parent', 'digest', 'weights CID', 'produced by job', 'status'], model.versions.map((v) => `<tr data-version="${v.index}">
      <td class="number">${v.index}</td><td class="number">${v.parent ?? '—'}</td><td class="hash">${short(v.digest)}</td>
      <td class="hash">${text(v.weights)}</td><td class="number">${v.producedByJob ?? '—'}</td><td>${text(v.status)}</td></tr>`))}
    <figure class="lineage" data-model="${model.id}"><figcaption>lineage</figcaption></figure>`);
  const proposalRows = proposals.map((p) => `<tr data-proposal="${p.id}">
    <td class="number">${p.id}</td><td>${text(p.kind)}</td><td class="hash">${text(p.proposer)}</td>
    <td data-field="ayes" class="number">${p.ayes}</td><td data-field="nays" class="number">${p.nays}</td><td data-field="status">${text(p.status)}</td></tr>`);
  section.innerHTML = `${modelParts.join('') || `<h2>Models</h2>${empty('No models yet.')}`}
    <h2>Proposals and votes</h2>${proposalRows.length ? table(['proposal', 'kind', 'proposer', 'ayes', 'nays', 'status'], proposalRows) : empty('No proposals yet.')}`;
  for (const model of models) {
    section.querySelector(`figure.lineage[data-model="${model.id}"]`).append(lineageGraph(model.id, model.versions.map((v) => ({
      index: v.index, parent: v.parent, current: v.index === model.current,
    }))));
  }
}

/** What private jobs spent of a grant's privacy budget, ε to the thousandth. */
function privacy({ spent, budget }) {
  const epsilon = (milli) => (milli / 1000).toFixed(3);
  return budget === null ? '' : `, ε ${epsilon(spent)} of ${epsilon(budget)} spent`;
}

export function renderData(section, { datasets }) {
  if (datasets.length === 0) {
    section.innerHTML = `<h2>Datasets</h2>${empty('No approved datasets yet.')}`;
    return;
  }
  const rows = datasets.map((d) => `<tr data-dataset="${d.id}">
    <td class="number">${d.id}</td><td class="hash">${text(d.cid)}</td><td class="number">${d.shards}</td><td>${text(d.licence)}</td>
    <td class="hash">${text(d.owner)}</td>
    <td data-field="consent">${d.grantedOnly ? 'nodes of granted DIDs' : 'any trainer'}</td>
    <td data-field="grants">${d.grants.map((g) => `${text(short(g.grantee))}: blocks ${g.grantedAt}–${g.expiresAt}, ${g.accesses} accesses${privacy(g)}`).join('<br>') || '—'}</td></tr>`);
  section.innerHTML = `<h2>Datasets and consent grants</h2>${table(['dataset', 'CID', 'shards', 'licence', 'owner DID', 'who may train', 'grants'], rows)}`;
}

export function renderDids(section, { dids }) {
  if (dids.length === 0) {
    section.innerHTML = `<h2>DIDs</h2>${empty('No DIDs yet.')}`;
    return;
  }
  const rows = dids.map((d) => `<tr data-did="${text(d.id)}">
    <td class="hash">${text(d.uri)}</td><td class="hash">${text(d.controllers.join(', '))}</td>
    <td class="number">${d.created}</td><td data-field="revoked">${d.revoked ?? '—'}</td></tr>`);
  section.innerHTML = `<h2>DIDs</h2>${table(['DID', 'controllers', 'created at block', 'revoked at block'], rows)}`;
}
