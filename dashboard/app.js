// Connects to a node (`?rpc=ws://…`, default ws://127.0.0.1:9944), reads everything from
// metadata, storage, events and Tessera's runtime APIs at every new block, and renders the
// views.
// `?trainer=http://…` adds the loss curves that trainer reports. Read-only: extrinsics are
// sent from polkadot-js apps.

import { ApiPromise, WsProvider } from '@polkadot/api';
import { u8aToHex } from '@polkadot/util';
import { base32Encode, base58Encode, blake2AsU8a } from '@polkadot/util-crypto';
import { missingPallets, missingPalletsMessage } from './pallets.js';
import {
  disputeReasonText, renderAvailability, renderChain, renderData, renderDids, renderJobs, renderMissingPallets, renderModels, renderNodes,
  renderRounds, renderTraps,
} from './views.js';

const params = new URLSearchParams(window.location.search);
const rpc = params.get('rpc') ?? 'ws://127.0.0.1:9944';
const trainer = params.get('trainer');
/** Blocks of reputation history read back when the page opens. */
const BACKFILL_BLOCKS = 30;

/** The pallets whose events the views read: proof of compute and its traps pallet. */
const TRACKED_SECTIONS = ['proofOfCompute', 'proofOfComputeTraps'];
/**
 * The events the views read: a job's dispute, a federated job's rounds, and the course of
 * availability checks and traps.
 */
const TRACKED_EVENTS = [
  'JobDisputed', 'SegmentDisputed', 'PanelDrawn', 'NoPanel', 'VerdictCommitted', 'VerdictRevealed',
  'VerdictMissed', 'SegmentSettled', 'ReplicaConvicted', 'PanelFeePaid', 'DisputeResolved',
  'RoundOpened', 'RoundClosed', 'RoundExtended', 'ParticipantReplaced', 'RoundAggregated', 'AggregatorPaid',
  'RoundsRewound',
  'Challenged', 'ChallengeWon', 'ChallengeLost',
  'AvailabilityChecked', 'AvailabilityProven', 'AvailabilityMissing', 'AvailabilityReportMissed',
  'AvailabilityUndecided', 'AvailabilityFailed',
  'TrapSealed', 'TrapPosted', 'TrapDropped', 'TrapLapsed', 'TrapConfirmed', 'TrapSprung',
];
/**
 * Blocks back from the best whose events the availability and trap views read: the
 * runtime's retention, for which a job's content must stay available.
 */
const HISTORY_BLOCKS = 1_000;
/** Blocks whose events are read at once when a job's history is first read. */
const EVENT_BATCH = 16;

const ui = {
  history: new Map(),
  /** Per block read so far: its tracked events, or `null` when the node no longer has them. */
  events: new Map(),
  losses: new Map(),
  /** Jobs the trainer has finished: their curves are complete. */
  trained: new Set(),
  selectedNode: undefined,
  selectedJob: undefined,
  snapshot: undefined,
};

function banner(message, kind = 'info') {
  const element = document.getElementById('banner');
  element.hidden = !message;
  element.textContent = message ?? '';
  element.className = kind;
  element.dataset.state = message ? kind : '';
}

function showView() {
  const view = (window.location.hash || '#chain').slice(1);
  for (const section of document.querySelectorAll('main section')) {
    section.classList.toggle('active', section.id === view);
  }
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('active', link.getAttribute('href') === `#${view}`);
  }
}

const hex = (value) => u8aToHex(value.toU8a(true));
/** A CID stored as bytes: its base32 string when it is a CIDv1, else the bytes as text or hex. */
const cid = (value) => {
  const bytes = value.toU8a(true);
  if (bytes[0] === 1) return base32Encode(bytes, true);
  const printable = bytes.every((byte) => byte >= 0x20 && byte < 0x7f);
  return printable ? new TextDecoder().decode(bytes) : u8aToHex(bytes);
};
const enumName = (value) => (value.isBasic ? value.toString() : value.type);

