// Sending extrinsics and waiting for events, shared by the end-to-end tests.

/** A dispatch error as `section.Name` for module errors, else its string form. */
export function describeError(registry, dispatchError) {
  if (dispatchError.isModule) {
    const { section, name } = registry.findMetaError(dispatchError.asModule);
    return `${section}.${name}`;
  }
  return dispatchError.toString();
}

/**
 * Signs and sends `tx`; resolves with the block hash and events once it is in a block, and
 * rejects with the error's `section.Name` if it failed.
 */
export function inBlock(tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        reject(new Error(`extrinsic failed: ${describeError(tx.registry, dispatchError)}`));
      } else if (status.isInBlock) {
        resolve({ blockHash: status.asInBlock, events });
      } else if (status.isDropped || status.isInvalid || status.isUsurped) {
        reject(new Error(`extrinsic not included: ${status.type}`));
      }
    }).catch(reject);
  });
}

/** Resolves with the first event that `matches` within `timeoutMs`, watching new blocks. */
export async function waitForEvent(api, matches, timeoutMs) {
  let unsubscribe;
  let timer;
  try {
    return await new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
      api.query.system
        .events((records) => {
          const found = records.find(({ event }) => matches(event));
          if (found) resolve(found.event);
        })
        .then((unsub) => {
          unsubscribe = unsub;
        }, reject);
    });
  } finally {
    clearTimeout(timer);
    unsubscribe?.();
  }
}
