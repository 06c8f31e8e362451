// Compute nodes as tests need them.

import { Keyring } from '@polkadot/keyring';
import { stringToHex, stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { inBlock } from './extrinsics.mjs';

/**
 * The node key `nodeKey`'s signature agreeing to serve `owner` on the chain `api` is
 * connected to: the bytes of the context, the chain's genesis hash and the owner's account.
 */
export function keyOwnershipProof(api, nodeKey, owner) {
  return nodeKey.sign(u8aConcat(stringToU8a('tessera/node-key-ownership'), api.genesisHash.toU8a(), owner.publicKey));
}

/**
 * Registers a CPU node owned by `owner` whose node key is the keyring pair `nodeKey`,
 * bonding `stake`, offering `roles` (a trainer by default); returns its node id.
 */
export async function registerNode(api, owner, nodeKey, stake, roles = ['Trainer']) {
  const proof = keyOwnershipProof(api, nodeKey, owner);
  const { events } = await inBlock(
    api.tx.nodeRegistry.register(roles, 'eu-west', 512n << 8n, u8aToHex(new Uint8Array(32).fill(3)),
      u8aToHex(nodeKey.publicKey), u8aToHex(proof), stake),
    owner,
  );
  return events.find(({ event }) => api.events.nodeRegistry.NodeRegistered.is(event)).event.data.node.toNumber();
}

/**
 * Points the off-chain worker of the node `api` is connected to, for the node key
 * `publicKey`, at the control API at `url`, sending `token` as its bearer token when one
 * is given (as an operator would, with `offchain_localStorageSet`).
 */
export async function setTrainer(api, publicKey, { url, token }) {
  // The prefixes of the offchain storage keys the worker reads, as the runtime's metadata
  // names them (`proofOfCompute.trainerUrlPrefix`, `trainerTokenPrefix`).
  const { trainerUrlPrefix, trainerTokenPrefix } = api.consts.proofOfCompute;
  const set = (prefix, value) => api.rpc.offchain.localStorageSet(
    'PERSISTENT', u8aToHex(u8aConcat(prefix.toU8a(true), publicKey)), stringToHex(value),
  );
  await set(trainerUrlPrefix, url);
  if (token) {
    await set(trainerTokenPrefix, token);
  }
}

/**
 * Registers a node (a trainer unless `roles` says otherwise) whose node key (derived from
 * `seed`) is in the dev node's keystore, whose off-chain worker calls the control API of
 * `trainer` (`trainer.url`, with `trainer.token` when it was started with one, see
 * `startTrainer`), and which publishes the trainer's public listener (`trainer.publicUrl`)
 * as its endpoint, where its content is fetched from for availability checks and
 * resumptions; returns its node id.
 */
export async function enrolNode(api, owner, seed, trainer, stake, roles = ['Trainer']) {
  const nodeKey = new Keyring({ type: 'sr25519' }).addFromUri(seed);
  const node = await registerNode(api, owner, nodeKey, stake, roles);
  await inBlock(api.tx.nodeRegistry.setEndpoint(node, stringToHex(trainer.publicUrl)), owner);
  await api.rpc.author.insertKey('tsra', seed, u8aToHex(nodeKey.publicKey));
  await setTrainer(api, nodeKey.publicKey, trainer);
  return node;
}