/** Every record of a storage map keyed by a number, as `read(id, record)` makes it, by id. */
async function byId(map, read) {
  const records = await Promise.all(
    (await map.entries()).map(([key, value]) => read(key.args[0].toNumber(), value.unwrap())),
  );
  return records.sort((a, b) => a.id - b.id);
}

async function loadNodes(at) {
  return byId(at.query.nodeRegistry.nodes, async (id, info) => {
    const reputation = (await at.call.reputationApi.reputation(id)).unwrap();
    const dimensions = reputation.dimensions.toJSON();
    return {
      id,
      owner: info.owner.toString(),
      roles: info.roles.map((role) => role.type),
      stake: info.stake.toBigInt(),
      status: info.status.isInactive ? `Inactive (${info.status.asInactive.type})` : info.status.type,
      lastHeartbeat: info.lastHeartbeat.isSome ? info.lastHeartbeat.unwrap().toNumber() : undefined,
      reputation: { score: reputation.score.toNumber(), tier: reputation.tier.type, dimensions },
    };
  });
}

/** The tracked events of blocks `from` to `to`, read once per block, in order. */
async function eventsOf(api, from, to) {
  const unread = [];
  for (let block = from; block <= to; block += 1) if (!ui.events.has(block)) unread.push(block);
  for (let start = 0; start < unread.length; start += EVENT_BATCH) {
    await Promise.all(unread.slice(start, start + EVENT_BATCH).map(async (block) => {
      try {
        const events = await api.query.system.events.at(await api.rpc.chain.getBlockHash(block));
        ui.events.set(block, events
          .map(({ event }) => event)
          .filter((event) => TRACKED_SECTIONS.includes(event.section) && TRACKED_EVENTS.includes(event.method))
          .map((event) => ({ block, name: event.method, data: event.data })));
      } catch {
        // A pruned node keeps the state of recent blocks only.
        ui.events.set(block, null);
      }
    }));
  }
  const blocks = Array.from({ length: to - from + 1 }, (_, index) => ui.events.get(from + index));
  return { events: blocks.filter(Boolean).flat(), unreadable: blocks.filter((events) => events === null).length };
}

/**
 * A job's dispute: its course so far from the events of the blocks since its replicas were
 * drawn (segments bisected, panels drawn, verdicts, convictions, fees, the resolution), and,
 * while it is open, the current segment and panel from storage at `at`.
 */
/** The blocks a job's events are in: from its assignment (or creation) to its end, or `best`. */
function jobBlocks(info, best) {
  const from = (info.assigned.isSome ? info.assigned.unwrap() : info.created).toNumber();
  const to = info.ended.isSome ? Math.min(info.ended.unwrap().toNumber(), best) : best;
  return [from, to];
}

