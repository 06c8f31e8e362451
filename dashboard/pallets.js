// Which of Tessera's pallets a chain lacks, from the pallet names in its metadata. No
// imports, so that the tests run it in node against a real node's metadata.

/** Tessera's pallets, as the runtime's metadata names them; the dashboard reads all six. */
export const TESSERA_PALLETS = ['NodeRegistry', 'Reputation', 'Did', 'ModelRegistry', 'ProofOfCompute', 'ProofOfComputeTraps'];

/** The pallets of `TESSERA_PALLETS` missing from `names` (the metadata's pallet names), in that order. */
export function missingPallets(names) {
  const present = new Set(names);
  return TESSERA_PALLETS.filter((pallet) => !present.has(pallet));
}

/** What the page says about a chain that lacks the pallets `missing` (none: nothing). */
export function missingPalletsMessage(missing) {
  if (missing.length === 0) return undefined;
  const list = missing.length === 1
    ? missing[0]
    : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
  return `This chain lacks Tessera's ${list} pallet${missing.length === 1 ? '' : 's'}: `
    + 'it is not a Tessera chain, or runs an older runtime. Only the chain view is shown.';
}
