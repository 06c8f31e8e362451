// Authorized transactions built by hand, as an off-chain worker builds them: a node key signs
// the call's first argument, and the call goes to the pool as a general extrinsic whose
// `authorize` path the runtime checks.

import { compactToU8a, stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

/**
 * The bytes of `call` as a general (version 5) extrinsic, which the runtime's `AuthorizeCall`
 * extension authorizes by the call's own `authorize` path: the explicit parts of the runtime's
 * extensions are an immortal era, nonce 0, tip 0 and no metadata hash.
 */
export function authorizedExtrinsic(call) {
  const body = u8aConcat(new Uint8Array([0b0100_0000 | 5, 0, 0, 0, 0, 0]), call.method.toU8a());
  return u8aToHex(u8aConcat(compactToU8a(body.length), body));
}

/**
 * Sends `calls` (`{ method, params }`) to the node at `rpcUrl` in one JSON-RPC batch over HTTP,
 * their bytes as they are (polkadot-js would decode and re-encode an extrinsic as one of its
 * own understanding). Resolves with one `{ result, error }` per call, in order.
 */
export async function rpcBatch(rpcUrl, calls) {
  if (calls.length === 0) {
    return [];
  }
  const response = await fetch(rpcUrl.replace(/^ws/, 'http'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(calls.map(({ method, params = [] }, id) => ({ jsonrpc: '2.0', id, method, params }))),
  });
  const answers = new Array(calls.length);
  for (const { id, result, error } of await response.json()) {
    answers[id] = { result, error };
  }
  return answers;
}

/**
 * Sends `extrinsics` (hex) to the pool in one batch. Resolves with one outcome per extrinsic,
 * in order: `null` when the pool took it, else the pool's refusal as `code: message: why`.
 */
export async function poolExtrinsics(rpcUrl, extrinsics) {
  const answers = await rpcBatch(rpcUrl, extrinsics.map((extrinsic) => (
    { method: 'author_submitExtrinsic', params: [extrinsic] })));
  return answers.map(({ error }) => (error ? `${error.code}: ${error.message}: ${error.data}` : null));
}

/** Pools the authorized `call`; the pool's refusal is thrown as `code: message: why`. */
export async function poolAuthorized(rpcUrl, call) {
  const [refusal] = await poolExtrinsics(rpcUrl, [authorizedExtrinsic(call)]);
  if (refusal) {
    throw new Error(refusal);
  }
}

/**
 * `build(signature)`'s call with the node key `key`'s signature over its first argument, for
 * messages that start with `tag` (see `tessera_primitives::signing`): the tag's bytes, the
 * chain's genesis hash, then the argument's SCALE encoding.
 */
export function signedBy(api, key, tag, build) {
  const unsigned = build(u8aToHex(new Uint8Array(64)));
  const message = u8aConcat(stringToU8a(tag), api.genesisHash.toU8a(), unsigned.args[0].toU8a());
  return build(u8aToHex(key.sign(message)));
}