async function loadDispute(api, at, id, info, best) {
  const { events, unreadable } = await eventsOf(api, ...jobBlocks(info, best));
  const history = { reason: undefined, segments: [], resolved: undefined, unreadable };
  for (const { name, data } of events.filter(({ data }) => data.job?.eq(id))) {
    const segment = history.segments.at(-1);
    if (name === 'JobDisputed') history.reason = disputeReasonText(data.reason);
    if (name === 'SegmentDisputed') {
      history.segments.push({
        checkpoint: data.checkpoint.toNumber(),
        fromStep: data.fromStep.toNumber(),
        toStep: data.toStep.toNumber(),
        probes: data.probes.toNumber(),
        panel: [],
        deadline: undefined,
        settled: undefined,
        convicted: [],
        fees: [],
        missed: [],
      });
    }
    if (!segment && name !== 'DisputeResolved') continue;
    if (name === 'PanelDrawn') {
      segment.panel = data.panel.map((node) => node.toNumber());
      segment.deadline = data.deadline.toNumber();
    }
    if (name === 'SegmentSettled') segment.settled = data.weightsDigest.toHex();
    if (name === 'ReplicaConvicted') {
      segment.convicted.push({ node: data.node.toNumber(), reason: data.reason.type, amount: data.amount.toBigInt() });
    }
    if (name === 'PanelFeePaid') segment.fees.push({ node: data.node.toNumber(), amount: data.amount.toBigInt() });
    if (name === 'VerdictMissed') segment.missed.push(data.node.toNumber());
    if (name === 'DisputeResolved') {
      history.resolved = { upheld: data.upheld.isTrue, segments: data.segments.toNumber(), steps: data.steps.toNumber() };
    }
  }
  const stored = await at.query.proofOfCompute.disputes(id);
  if (stored.isNone) return history.segments.length || history.resolved ? { ...history, open: undefined } : undefined;
  const dispute = stored.unwrap();
  const panel = await at.query.proofOfCompute.panels(id);
  const members = await Promise.all(panel.map(async (node) => ({
    node: node.toNumber(),
    committed: (await at.query.proofOfCompute.panelCommits(id, node)).isSome,
    revealed: (await at.query.proofOfCompute.panelVerdicts(id, node)).isSome,
  })));
  return {
    ...history,
    reason: disputeReasonText(dispute.reason),
    open: {
      checkpoint: dispute.segment.checkpoint.toNumber(),
      fromStep: dispute.segment.fromStep.toNumber(),
      toStep: dispute.segment.toStep.toNumber(),
      probes: dispute.segment.probes.toNumber(),
      deadline: dispute.deadline.toNumber(),
      draws: dispute.draws.toNumber(),
      settledSegments: dispute.segments.toNumber(),
      steps: dispute.steps.toNumber(),
      convicted: dispute.convicted.map((node) => node.toNumber()),
      slashed: dispute.slashed.toBigInt(),
      members,
    },
  };
}

async function loadJobs(api, at, best) {
  return byId(at.query.proofOfCompute.jobs, async (id, info) => {
    const [replicas, commitments, payouts, challenge] = await Promise.all([
      at.call.computeApi.assignments(id),
      at.call.computeApi.commitments(id),
      at.call.computeApi.payouts(id),
      at.query.proofOfCompute.challenges(id),
    ]);
    const challenged = challenge.isSome
      ? `challenged at checkpoint ${challenge.unwrap()[1]} with a bond of ${challenge.unwrap()[2].toBigInt()} planck`
      : undefined;
    const disputed = ['Disputed', 'Resolved', 'Failed'].includes(info.state.type);
    return {
      id,
      state: info.state.type,
      budget: info.budget.toBigInt(),
      checkpoints: info.checkpoints.toNumber(),
      replicas: replicas.map((node) => node.toNumber()),
      commitments: commitments.map((view) => ({
        node: view.node.toNumber(),
        checkpoint: view.checkpoint.toNumber(),
        revealed: view.revealed.isSome,
        // What the replica claims: agreement is on the weights and the state together.
        claim: view.revealed.isSome
          ? `${view.revealed.unwrap().weightsDigest.toHex()}/${view.revealed.unwrap().stateCid.toHex()}`
          : undefined,
      })),
      result: info.result.isSome ? info.result.unwrap().weightsDigest.toHex() : undefined,
      challenged,
      dispute: disputed ? await loadDispute(api, at, id, info, best) : undefined,
      payouts: payouts.map(([node, amount]) => [node.toNumber(), amount.toBigInt()]),
    };
  });
}

/** Four bytes of `value`, little-endian, as SCALE encodes a `u32`. */
const u32 = (value) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
};

/** The shard `node` trains on in `round`: `blake2_256(node ‖ seed ‖ round) mod shards`, as the chain draws it. */
function shardOf(node, seed, round, shards) {
  const encoded = new Uint8Array([...u32(node), ...seed, ...u32(round)]);
  return new DataView(blake2AsU8a(encoded).buffer).getUint32(0, true) % Math.max(shards, 1);
}

/**
 * Federated jobs at `at`: each one's participants and their shards in the current round, the
 * round's aggregators and their turns, every round's updates (reveals), the updates a panel
 * upheld and the aggregate, and its challenge, of an aggregate or of one participant's update;
 * and, from the events of the job's blocks, when each round opened and closed, who was seated,
 * replaced and paid.
 */
