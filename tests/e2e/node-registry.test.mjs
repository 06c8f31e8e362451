// A compute node registers with a held stake and deposit, and its off-chain worker proves it is alive:
// the heartbeat is an authorized transaction signed with the node's `tsra` key.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { startDevNode } from './lib/dev-node.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { keyOwnershipProof } from './lib/nodes.mjs';

const UNIT = 1_000_000_000_000n;
const NODE_KEY_SEED = '//tessera-e2e-node';

let node;

before(async () => {
  node = await startDevNode();
});

after(async () => {
  await node?.stop();
});

test('a registered node holds its stake, its off-chain worker sends heartbeats, and reputation follows them', async () => {
  const { api } = node;
  const keyring = new Keyring({ type: 'sr25519' });
  const owner = keyring.addFromUri('//Charlie');
  const nodeKey = keyring.addFromUri(NODE_KEY_SEED);
  const stake = 5n * UNIT;

  // The node key signs the owner's account to show it agrees to serve it.
  const proof = keyOwnershipProof(api, nodeKey, owner);
  // GPU, 512 GB disk, 1 000 Mbit/s, 16 compute units, in the documented bit layout.
  const capabilities = 1n | (512n << 8n) | (1000n << 40n) | (16n << 72n);
  const heldBefore = (await api.query.system.account(owner.address)).data.reserved.toBigInt();

  const { events } = await inBlock(
    api.tx.nodeRegistry.register(
      ['Trainer', 'Validator'],
      'eu-west',
      capabilities,
      u8aToHex(new Uint8Array(32).fill(7)),
      u8aToHex(nodeKey.publicKey),
      u8aToHex(proof),
      stake * 2n,
    ),
    owner,
  );
  const registered = events.find(({ event }) => api.events.nodeRegistry.NodeRegistered.is(event));
  assert.ok(registered, 'a nodeRegistry.NodeRegistered event');
  const id = registered.event.data.node.toNumber();

  const record = (await api.query.nodeRegistry.nodes(id)).unwrap();
  assert.equal(record.owner.toString(), owner.address);
  assert.equal(record.stake.toBigInt(), stake * 2n);
  assert.ok(record.status.isActive);
  assert.equal(record.capabilities.toBigInt(), capabilities);
  // The stake, and beside it the deposit for the node's records, which is never slashed.
  const deposit = api.consts.nodeRegistry.nodeDeposit.toBigInt();
  assert.equal(record.deposit.toBigInt(), deposit);
  assert.equal(registered.event.data.deposit.toBigInt(), deposit);
  const heldAfter = (await api.query.system.account(owner.address)).data.reserved.toBigInt();
  assert.equal(heldAfter - heldBefore, stake * 2n + deposit);

  // Give the node its key: from the next block on, its off-chain worker signs heartbeats.
  await api.rpc.author.insertKey('tsra', NODE_KEY_SEED, u8aToHex(nodeKey.publicKey));
  const heartbeat = await waitForEvent(
    api,
    (event) => api.events.nodeRegistry.HeartbeatReceived.is(event) && event.data.node.toNumber() === id,
    60_000,
  );
  const period = heartbeat.data.period.toNumber();
  const updated = (await api.query.nodeRegistry.nodes(id)).unwrap();
  assert.equal(updated.lastHeartbeat.unwrap().toNumber(), period);
  assert.equal(updated.missedHeartbeats.toNumber(), 0);

  // The registry reported the heartbeat to the reputation pallet: uptime rose above neutral.
  assert.ok((await api.query.reputation.reputationOfNode(id)).isSome, 'a reputation record');
  const view = (await api.call.reputationApi.reputation(id)).unwrap();
  assert.ok(view.dimensions.uptime.toNumber() > 5_000, `uptime ${view.dimensions.uptime}`);
  assert.equal(view.dimensions.proofSuccess.toNumber(), 5_000);
  assert.ok(view.tier.isNew, 'no verified history yet');
  assert.equal(view.spotCheckRate.toNumber(), 200_000, '20% in parts per million');
});

test('a registration whose key proof was made for another account is refused', async () => {
  const { api } = node;
  const keyring = new Keyring({ type: 'sr25519' });
  const dave = keyring.addFromUri('//Dave');
  const eve = keyring.addFromUri('//Eve');
  const nodeKey = keyring.addFromUri('//tessera-e2e-stolen-key');
  const proofForEve = keyOwnershipProof(api, nodeKey, eve);

  await assert.rejects(
    inBlock(
      api.tx.nodeRegistry.register(
        ['Trainer'],
        'eu-west',
        0,
        u8aToHex(new Uint8Array(32)),
        u8aToHex(nodeKey.publicKey),
        u8aToHex(proofForEve),
        UNIT,
      ),
      dave,
    ),
    /nodeRegistry\.BadKeyOwnershipProof/,
  );
});
