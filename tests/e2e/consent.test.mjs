// Consent the chain enforces: a dataset its owner grants only to some DIDs is trained only
// by nodes linked to a granted DID. Without a grant a job on the data is refused when
// posted; a grant lets the linked node in, and the grant's audit trail records the use;
// once the grant is revoked, a new job on the data is refused again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { approveDataset } from './lib/datasets.mjs';
import { createDid } from './lib/dids.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { enrolNode } from './lib/nodes.mjs';
import { cidBytes, csvJobSpec, csvTable, devNodeWithTrainer } from './lib/trainer.mjs';

const UNIT = 1_000_000_000_000n;
const context = devNodeWithTrainer();

/** Posts a one-replica job on `cid` for `requester`; returns its id. */
async function post(api, cid, requester) {
  const spec = csvJobSpec(cid, { learningRate: 100_000_000, batchSize: 8, steps: 20, checkpointEvery: 10, seed: 3 });
  const deadline = (await api.query.system.number()).toNumber() + 100;
  const { events } = await inBlock(api.tx.proofOfCompute.createJob(spec, 2n * UNIT, 1, deadline), requester);
  return events.find(({ event }) => api.events.proofOfCompute.JobCreated.is(event)).event.data.job.toNumber();
}


test('granted data goes only to nodes linked to a granted DID, and each use is recorded', async () => {
  const { node: { api }, trainer } = context;
  const keyring = new Keyring({ type: 'sr25519' });
  const [alice, charlie, dave, ferdie] = ['//Alice', '//Charlie', '//Dave', '//Ferdie'].map((uri) => keyring.addFromUri(uri));
  const dataOwner = await createDid(api, charlie, keyring.addFromUri('//tessera-e2e-consent-owner'));
  const nodeDid = await createDid(api, dave, keyring.addFromUri('//tessera-e2e-consent-node'));
  const node = await enrolNode(api, dave, '//tessera-e2e-consent-worker', trainer, 2n * UNIT);
  await assert.rejects(
    inBlock(api.tx.nodeRegistry.linkDid(node, dataOwner), dave),
    /nodeRegistry\.NotDidController/,
    'a node is linked only to a DID its owner controls',
  );
  await inBlock(api.tx.nodeRegistry.linkDid(node, nodeDid), dave);

  const stored = await trainer.put(csvTable());
  await approveDataset(api, stored.cid, { owner: charlie, approver: alice, did: dataOwner, consent: 'Granted' });

  // No grant yet: nobody may train on the data, so a job on it is refused when posted.
  await assert.rejects(post(api, stored.cid, ferdie), /proofOfCompute\.NoConsent/);

  const dataset = u8aToHex(cidBytes(stored.cid));
  const expiresAt = (await api.query.system.number()).toNumber() + 1_000;
  await inBlock(api.tx.did.grantAccess(dataOwner, dataset, nodeDid, expiresAt, 'bafkreiencryptedkey'), charlie);
  const first = await post(api, stored.cid, ferdie);
  const assigned = await waitForEvent(
    api, (event) => api.events.proofOfCompute.JobAssigned.is(event) && event.data.job.toNumber() === first, 30_000);
  assert.deepEqual(assigned.data.nodes.map((n) => n.toNumber()), [node]);
  const grants = await api.call.didApi.grantsForDataset(dataset);
  const grant = grants.find((entry) => entry.grantee.toHex() === nodeDid);
  assert.ok(grant, 'the grant is listed for the dataset');
  assert.equal(grant.grant.accesses.toNumber(), 1, 'the use is in the grant\'s audit trail');

  // Revoked: the data's only grant is gone, and so is any new job on it.
  await inBlock(api.tx.did.revokeAccess(dataOwner, dataset, nodeDid), charlie);
  await assert.rejects(post(api, stored.cid, ferdie), /proofOfCompute\.NoConsent/);
});