async function loadRounds(api, at, best) {
  const grace = api.consts.proofOfCompute.aggregatorGrace.toNumber();
  const federations = await at.query.proofOfCompute.federations.entries();
  const jobs = await Promise.all(federations.map(async ([key, value]) => {
    const id = key.args[0].toNumber();
    const federation = value.unwrap();
    const [stored, assigned, commitments, aggregations, challenge, dispute, upheldUpdates] = await Promise.all([
      at.query.proofOfCompute.jobs(id),
      at.query.proofOfCompute.assignments(id),
      at.call.computeApi.commitments(id),
      at.query.proofOfCompute.aggregations.entries(id),
      at.query.proofOfCompute.challenges(id),
      at.query.proofOfCompute.disputes(id),
      at.query.proofOfCompute.upheldUpdates.entries(id),
    ]);
    const round = federation.round.toNumber();
    const upheld = upheldUpdates.map(([key]) => ({ round: key.args[1][0].toNumber(), node: key.args[1][1].toNumber() }));
    const reason = dispute.isSome ? dispute.unwrap().reason : undefined;
    const shards = federation.shards.toNumber();
    const seed = federation.seed.toU8a();
    const closed = federation.closed.isSome ? federation.closed.unwrap().toNumber() : undefined;
    const info = stored.isSome ? stored.unwrap() : undefined;
    const rounds = info ? info.checkpoints.toNumber() : round + 1;
    const aggregates = new Map(aggregations.map(([, aggregation]) => {
      const a = aggregation.unwrap();
      return [a.round.toNumber(), {
        node: a.node.toNumber(), digest: a.weightsDigest.toHex(), participants: a.participants.toNumber(),
      }];
    }));
    const seats = federation.aggregators.map((node, seat) => ({
      node: node.toNumber(),
      turnStarts: closed === undefined ? undefined : closed + grace * seat,
    }));
    // The seat whose turn it is: the last one whose turn began by `best`, until the round's
    // aggregate is in.
    const started = seats.filter(({ turnStarts }) => turnStarts !== undefined && turnStarts <= best);
    const turn = aggregates.has(round) || started.length === 0 ? undefined : started.length - 1;
    const history = Array.from({ length: rounds }, () => ({
      opened: undefined, deadline: undefined, closed: undefined, aggregators: [], extended: [], replaced: [], paid: [],
    }));
    let unreadable = 0;
    if (info) {
      const read = await eventsOf(api, ...jobBlocks(info, best));
      unreadable = read.unreadable;
      let latest = 0;
      const unpaid = new Map();
      for (const { block, name, data } of read.events.filter(({ data }) => data.job?.eq(id))) {
        const of = (r) => history[r.toNumber()] ?? {};
        if (name === 'RoundOpened') {
          latest = data.round.toNumber();
          Object.assign(of(data.round), { opened: block, deadline: data.deadline.toNumber() });
        }
        if (name === 'RoundClosed') {
          Object.assign(of(data.round), { closed: block, aggregators: data.aggregators.map((node) => node.toNumber()) });
        }
        if (name === 'RoundExtended') of(data.round).extended.push(data.deadline.toNumber());
        if (name === 'ParticipantReplaced') {
          (history[latest] ?? {}).replaced?.push({ node: data.node.toNumber(), by: data.by.isSome ? data.by.unwrap().toNumber() : undefined });
        }
        if (name === 'RoundAggregated') {
          const node = data.node.toNumber();
          unpaid.set(node, [...(unpaid.get(node) ?? []), data.round.toNumber()]);
        }
        // An aggregator is paid for its aggregates in the order it committed them.
        if (name === 'AggregatorPaid') {
          const paidFor = unpaid.get(data.node.toNumber())?.shift();
          if (paidFor !== undefined) history[paidFor]?.paid.push(data.amount.toBigInt());
        }
      }
    }
    return {
      id,
      state: info?.state.type,
      round,
      total: rounds,
      shards,
      seed: federation.seed.toHex(),
      deadline: federation.deadline.toNumber(),
      closed,
      privacy: federation.privacy.isSome ? federation.privacy.unwrap()[1].toNumber() : undefined,
      participants: (assigned.isSome ? assigned.unwrap() : []).map((node) => {
        const id = node.toNumber();
        const update = commitments.find((view) => view.node.eq(id) && view.checkpoint.eq(round));
        return { node: id, shard: shardOf(id, seed, round, shards), update: update ? (update.revealed.isSome ? 'revealed' : 'committed') : 'none' };
      }),
      inputs: federation.inputs.map((node) => node.toNumber()),
      seats,
      turn,
      rounds: Array.from({ length: rounds }, (_, r) => ({
        round: r,
        updates: commitments.filter((view) => view.checkpoint.eq(r) && view.revealed.isSome).map((view) => view.node.toNumber()).sort((a, b) => a - b),
        aggregate: aggregates.get(r),
        upheld: upheld.filter((update) => update.round === r).map(({ node }) => node).sort((a, b) => a - b),
        ...history[r],
      })),
      challenge: challenge.isSome
        ? {
          challenger: challenge.unwrap()[0].toString(),
          round: challenge.unwrap()[1].toNumber(),
          bond: challenge.unwrap()[2].toBigInt(),
          update: reason?.isUpdateChallenged ? reason.asUpdateChallenged.toNumber() : undefined,
        }
        : undefined,
      disputed: dispute.isSome ? dispute.unwrap().segment.checkpoint.toNumber() : undefined,
      unreadable,
    };
  }));
  return jobs.sort((a, b) => a.id - b.id);
}

