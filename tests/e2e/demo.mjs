// `scripts/demo.sh`'s live view: starts the demo network with three validators, runs a
// fine-tuning job that one lying replica puts under dispute and a federated job of two
// rounds, printing block by block what happens on chain, prints a summary, and keeps the
// chain up for browsing until Ctrl-C, which stops every process it started.
//
//   node demo.mjs [RPC_PORT]

import { Keyring } from '@polkadot/keyring';
import {
  describe as describeEvent, OPERATORS, percent, runDemo, snapshot, startDemoNetwork, tsra, VALIDATORS,
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
  say('making the genesis model\'s content and starting tessera-node --dev with seven trainers');
  // scripts/dashboard.sh serves the dashboard there; its pages may read the trainers' reports.
  network = await startDemoNetwork(
    { rpcPort, blockTimeMs: 1_000 }, { allowOrigins: ['http://127.0.0.1:8080'] }, { validators: true });
  const { node: { api, rpcUrl }, trainers, validatorTrainers } = network;
  const apps = `https://polkadot.js.org/apps/?rpc=${encodeURIComponent(rpcUrl)}`;
  say(`chain at ${rpcUrl} (one block a second); browse it at ${apps}`);
  trainers.forEach(({ url, publicUrl }, index) => say(
    `${OPERATORS[index].name}'s trainer: control API at ${url}, content published at ${publicUrl}${OPERATORS[index].wrongDigests ? ' (reports wrong digests)' : ''}`,
  ));
  validatorTrainers.forEach(({ url }, index) => say(`${VALIDATORS[index].name}'s validator's trainer: control API at ${url}`));

  // Events name nodes by their owners, known from each node's registration.
  const keyring = new Keyring({ type: 'sr25519' });
  const owners = new Map([...OPERATORS, ...VALIDATORS].map(({ name, account }) => [keyring.addFromUri(account).address, name]));
  const names = new Map();
  const jobs = [];
  const started = Date.now();
  const { operators, validators, before, fineTuning, federated, events, stop } = await runDemo(network, {
    say,
    onEvent: (event, block) => {
      const { proofOfCompute: poc, nodeRegistry } = api.events;
      if (nodeRegistry.NodeRegistered.is(event) && owners.has(event.data.owner.toString())) {
        names.set(event.data.node.toNumber(), owners.get(event.data.owner.toString()));
      }
      if (poc.JobCreated.is(event)) jobs.push(event.data.job.toNumber());
      const line = describeEvent(api, event, jobs, names);
      if (line) console.log(`  #${String(block).padEnd(5)} ${line}`);
    },
  });
  await stop();
  const elapsed = Math.round((Date.now() - started) / 1000);

  const nodes = [...operators, ...validators];
  const after = await snapshot(api, nodes);
  const sum = (kind, node) => events
    .filter(({ event }) => kind.is(event) && event.data.node.toNumber() === node)
    .reduce((total, { event }) => total + event.data.amount.toBigInt(), 0n);
  const { proofOfCompute: poc } = api.events;
  console.log();
  console.table(nodes.map(({ name, node }, index) => ({
    operator: name,
    node,
    role: VALIDATORS.some((validator) => validator.name === name) ? 'validator' : 'trainer',
    'stake before': tsra(before[index].stake),
    'stake after': tsra(after[index].stake),
    reputation: `${percent(before[index].score)} → ${percent(after[index].score)} (${after[index].tier})`,
    reward: tsra(sum(poc.RewardPaid, node)),
    'panel fees': tsra(sum(poc.PanelFeePaid, node)),
    'aggregation fees': tsra(sum(poc.AggregatorPaid, node)),
  })));
  const model = (await api.call.modelApi.model(0)).unwrap();
  const version = (await api.call.modelApi.versions(0)).find(([index]) => index.eq(model.current))[1];
  say(`job ${fineTuning.job} (disputed, settled by the panel) and federated job ${federated.job} done in ${elapsed} s`);
  say(`model 0 is at version ${model.current}: weights ${cidString(version.weights.toU8a(true))} digest ${version.digest.toHex()}`);
  say(`browse all of it at ${apps}`);
  say('the chain keeps running; Ctrl-C stops it and the trainers');
} catch (error) {
  console.error(error);
  await shutdown(1);
}
