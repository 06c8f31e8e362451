// `scripts/demo.sh`'s live view: starts the demo network, runs one fine-tuning job from request
// to reward while printing what happens on chain, prints a summary, and keeps the chain up
// for browsing until Ctrl-C, which stops every process it started.
//
//   node demo.mjs [RPC_PORT]

import { Keyring } from '@polkadot/keyring';
import {
  disableSpotChecks, enrolOperators, followEvents, percent, snapshot, startDemoNetwork, startFineTuning, tsra,
  describe as describeEvent,
} from './lib/demo-network.mjs';
import { cidString } from './lib/trainer.mjs';

const rpcPort = Number(process.argv[2] ?? 9944);
const say = (line) => console.log(`\x1b[1;34m==>\x1b[0m ${line}`);

let network;
let stopping = false;
const shutdown = async (code) => {
  if (stopping) return;
  stopping = true;
  say('stopping the node and the trainers');
  await network?.stop();
  process.exit(code);
};
process.on('SIGINT', () => shutdown(130));
process.on('SIGTERM', () => shutdown(143));

try {
  say('making the genesis model\'s content and starting tessera-node --dev with four trainers');
  // scripts/dashboard.sh serves the dashboard there; its pages may read the trainers' reports.
  network = await startDemoNetwork({ rpcPort, blockTimeMs: 1_000 }, { allowOrigins: ['http://127.0.0.1:8080'] });
  const { node: { api, rpcUrl }, trainers } = network;
  const apps = `https://polkadot.js.org/apps/?rpc=${encodeURIComponent(rpcUrl)}`;
  say(`chain at ${rpcUrl} (one block a second); browse it at ${apps}`);
  trainers.forEach(({ url, publicUrl }, index) => say(
    `trainer ${index + 1}: control API at ${url}, content published at ${publicUrl}${index === 3 ? ' (reports wrong digests)' : ''}`,
  ));

  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const ferdie = keyring.addFromUri('//Ferdie');
  const operators = await enrolOperators(api, trainers);
  for (const { name, node, stake, wrongDigests } of operators) {
    say(`${name} registered compute node ${node} with ${tsra(stake)} TSRA at stake${wrongDigests ? ' — its trainer lies' : ''}`);
  }
  const names = new Map(operators.map(({ node, name }) => [node, name]));
  await disableSpotChecks(api, alice);
  say('spot-checks off (sudo reputation.setSpotCheckBase(0)): a spot-checked job would wait for a panel of validators, and this network registers none');

  const before = await snapshot(api, operators);
  let job;
  let finished;
  const done = new Promise((resolve) => { finished = resolve; });
  // Events of the blocks before the job id is known wait here until it is.
  const pending = [];
  const show = (event, block) => {
    const line = describeEvent(api, event, job, names);
    if (line) console.log(`  #${String(block).padEnd(5)} ${line}`);
  };
  const stopFollowing = await followEvents(api, (event, block) => {
    if (job === undefined) {
      pending.push([event, block]);
      return;
    }
    show(event, block);
    const { proofOfCompute: poc, modelRegistry } = api.events;
    if ((modelRegistry.VersionActivated.is(event) && event.data.job.eq(job))
      || ((poc.JobFailed.is(event) || poc.JobDisputed.is(event)) && event.data.job.eq(job))) {
      finished(event);
    }
  });
  ({ job } = await startFineTuning(api, { buyer: ferdie, approver: alice, redundancy: 4 }));
  say(`Ferdie proposed fine-tuning model 0, Alice approved it: job ${job}`);
  pending.splice(0).forEach(([event, block]) => show(event, block));

  const outcome = await done;
  await stopFollowing();
  if (!api.events.modelRegistry.VersionActivated.is(outcome)) {
    say(`the job did not produce a model version: ${outcome.method}`);
  }
  const after = await snapshot(api, operators);
  const payouts = new Map((await api.call.computeApi.payouts(job)).map(([node, amount]) => [node.toNumber(), amount.toBigInt()]));
  console.log();
  console.table(operators.map(({ name, node }, index) => ({
    operator: name,
    node,
    'stake before': tsra(before[index].stake),
    'stake after': tsra(after[index].stake),
    reputation: `${percent(before[index].score)} → ${percent(after[index].score)} (${after[index].tier})`,
    reward: tsra(payouts.get(node) ?? 0n),
  })));
  const model = (await api.call.modelApi.model(0)).unwrap();
  const version = (await api.call.modelApi.versions(0)).find(([index]) => index.eq(model.current))[1];
  say(`model 0 is at version ${model.current}: weights ${cidString(version.weights.toU8a(true))} digest ${version.digest.toHex()}`);
  say(`browse all of it at ${apps}`);
  say('the chain keeps running; Ctrl-C stops it and the trainers');
} catch (error) {
  console.error(error);
  await shutdown(1);
}