/** The blocks of the availability and trap views' history: the last `HISTORY_BLOCKS` up to `best`. */
const recentBlocks = (best) => [Math.max(1, best - HISTORY_BLOCKS + 1), best];

/**
 * Availability checks: the open ones at `at` (whom each is drawn to, by when, who asked),
 * the content found missing, and, from the events of the last `HISTORY_BLOCKS`, each check's
 * course and outcome.
 */
async function loadAvailability(api, at, best) {
  const [open, lost, { events, unreadable }] = await Promise.all([
    at.query.proofOfCompute.availabilityChecks.entries(),
    at.query.proofOfCompute.lostContent.keys(),
    eventsOf(api, ...recentBlocks(best)),
  ]);
  const checks = await Promise.all(open.map(async ([key, value]) => {
    const id = key.args[0].toNumber();
    const check = value.unwrap();
    const bond = await at.query.proofOfCompute.availabilityBonds(id);
    return {
      id,
      job: check.job.toNumber(),
      node: check.node.toNumber(),
      checkpoint: check.checkpoint.toNumber(),
      cid: cid(check.cid),
      validator: check.validator.toNumber(),
      deadline: check.deadline.toNumber(),
      earlier: check.earlier.map((node) => node.toNumber()),
      missing: check.missing.toNumber(),
      askedBy: bond.isSome ? { account: bond.unwrap()[0].toString(), bond: bond.unwrap()[1].toBigInt() } : undefined,
    };
  }));
  const history = new Map();
  const of = (data) => {
    const id = data.check.toNumber();
    if (!history.has(id)) history.set(id, { id, reports: [], outcome: undefined });
    return history.get(id);
  };
  for (const { block, name, data } of events.filter(({ name }) => name.startsWith('Availability'))) {
    const check = of(data);
    if (name === 'AvailabilityChecked') {
      check.opened ??= block;
      Object.assign(check, { job: data.job.toNumber(), node: data.node.toNumber(), checkpoint: data.checkpoint.toNumber() });
    }
    if (name === 'AvailabilityMissing') check.reports.push({ validator: data.validator.toNumber(), report: 'missing' });
    if (name === 'AvailabilityReportMissed') {
      check.reports.push({ validator: data.validator.toNumber(), report: 'silent', slashed: data.slashed.toBigInt() });
    }
    if (name === 'AvailabilityProven') {
      check.outcome = { kind: 'proven', block, validator: data.validator.toNumber(), amount: data.fee.toBigInt() };
    }
    if (name === 'AvailabilityFailed') {
      check.outcome = { kind: 'failed', block, amount: data.slashed.toBigInt() };
      check.node = data.node.toNumber();
    }
    if (name === 'AvailabilityUndecided') check.outcome = { kind: 'undecided', block };
  }
  return {
    open: checks.sort((a, b) => a.id - b.id),
    closed: [...history.values()].filter(({ outcome }) => outcome).sort((a, b) => a.id - b.id),
    lost: lost.map(({ args: [job, node, checkpoint] }) => ({ job: job.toNumber(), node: node.toNumber(), checkpoint: checkpoint.toNumber() }))
      .sort((a, b) => a.job - b.job || a.node - b.node || a.checkpoint - b.checkpoint),
    unreadable,
  };
}

