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

/**
 * Why a job is disputed, in words, from the chain's `DisputeReason`: every variant has its
 * own text (the browser test checks each variant the node's metadata has).
 */
export function disputeReasonText(reason) {
  if (reason.isNoMajority) return 'no majority of replicas agreed';
  if (reason.isSpotCheck) return `spot-check of node ${reason.asSpotCheck}`;
  if (reason.isChallenged) return 'challenge of the accepted result';
  if (reason.isUpdateChallenged) return `challenge of node ${reason.asUpdateChallenged}'s update`;
  return reason.type;
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

/** What a seat of a round's aggregators is doing at the page's block. */
function seatState(federation, seat) {
  const aggregate = federation.rounds[federation.round]?.aggregate;
  if (aggregate) return aggregate.node === federation.seats[seat].node ? 'aggregated' : 'passed';
  if (federation.turn === undefined || seat > federation.turn) return 'waiting';
  return seat === federation.turn ? 'turn' : 'passed';
}

const SEAT_TEXT = {
  aggregated: 'committed the aggregate',
  passed: 'its turn passed',
  turn: 'its turn: may aggregate now',
  waiting: 'waiting for its turn',
};

/** A federated job: its current round's shard draw and aggregators, and each round's updates and aggregate. */
function federationView(f) {
  const taking = f.closed === undefined
    ? `taking updates until block <b data-field="deadline">${f.deadline}</b>`
    : `closed at block <b data-field="closed">${f.closed}</b>: ${f.inputs.length} updates to average (nodes ${text(f.inputs.join(', '))})`;
  const participants = f.participants.map((p) => `<tr data-participant="${p.node}" data-shard="${p.shard}" data-update="${p.update}">
    <td class="number">node ${p.node}</td><td data-field="shard" class="number">${p.shard}</td>
    <td data-field="update">${p.update === 'none' ? 'not yet' : p.update}</td></tr>`);
  const seats = f.seats.map((seat, index) => {
    const state = seatState(f, index);
    return `<tr data-seat="${index}" data-node="${seat.node}" data-turn-starts="${seat.turnStarts ?? ''}" data-state="${state}">
    <td class="number">${index + 1}</td><td class="number">node ${seat.node}</td>
    <td data-field="turn-starts" class="number">${seat.turnStarts ?? '—'}</td><td data-field="seat-state">${SEAT_TEXT[state]}</td></tr>`;
  });
  const rounds = f.rounds.map((r) => `<tr data-round-row="${r.round}" data-opened="${r.opened ?? ''}" data-closed="${r.closed ?? ''}"
      data-updates="${r.updates.join(',')}" data-aggregators="${r.aggregators.join(',')}"
      data-author="${r.aggregate?.node ?? ''}" data-digest="${text(r.aggregate?.digest ?? '')}" data-averaged="${r.aggregate?.participants ?? ''}"
      data-paid="${r.paid.join(',')}" data-upheld="${r.upheld.join(',')}">
    <td class="number">${r.round}</td>
    <td class="number">${r.opened ?? '—'}${r.extended.length ? ` (extended to ${r.extended.join(', ')})` : ''}</td>
    <td data-field="updates">${r.updates.length ? `${r.updates.length}: nodes ${r.updates.join(', ')}` : '—'}</td>
    <td>${r.replaced.map(({ node, by }) => `node ${node} by ${by === undefined ? 'nobody' : `node ${by}`}`).join('<br>') || '—'}</td>
    <td class="number">${r.closed ?? '—'}</td>
    <td>${text(r.aggregators.join(', ') || '—')}</td>
    <td data-field="author">${r.aggregate ? `node ${r.aggregate.node}` : '—'}</td>
    <td data-field="digest" class="hash">${r.aggregate ? short(r.aggregate.digest) : '—'}</td>
    <td data-field="averaged" class="number">${r.aggregate?.participants ?? '—'}</td>
    <td data-field="paid">${r.paid.map(tsra).join(', ') || '—'}</td>
    <td data-field="upheld">${r.upheld.length ? `${r.upheld.length === 1 ? 'node' : 'nodes'} ${r.upheld.join(', ')}` : '—'}</td></tr>`);
  const challenge = f.challenge
    ? `<p data-challenge="${f.challenge.round}" data-challenged-update="${f.challenge.update ?? ''}">Challenged at round <b>${f.challenge.round}</b>:
      ${f.challenge.update === undefined ? 'its aggregate' : `node <b>${f.challenge.update}</b>'s update`}, by <span class="hash">${text(f.challenge.challenger)}</span>
      with a bond of ${tsra(f.challenge.bond)} TSRA${f.disputed === undefined ? '' : `; a panel re-executes round ${f.disputed} (see Jobs)`}.</p>`
    : `<p data-challenge="" data-challenged-update="">No challenge${f.disputed === undefined ? '' : `; disputed: a panel re-executes round ${f.disputed} (see Jobs)`}.</p>`;
  const unreadable = f.unreadable ? `<p class="empty">The node no longer has the events of ${f.unreadable} of the job's blocks: when rounds opened and closed may be missing.</p>` : '';
  return `<div data-federation="${f.id}" data-round="${f.round}" data-rounds="${f.total}" data-shards="${f.shards}" data-seed="${text(f.seed)}"
      data-deadline="${f.deadline}" data-closed="${f.closed ?? ''}" data-inputs="${f.inputs.join(',')}">
    <h2>Federated job ${f.id}: round ${f.round + 1} of ${f.total} (${text(f.state ?? 'pruned')})</h2>
    <p>${f.shards} shards; round ${f.round} draws from seed <span class="hash">${text(short(f.seed))}</span>, ${taking}${f.privacy === undefined ? '' : `; private, ε ${(f.privacy / 1000).toFixed(3)} per participant`}.</p>
    ${participants.length ? table([`participant`, `shard in round ${f.round}`, `update for round ${f.round}`], participants) : empty('No participants drawn yet.')}
    ${seats.length ? table(['seat', 'aggregator', 'turn from block', `round ${f.round}`], seats) : empty(`No aggregators drawn for round ${f.round} yet: they are once it closes.`)}
    ${table(['round', 'opened at', 'updates revealed', 'replaced', 'closed at', 'aggregators', 'aggregate by', 'weights digest', 'updates averaged', 'aggregator paid (TSRA)', 'updates a panel upheld'], rounds)}
    ${challenge}${unreadable}
  </div>`;
}

export function renderRounds(section, { federations }) {
  section.innerHTML = federations.length
    ? federations.map(federationView).join('')
    : `<h2>Federated rounds</h2>${empty('No federated jobs yet.')}`;
}

const unreadableHistory = (blocks) => (blocks
  ? `<p class="empty">The node no longer has the events of ${blocks} of the last blocks: this history may be incomplete.</p>`
  : '');

const OUTCOME_TEXT = {
  proven: 'proven: the content was served and matched its CID',
  failed: 'failed: validators could not get the content',
  undecided: 'undecided: too few validators reported',
};

export function renderAvailability(section, { availability: { open, closed, lost, unreadable } }) {
  const openRows = open.map((c) => `<tr data-check="${c.id}" data-job="${c.job}" data-node="${c.node}" data-checkpoint="${c.checkpoint}"
      data-validator="${c.validator}" data-deadline="${c.deadline}" data-earlier="${c.earlier.join(',')}" data-missing="${c.missing}"
      data-asked-by="${text(c.askedBy?.account ?? '')}">
    <td class="number">${c.id}</td><td class="number">${c.job}</td><td class="number">node ${c.node}</td><td class="number">${c.checkpoint}</td>
    <td class="hash">${text(c.cid)}</td><td class="number">node ${c.validator}</td><td class="number">${c.deadline}</td>
    <td>${c.earlier.length ? `nodes ${c.earlier.join(', ')}; ${c.missing} reported it missing` : '—'}</td>
    <td>${c.askedBy ? `<span class="hash">${text(c.askedBy.account)}</span>, bond ${tsra(c.askedBy.bond)} TSRA` : 'sampled by the chain'}</td></tr>`);
  const closedRows = closed.map((c) => `<tr data-closed-check="${c.id}" data-outcome="${c.outcome.kind}" data-block="${c.outcome.block}"
      data-node="${c.node ?? ''}" data-amount="${c.outcome.amount ?? ''}" data-validator="${c.outcome.validator ?? ''}"
      data-reports="${c.reports.map(({ validator, report }) => `${validator}:${report}`).join(',')}">
    <td class="number">${c.id}</td><td class="number">${c.job ?? '—'}</td><td class="number">${c.node === undefined ? '—' : `node ${c.node}`}</td>
    <td class="number">${c.checkpoint ?? '—'}</td><td class="number">${c.opened ?? '—'}</td>
    <td data-field="outcome" class="${c.outcome.kind === 'failed' ? 'diverged' : c.outcome.kind === 'proven' ? 'agreed' : ''}">${OUTCOME_TEXT[c.outcome.kind]}</td>
    <td class="number">${c.outcome.block}</td>
    <td>${c.reports.map((r) => `node ${r.validator}: ${r.report === 'missing' ? 'missing' : `silent, ${tsra(r.slashed)} TSRA slashed`}`).join('<br>') || '—'}</td>
    <td data-field="amount">${c.outcome.kind === 'proven' ? `node ${c.outcome.validator} paid ${tsra(c.outcome.amount)} TSRA`
      : c.outcome.kind === 'failed' ? `node ${c.node} slashed ${tsra(c.outcome.amount)} TSRA` : '—'}</td></tr>`);
  const lostRows = lost.map((l) => `<tr data-lost="${l.job}-${l.node}-${l.checkpoint}"><td class="number">${l.job}</td><td class="number">node ${l.node}</td><td class="number">${l.checkpoint}</td></tr>`);
  section.innerHTML = `<h2>Open availability checks</h2>
    ${openRows.length ? table(['check', 'job', 'node', 'checkpoint', 'content CID', 'validator drawn', 'report due by block', 'validators before', 'asked by'], openRows) : empty('No open availability checks.')}
    <h2>Closed availability checks (last 1 000 blocks)</h2>
    ${closedRows.length ? table(['check', 'job', 'node', 'checkpoint', 'opened at', 'outcome', 'closed at', 'reports', 'paid or slashed'], closedRows) : empty('No availability checks closed in the last 1 000 blocks.')}
    <h2>Content found missing</h2>
    ${lostRows.length ? table(['job', 'node', 'checkpoint'], lostRows) : empty('No content found missing.')}
    ${unreadableHistory(unreadable)}`;
}

export function renderTraps(section, { traps }) {
  const { tasks, posted, assigned, postedSoFar, rate, confirmations, sprung, dropped, lapsed, unreadable } = traps;
  const taskRows = tasks.map((t) => `<tr data-task="${t.source}:${text(t.seed)}" data-setters="${t.setters.length}" data-armed="${t.armedAt}">
    <td class="number">${t.source}</td><td class="number">${text(t.seed)}</td><td class="hash">${t.setters.map(text).join('<br>')}</td>
    <td>${t.armedAt >= 0 ? `armed, number ${t.armedAt + 1} in line to be posted` : 'short of a quorum of seals'}</td>
    <td class="number">${t.stockedAt}</td><td class="number">${t.lapsesAt}</td></tr>`);
  const postedRows = posted.map((p) => `<tr data-posted="${p.job}">
    <td class="number">${p.job}</td><td class="number">${p.source}</td><td class="number">${text(p.seed)}</td><td class="number">${p.setters}</td></tr>`);
  const confirmationRows = confirmations.map((c) => `<tr data-confirmation="${c.job}" data-expected="${text(c.expected)}" data-setters="${c.setters.length}">
    <td class="number">${c.job}</td><td class="hash">${text(short(c.expected))}</td><td class="hash">${c.setters.map(text).join('<br>')}</td></tr>`);
  const sprungRows = sprung.map((t) => `<tr data-sprung="${t.job}" data-block="${t.block}" data-caught="${t.caught.map(({ node }) => node).join(',')}">
    <td class="number">${t.job}</td><td class="number">${t.block}</td><td class="hash">${text(short(t.expected))}</td>
    <td>${t.caught.map((c) => `node ${c.node}: ${tsra(c.amount)} TSRA slashed`).join('<br>') || 'nobody: every replica answered right'}</td></tr>`);
  section.innerHTML = `<h2>Traps</h2>
    <p data-traps data-tasks="${tasks.length}" data-assigned="${assigned}" data-posted-so-far="${postedSoFar}" data-rate="${rate}" data-sprung="${sprung.length}">
      <b data-field="tasks">${tasks.length}</b> task${tasks.length === 1 ? '' : 's'} in the vault (their answers sealed);
      ${postedSoFar} trap${postedSoFar === 1 ? '' : 's'} posted by the chain over ${assigned} jobs assigned, at a trap rate of ${(rate / 10_000_000).toFixed(1)}%.</p>
    ${taskRows.length ? table(['re-runs job', 'seed', 'sealed by', 'state', 'stocked at block', 'lapses at block'], taskRows) : empty('The vault is empty.')}
    ${postedRows.length ? `<h2>Trap jobs posted</h2>${table(['job', 're-runs job', 'seed', 'seals'], postedRows)}` : ''}
    ${confirmationRows.length ? `<h2>Answers revealed, short of a quorum</h2>${table(['job', 'answer', 'setters'], confirmationRows)}` : ''}
    <h2>Sprung traps (last 1 000 blocks)</h2>
    ${sprungRows.length ? table(['job', 'sprung at block', 'answer', 'caught'], sprungRows) : empty('No trap sprang in the last 1 000 blocks.')}
    ${dropped ? `<p>${dropped} armed task${dropped === 1 ? '' : 's'} could not be posted.</p>` : ''}
    ${lapsed ? `<p>${lapsed} task${lapsed === 1 ? '' : 's'} lapsed unposted.</p>` : ''}
    ${unreadableHistory(unreadable)}`;
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
