// Datasets as jobs need them: every job trains on a dataset the model registry approved.

import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { createDid } from './dids.mjs';
import { inBlock } from './extrinsics.mjs';
import { cidBytes } from './trainer.mjs';

/**
 * Brings the stored table `cid` (a CIDv1 string) into the model registry: `owner` proposes
 * the dataset in the name of DID `did` it controls (a new one unless given), open to
 * `consent` ('Public', or 'Granted' to the DIDs `did` grants it), and `approver` approves it.
 * Returns the dataset's id.
 */
export async function approveDataset(api, cid, { owner, approver, did, consent = 'Public' }) {
  const ownerDid = did ?? await createDid(
    api, owner, new Keyring({ type: 'sr25519' }).addFromUri(`//tessera-e2e-dataset-owner-${cid}`));
  const { events: proposed } = await inBlock(
    api.tx.modelRegistry.proposeDataset(u8aToHex(cidBytes(cid)), 1, 'CC0-1.0', ownerDid, consent),
    owner,
  );
  const proposal = proposed.find(({ event }) => api.events.modelRegistry.Proposed.is(event)).event.data.proposal;
  const { events } = await inBlock(api.tx.modelRegistry.approve(proposal), approver);
  const approved = events.find(({ event }) => api.events.modelRegistry.DatasetApproved.is(event));
  if (!approved) {
    throw new Error(`dataset ${cid} was not approved`);
  }
  return approved.event.data.dataset.toNumber();
}
