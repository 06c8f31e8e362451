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
 * rejects with the error's `section.Name` if it failed, or after `timeoutMs`.
 *
 * The dev node seals and finalizes each block at once, so the pool may report `Finalized`
 * without an `InBlock` before it: either status means the extrinsic is in a block.
 */
export function inBlock(tx, signer, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`extrinsic not in a block within ${timeoutMs} ms`)), timeoutMs);
    const settle = (outcome, value) => {
      clearTimeout(timer);
      outcome(value);
    };
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (status.isInBlock || status.isFinalized) {
        if (dispatchError) {
          settle(reject, new Error(`extrinsic failed: ${describeError(tx.registry, dispatchError)}`));
        } else {
          settle(resolve, { blockHash: status.isInBlock ? status.asInBlock : status.asFinalized, events });
        }
      } else if (status.isDropped || status.isInvalid || status.isUsurped) {
        settle(reject, new Error(`extrinsic not included: ${status.type}`));
      }
    }).catch((error) => settle(reject, error));
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
