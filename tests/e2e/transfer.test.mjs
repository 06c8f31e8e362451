// A balance transfer through @polkadot/api, with no custom types: the metadata is enough.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { startDevNode } from './lib/dev-node.mjs';
import { inBlock } from './lib/extrinsics.mjs';

let node;

before(async () => {
  node = await startDevNode();
});

after(async () => {
  await node?.stop();
});

test('the dev chain identifies itself as Tessera with para id 2000', async () => {
  const { api } = node;
  assert.equal(api.runtimeVersion.specName.toString(), 'tessera');
  assert.equal((await api.query.parachainInfo.parachainId()).toNumber(), 2000);
  assert.equal(api.registry.chainTokens[0], 'TSRA');
});

test('transferKeepAlive moves the amount from Alice to Bob and emits Transfer', async () => {
  const { api } = node;
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const amount = 1_234_567_890_000n;

  const aliceBefore = (await api.query.system.account(alice.address)).data.free.toBigInt();
  const bobBefore = (await api.query.system.account(bob.address)).data.free.toBigInt();

  const { blockHash, events } = await inBlock(api.tx.balances.transferKeepAlive(bob.address, amount), alice);

  const transfer = events.find(({ event }) => api.events.balances.Transfer.is(event));
  assert.ok(transfer, 'a balances.Transfer event');
  const [from, to, transferred] = transfer.event.data;
  assert.equal(from.toString(), alice.address);
  assert.equal(to.toString(), bob.address);
  assert.equal(transferred.toBigInt(), amount);

  const feePaid = events.find(({ event }) => api.events.transactionPayment.TransactionFeePaid.is(event));
  assert.ok(feePaid, 'a transactionPayment.TransactionFeePaid event');
  const fee = feePaid.event.data.actualFee.toBigInt() + feePaid.event.data.tip.toBigInt();
  assert.ok(fee > 0n, 'the transfer paid a fee');

  const at = await api.at(blockHash);
  const aliceAfter = (await at.query.system.account(alice.address)).data.free.toBigInt();
  const bobAfter = (await at.query.system.account(bob.address)).data.free.toBigInt();
  assert.equal(bobAfter - bobBefore, amount);
  assert.equal(aliceBefore - aliceAfter, amount + fee);
});

test('the dev node keeps finalizing new blocks', async () => {
  const { api } = node;
  const finalizedNumber = async () =>
    (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
  const first = await finalizedNumber();
  let latest = first;
  for (let attempt = 0; attempt < 30 && latest <= first; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    latest = await finalizedNumber();
  }
  assert.ok(latest > first, `finalized head stayed at #${first}`);
});
