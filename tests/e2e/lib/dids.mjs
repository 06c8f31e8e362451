// DIDs as tests need them.

import { stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { inBlock } from './extrinsics.mjs';

/** Creates the DID of `didKey` with `creator` as controller; returns its identifier. */
export async function createDid(api, creator, didKey) {
  // The auth key signs the creator's account, SCALE-encoded after the context bytes.
  const proof = didKey.sign(u8aConcat(stringToU8a('tessera/did-create'), creator.publicKey));
  const { events } = await inBlock(
    api.tx.did.create({ Sr25519: u8aToHex(didKey.publicKey) }, { Sr25519: u8aToHex(proof) }, null, null),
    creator,
  );
  const created = events.find(({ event }) => api.events.did.DidCreated.is(event));
  if (!created) {
    throw new Error('no did.DidCreated event');
  }
  return created.event.data.did.toHex();
}