/**
 * Traps: the vault's tasks at `at` (each a verified job to re-run, a seed, and its setters'
 * seals), the armed ones in the order the chain posts them, the traps posted and not yet
 * pruned, the tally the trap rate bounds, the answers revealed towards a quorum, and, from
 * the events of the last `HISTORY_BLOCKS`, the traps that sprang, whom they caught, and the
 * tasks dropped or lapsed.
 */
async function loadTraps(api, at, best) {
  const [vault, armed, posted, confirmations, [assigned, postedSoFar], rate, { events, unreadable }] = await Promise.all([
    at.query.proofOfComputeTraps.vault.entries(),
    at.query.proofOfComputeTraps.armedTasks(),
    at.query.proofOfComputeTraps.postedTraps.entries(),
    at.query.proofOfComputeTraps.trapConfirmations.entries(),
    at.query.proofOfComputeTraps.trapTally(),
    at.query.proofOfComputeTraps.trapRate(),
    eventsOf(api, ...recentBlocks(best)),
  ]);
  const lapseAfter = 2 * api.consts.proofOfCompute.maxJobDuration.toNumber();
  const taskOf = ({ source, seed }) => ({ source: source.toNumber(), seed: seed.toBigInt().toString() });
  const sprung = events.filter(({ name }) => name === 'TrapSprung').map(({ block, data }) => ({
    block,
    job: data.job.toNumber(),
    expected: data.expected.toHex(),
    caught: events
      .filter(({ name, data: convicted }) => name === 'ReplicaConvicted' && convicted.job.eq(data.job) && convicted.reason.isTrapFailure)
      .map(({ data: convicted }) => ({ node: convicted.node.toNumber(), amount: convicted.amount.toBigInt() })),
  }));
  return {
    tasks: vault.map(([, value]) => {
      const { task, seals, stockedAt } = value.unwrap();
      return {
        ...taskOf(task),
        setters: seals.map(([setter]) => setter.toString()),
        stockedAt: stockedAt.toNumber(),
        lapsesAt: stockedAt.toNumber() + lapseAfter,
        armedAt: armed.findIndex((queued) => queued.eq(task)),
      };
    }).sort((a, b) => a.stockedAt - b.stockedAt || a.source - b.source || a.seed.localeCompare(b.seed)),
    posted: posted.map(([key, value]) => {
      const { task, seals } = value.unwrap();
      return { job: key.args[0].toNumber(), ...taskOf(task), setters: seals.length };
    }).sort((a, b) => a.job - b.job),
    assigned: assigned.toNumber(),
    postedSoFar: postedSoFar.toNumber(),
    // Parts per billion.
    rate: rate.toNumber(),
    confirmations: confirmations.map(([key, setters]) => ({
      job: key.args[0].toNumber(), expected: key.args[1].toHex(), setters: setters.map((setter) => setter.toString()),
    })),
    sprung,
    dropped: events.filter(({ name }) => name === 'TrapDropped').length,
    lapsed: events.filter(({ name }) => name === 'TrapLapsed').length,
    unreadable,
  };
}

