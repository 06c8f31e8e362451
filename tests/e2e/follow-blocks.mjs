// Prints each new best and finalized block of a running node: `node follow-blocks.mjs <ws-url>`.

import { ApiPromise, WsProvider } from '@polkadot/api';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const provider = new WsProvider(url, 1_000);
const api = await ApiPromise.create({ provider, noInitWarn: true });
const chain = await api.rpc.system.chain();
console.log(`connected to ${chain} (${api.runtimeVersion.specName} v${api.runtimeVersion.specVersion})`);

let finalized = 0;
await api.rpc.chain.subscribeFinalizedHeads((header) => {
  finalized = header.number.toNumber();
});
await api.rpc.chain.subscribeNewHeads((header) => {
  const time = new Date().toISOString().slice(11, 19);
  console.log(`${time}  best #${header.number.toNumber()}  ${header.hash.toHex().slice(0, 18)}…  finalized #${finalized}`);
});
