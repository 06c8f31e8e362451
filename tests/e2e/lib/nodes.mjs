// Compute nodes as tests need them.

import { Keyring } from '@polkadot/keyring';
import { stringToHex, stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { inBlock } from './extrinsics.mjs';

/**
 * Registers a CPU trainer owned by `owner` whose node key is the keyring pair `nodeKey`,
 * bonding `stake`; returns its node id.
 */
export async function registerTrainer(api, owner, nodeKey, stake) {
  const proof = nodeKey.sign(u8aConcat(stringToU8a('tessera/node-key-ownership'), owner.publicKey));
  const { events } = await inBlock(
    api.tx.nodeRegistry.register(['Trainer'], 'eu-west', 512n << 8n, u8aToHex(new Uint8Array(32).fill(3)),
      u8aToHex(nodeKey.publicKey), u8aToHex(proof), stake),
    owner,
  );
  return events.find(({ event }) => api.events.nodeRegistry.NodeRegistered.is(event)).event.data.node.toNumber();
}

/**
 * Registers a trainer whose node key (derived from `seed`) is in the dev node's keystore and
 * whose off-chain worker calls the trainer at `trainerUrl`; returns its node id.
 */
export async function enrolTrainer(api, owner, seed, trainerUrl, stake) {
  const nodeKey = new Keyring({ type: 'sr25519' }).addFromUri(seed);
  const node = await registerTrainer(api, owner, nodeKey, stake);
  await api.rpc.author.insertKey('tsra', seed, u8aToHex(nodeKey.publicKey));
  const urlKey = u8aConcat(stringToU8a('tessera/proof-of-compute/trainer-url/'), nodeKey.publicKey);
  await api.rpc.offchain.localStorageSet('PERSISTENT', u8aToHex(urlKey), stringToHex(trainerUrl));
  return node;
}