async function loadModels(at) {
  const models = await byId(at.query.modelRegistry.models, async (id, model) => {
    const versions = await at.call.modelApi.versions(id);
    return {
      id,
      name: model.name.toUtf8(),
      owner: model.owner.isAccount ? model.owner.asAccount.toString() : `did ${hex(model.owner.asDid)}`,
      current: model.current.toNumber(),
      versions: versions.map(([index, version]) => ({
        index: index.toNumber(),
        parent: version.parent.isSome ? version.parent.unwrap().toNumber() : undefined,
        digest: version.digest.toHex(),
        weights: cid(version.weights),
        producedByJob: version.producedByJob.isSome ? version.producedByJob.unwrap().toNumber() : undefined,
        status: enumName(version.status),
      })),
    };
  });
  const proposals = await byId(at.query.modelRegistry.proposals, (id, proposal) => ({
    id,
    kind: proposal.kind.type,
    proposer: proposal.proposer.toString(),
    ayes: proposal.ayes.length,
    nays: proposal.nays.length,
    status: enumName(proposal.status),
  }));
  return { models, proposals };
}

async function loadData(at) {
  const datasets = await at.call.modelApi.datasets();
  return Promise.all(datasets.map(async ([id, dataset]) => ({
    id: id.toNumber(),
    cid: cid(dataset.cid),
    shards: dataset.shards.toNumber(),
    licence: dataset.licence.toUtf8(),
    owner: hex(dataset.owner),
    grantedOnly: dataset.consent.isGranted,
    grants: (await at.call.didApi.grantsForDataset(dataset.cid)).map(({ grantee, grant }) => ({
      grantee: hex(grantee),
      grantedAt: grant.grantedAt.toNumber(),
      expiresAt: grant.expiresAt.toNumber(),
      accesses: grant.accesses.toNumber(),
      // ε in thousandths: what private jobs spent, and the budget, if the grant has one.
      spent: grant.spentEpsilonMilli.toNumber(),
      budget: grant.budget.isSome ? grant.budget.unwrap().epsilonMilli.toNumber() : null,
    })),
  })));
}

async function loadDids(at) {
  return (await at.query.did.documents.entries()).map(([key, value]) => {
    const document = value.unwrap();
    const id = key.args[0].toU8a(true);
    return {
      id: u8aToHex(id),
      uri: `did:tessera:${base58Encode(id)}`,
      controllers: document.controllers.map((account) => account.toString()),
      created: document.created.toNumber(),
      revoked: document.revoked.isSome ? document.revoked.unwrap().toNumber() : undefined,
    };
  });
}

/** Everything the views show, read at the best block `best` (whose state is `at`) of chain `name`. */
async function load(api, at, name, best) {
  const [finalizedHash, paraId] = await Promise.all([
    api.rpc.chain.getFinalizedHead(),
    at.query.parachainInfo?.parachainId(),
  ]);
  const finalized = (await api.rpc.chain.getHeader(finalizedHash)).number.toNumber();
  const chain = {
    name,
    best,
    finalized,
    paraId: paraId?.toNumber(),
    specName: api.runtimeVersion.specName.toString(),
    specVersion: api.runtimeVersion.specVersion.toNumber(),
  };
  const missing = missingPallets(api.runtimeMetadata.asLatest.pallets.map(({ name }) => name.toString()));
  if (missing.length > 0) {
    return { chain, tessera: false, missing };
  }
  const [nodes, jobs, { models, proposals }, datasets, dids, federations, availability, traps] = await Promise.all([
    loadNodes(at), loadJobs(api, at, best), loadModels(at), loadData(at), loadDids(at), loadRounds(api, at, best),
    loadAvailability(api, at, best), loadTraps(api, at, best),
  ]);
  return {
    chain, tessera: true, missing, nodes, jobs, models, proposals, datasets, dids, federations, availability, traps,
  };
}

