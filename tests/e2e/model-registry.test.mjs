// A model is registered with its root version, a dataset is proposed by a controller of its
// owner DID and approved by the dev chain's approver, and ModelApi reads both back; nobody
// proposes a dataset in the name of a DID they do not control.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { startDevNode } from './lib/dev-node.mjs';
import { createDid } from './lib/dids.mjs';
import { inBlock } from './lib/extrinsics.mjs';

let node;

before(async () => {
  node = await startDevNode();
});

after(async () => {
  await node?.stop();
});

test('a model and an approved dataset are registered and ModelApi shows them', async () => {
  const { api } = node;
  const keyring = new Keyring({ type: 'sr25519' });
  // Alice holds the sudo key and is the development preset's only approver.
  const alice = keyring.addFromUri('//Alice');
  const charlie = keyring.addFromUri('//Charlie');
  const rootDigest = u8aToHex(new Uint8Array(32).fill(1));

  const { events } = await inBlock(
    api.tx.modelRegistry.registerModel(null, 'digits-mlp', 'mlp', 'bafy-meta', 'bafy-weights-0', rootDigest),
    charlie,
  );
  const registered = events.find(({ event }) => api.events.modelRegistry.ModelRegistered.is(event));
  assert.ok(registered, 'a modelRegistry.ModelRegistered event');
  const model = registered.event.data.model.toNumber();

  const record = (await api.call.modelApi.model(model)).unwrap();
  assert.equal(record.owner.asAccount.toString(), charlie.address);
  assert.equal(record.current.toNumber(), 0);
  const versions = await api.call.modelApi.versions(model);
  assert.equal(versions.length, 1);
  assert.equal(versions[0][1].digest.toHex(), rootDigest);
  assert.ok(versions[0][1].status.isActive);
  assert.deepEqual((await api.call.modelApi.lineage(model, 0)).map((v) => v.toNumber()), [0]);

  const owner = await createDid(api, charlie, keyring.addFromUri('//tessera-e2e-dataset-owner'));
  await assert.rejects(
    inBlock(api.tx.modelRegistry.proposeDataset('bafy-digits', 4, 'CC0-1.0', owner, 'Public'), alice),
    /modelRegistry\.NotOwner/,
  );
  const { events: proposed } = await inBlock(
    api.tx.modelRegistry.proposeDataset('bafy-digits', 4, 'CC0-1.0', owner, 'Public'),
    charlie,
  );
  const proposal = proposed
    .find(({ event }) => api.events.modelRegistry.Proposed.is(event))
    .event.data.proposal.toNumber();
  assert.equal((await api.call.modelApi.openProposals()).length, 1);

  const { events: decided } = await inBlock(api.tx.modelRegistry.approve(proposal), alice);
  const approved = decided.find(({ event }) => api.events.modelRegistry.DatasetApproved.is(event));
  assert.ok(approved, 'a modelRegistry.DatasetApproved event');
  // Beside the genesis dataset.
  const datasets = await api.call.modelApi.datasets();
  assert.equal(datasets.length, 2);
  const dataset = datasets.find(([id]) => id.eq(approved.event.data.dataset))[1];
  assert.equal(dataset.licence.toUtf8(), 'CC0-1.0');
  assert.equal((await api.call.modelApi.openProposals()).length, 0);

  await assert.rejects(
    inBlock(api.tx.modelRegistry.approve(proposal), charlie),
    /modelRegistry\.(NotApprover|UnknownProposal)/,
  );
});
