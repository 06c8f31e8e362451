// A data owner creates a DID and grants another DID access to a dataset; the grantee
// records its use. Every step is an event, and DidApi reads the documents and grants back.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { blake2AsHex } from '@polkadot/util-crypto';
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

test('a DID grants access to a dataset, the grantee records its use, and DidApi shows it', async () => {
  const { api } = node;
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const ownerKey = keyring.addFromUri('//tessera-e2e-data-owner');
  const granteeKey = keyring.addFromUri('//tessera-e2e-grantee');

  const owner = await createDid(api, alice, ownerKey);
  assert.equal(owner, blake2AsHex(ownerKey.publicKey, 256), 'the DID is the hash of its first key');
  const grantee = await createDid(api, bob, granteeKey);

  const document = (await api.call.didApi.resolve(owner)).unwrap();
  assert.deepEqual(document.controllers.map((account) => account.toString()), [alice.address]);
  assert.equal(document.nonce.toNumber(), 0);
  assert.ok(document.revoked.isNone);

  const dataset = 'bafkreidataset';
  const expiresAt = (await api.rpc.chain.getHeader()).number.toNumber() + 100;
  const { events: granted } = await inBlock(
    api.tx.did.grantAccess(owner, dataset, grantee, expiresAt, 'bafkreiencryptedkey'),
    alice,
  );
  assert.ok(granted.some(({ event }) => api.events.did.AccessGranted.is(event)));

  const { events: recorded } = await inBlock(api.tx.did.recordAccess(grantee, dataset, owner), bob);
  const access = recorded.find(({ event }) => api.events.did.AccessRecorded.is(event));
  assert.equal(access.event.data.accesses.toNumber(), 1);

  const grants = await api.call.didApi.grantsForDataset(dataset);
  assert.equal(grants.length, 1);
  assert.equal(grants[0].grantor.toHex(), owner);
  assert.equal(grants[0].grantee.toHex(), grantee);
  assert.equal(grants[0].grant.expiresAt.toNumber(), expiresAt);
  assert.equal(grants[0].grant.accesses.toNumber(), 1);
  assert.equal((await api.call.didApi.grantsTo(grantee)).length, 1);

  await inBlock(api.tx.did.revokeAccess(owner, dataset, grantee), alice);
  await assert.rejects(inBlock(api.tx.did.recordAccess(grantee, dataset, owner), bob), /did\.NoSuchGrant/);
  assert.equal((await api.call.didApi.grantsForDataset(dataset)).length, 0);
});