/** Reads back the reputation of every node over the last blocks, so that charts start full. */
async function backfill(api, best, nodes) {
  for (let block = Math.max(1, best - BACKFILL_BLOCKS); block < best; block += 1) {
    const at = await api.at(await api.rpc.chain.getBlockHash(block));
    for (const { id } of nodes) {
      const reputation = await at.call.reputationApi.reputation(id);
      if (reputation.isSome) record(id, block, reputation.unwrap().score.toNumber());
    }
  }
}

function record(node, block, score) {
  const points = ui.history.get(node) ?? [];
  if (!points.some(([seen]) => seen === block)) {
    points.push([block, score]);
    points.sort(([a], [b]) => a - b);
  }
  ui.history.set(node, points);
}

async function fetchLosses(jobs) {
  if (!trainer) return;
  await Promise.all(jobs.filter(({ id }) => !ui.trained.has(id)).map(async ({ id }) => {
    try {
      const status = await (await fetch(`${trainer}/v1/jobs/${id}`)).json();
      if (status.commitments?.length) {
        ui.losses.set(id, status.commitments.map(({ step, mean_loss: loss }) => [step, loss]));
      }
      if (status.state && status.state !== 'running') ui.trained.add(id);
    } catch {
      // The trainer does not know this job, or is down: no curve.
    }
  }));
}

function render() {
  const { snapshot } = ui;
  if (!snapshot) return;
  document.getElementById('blocks').textContent = `best #${snapshot.chain.best} · finalized #${snapshot.chain.finalized}`;
  renderChain(document.getElementById('chain'), snapshot);
  if (!snapshot.tessera) {
    banner(missingPalletsMessage(snapshot.missing), 'error');
    for (const view of ['nodes', 'jobs', 'rounds', 'availability', 'traps', 'models', 'data', 'dids']) {
      renderMissingPallets(document.getElementById(view), snapshot.missing);
    }
    return;
  }
  renderNodes(document.getElementById('nodes'), snapshot, ui);
  renderJobs(document.getElementById('jobs'), snapshot, ui);
  renderRounds(document.getElementById('rounds'), snapshot);
  renderAvailability(document.getElementById('availability'), snapshot);
  renderTraps(document.getElementById('traps'), snapshot);
  renderModels(document.getElementById('models'), snapshot);
  renderData(document.getElementById('data'), snapshot);
  renderDids(document.getElementById('dids'), snapshot);
}

async function main() {
  document.getElementById('endpoint').textContent = rpc;
  document.getElementById('apps-link').href = `https://polkadot.js.org/apps/?rpc=${encodeURIComponent(rpc)}#/extrinsics`;
  window.addEventListener('hashchange', showView);
  showView();
  document.addEventListener('change', (event) => {
    if (event.target.id === 'node-select') ui.selectedNode = Number(event.target.value);
    if (event.target.id === 'job-select') ui.selectedJob = Number(event.target.value);
    render();
  });

  banner(`Connecting to ${rpc}…`);
  const provider = new WsProvider(rpc, 2_500);
  provider.on('error', () => banner(`Node unreachable at ${rpc}; retrying every few seconds.`, 'error'));
  provider.on('disconnected', () => banner(`Node unreachable at ${rpc}; retrying every few seconds.`, 'error'));
  provider.on('connected', () => banner());
  const api = await ApiPromise.create({ provider, noInitWarn: true });
  banner();

  const name = (await api.rpc.system.chain()).toString();
  let busy = false;
  let started = false;
  await api.rpc.chain.subscribeNewHeads(async (header) => {
    if (busy) return;
    busy = true;
    try {
      const best = header.number.toNumber();
      ui.snapshot = await load(api, await api.at(header.hash), name, best);
      if (ui.snapshot.tessera) {
        for (const { id, reputation } of ui.snapshot.nodes) record(id, best, reputation.score);
        await fetchLosses(ui.snapshot.jobs);
      }
      render();
      document.body.dataset.block = best;
      if (!started && ui.snapshot.tessera) {
        started = true;
        backfill(api, best, ui.snapshot.nodes).then(render);
      }
    } catch (error) {
      banner(`Could not read the chain: ${error.message}`, 'error');
    } finally {
      busy = false;
    }
  });
}

main();
