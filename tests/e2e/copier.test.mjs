// A lazy replica that copies gets nothing. The copier trains nothing: it waits until the
// other replicas reveal their first checkpoint, then commits to a copy of a revealed result
// under its own node id, signed with its own node key, as an authorized transaction of its
// own making. Each checkpoint's commit phase closes before its first reveal is accepted, so
// the pool refuses the commit as outdated and, without a commit, the copier's reveal too; the
// honest replicas' majority accepts the job, they are paid, and the copier is paid nothing
// and slashed for delivering nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { poolAuthorized, signedBy } from './lib/authorized.mjs';
import { approveDataset } from './lib/datasets.mjs';
import { disableSpotChecks, followEvents, shortenChallengeWindow } from './lib/demo-network.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { enrolNode, registerNode } from './lib/nodes.mjs';
import { csvJobSpec, csvTable, devNodeWithTrainer } from './lib/trainer.mjs';

const UNIT = 1_000_000_000_000n;
const STAKE = 2n * UNIT;

const context = devNodeWithTrainer({ blockTimeMs: 1_000 });

test('a replica that commits to checkpoints already revealed is refused and paid nothing', async () => {
  const { node: { api, rpcUrl }, trainer } = context;
  const keyring = new Keyring({ type: 'sr25519' });
  const [alice, charlie, dave, eve, ferdie] =
    ['//Alice', '//Charlie', '//Dave', '//Eve', '//Ferdie'].map((uri) => keyring.addFromUri(uri));
  await disableSpotChecks(api, alice);
  await shortenChallengeWindow(api, alice);
  // Three trainers of three owners: every job of three replicas draws them all. The
  // copier's key is not in the node's keystore: no off-chain worker works for it.
  const honest = [
    await enrolNode(api, dave, '//tessera-e2e-honest-a', trainer, STAKE),
    await enrolNode(api, eve, '//tessera-e2e-honest-b', trainer, STAKE),
  ];
  const copierKey = keyring.addFromUri('//tessera-e2e-copier');
  const copier = await registerNode(api, charlie, copierKey, STAKE);

  const stored = await trainer.put(csvTable());
  await approveDataset(api, stored.cid, { owner: ferdie, approver: alice });
  const spec = csvJobSpec(stored.cid, { learningRate: 100_000_000, batchSize: 8, steps: 20, checkpointEvery: 10, seed: 5 });
  const events = [];
  const stopFollowing = await followEvents(api, (event) => {
    if (event.section === 'proofOfCompute') events.push(event);
  });
  const balanceOf = async (pair) => (await api.query.system.account(pair.address)).data.free.toBigInt();
  const copierOwnerBefore = await balanceOf(charlie);
  // A replica that never reveals is waited for until the deadline: time enough for two
  // checkpoints, each with its commit phase closed by `RevealDelay` (20 blocks).
  const deadline = (await api.query.system.number()).toNumber() + 90;
  const { events: created } = await inBlock(api.tx.proofOfCompute.createJob(spec, 2n * UNIT, 3, deadline), ferdie);
  const job = created.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event)).event.data.job.toNumber();

  await waitForEvent(
    api,
    (event) => api.events.proofOfCompute.JobAssigned.is(event) && event.data.job.toNumber() === job,
    30_000,
  );
  const commitOf = (hash, signature) =>
    api.tx.proofOfCompute.commit({ job, checkpoint: 0, node: copier, hash: u8aToHex(hash) }, signature);
  // While checkpoint 0's commit phase is open, a commit by the copier gets as far as its
  // signature: this one, unsigned, is refused for that alone.
  await assert.rejects(
    poolAuthorized(rpcUrl, commitOf(new Uint8Array(32), u8aToHex(new Uint8Array(64)))),
    /bad signature/i,
  );

  // The first reveal of checkpoint 0 is public: the copier copies it as its own.
  const first = await waitForEvent(
    api,
    (event) => api.events.proofOfCompute.Revealed.is(event) && event.data.job.toNumber() === job,
    120_000,
  );
  assert.equal(first.data.checkpoint.toNumber(), 0);
  const views = await api.call.computeApi.commitments(job);
  const revealed = views.find((view) => view.checkpoint.toNumber() === 0 && view.revealed.isSome).revealed.unwrap();
  const copy = new revealed.constructor(api.registry, { ...revealed.toJSON(), node: copier });
  const salt = new Uint8Array(32).fill(7);
  const hash = blake2AsU8a(u8aConcat(copy.toU8a(), api.createType('u32', copier).toU8a(), salt), 256);
  const commit = signedBy(api, copierKey, 'tessera/poc-commit', (signature) => commitOf(hash, signature));
  await assert.rejects(poolAuthorized(rpcUrl, commit), /outdated/i);
  const reveal = signedBy(api, copierKey, 'tessera/poc-reveal', (signature) =>
    api.tx.proofOfCompute.reveal({ payload: copy.toJSON(), salt: u8aToHex(salt) }, signature));
  await assert.rejects(poolAuthorized(rpcUrl, reveal), /future/i);

  await waitForEvent(
    api,
    (event) => api.events.proofOfCompute.JobAccepted.is(event) && event.data.job.toNumber() === job,
    240_000,
  );
  const finalized = (event) => api.events.proofOfCompute.JobFinalized.is(event) && event.data.job.toNumber() === job;
  await waitForEvent(api, finalized, 120_000);
  // The followed events reach the block of the finalization too.
  while (!events.some(finalized)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stopFollowing();
  const ofJob = events.filter((event) => event.data.job?.toNumber() === job);
  const named = (name) => ofJob.filter((event) => api.events.proofOfCompute[name].is(event));
  const byCopier = ({ data }) => data.node.toNumber() === copier;

  // The chain took none of the copier's commits, so none of its reveals.
  assert.deepEqual(named('Committed').filter(byCopier), []);
  assert.deepEqual(named('Revealed').filter(byCopier), []);
  for (const node of honest) {
    assert.equal(named('Revealed').filter(({ data }) => data.node.toNumber() === node).length, 2);
  }

  // The honest two are paid; the copier is not, and loses stake for delivering nothing.
  const paid = named('RewardPaid').map(({ data }) => data.node.toNumber()).sort();
  assert.deepEqual(paid, [...honest].sort());
  const [slashed] = named('ReplicaSlashed');
  assert.equal(named('ReplicaSlashed').length, 1);
  assert.equal(slashed.data.node.toNumber(), copier);
  assert.ok(slashed.data.amount.toBigInt() > 0n);
  assert.equal((await api.call.nodeRegistryApi.node(copier)).unwrap().stake.toBigInt(), STAKE - slashed.data.amount.toBigInt());
  assert.equal(await balanceOf(charlie), copierOwnerBefore, 'nothing paid to the copier\'s owner');
});
