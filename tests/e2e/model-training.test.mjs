// A model learns on chain: its owner lets anyone propose training it, a training proposal by
// someone else is approved, becomes a proof-of-compute job that the node's trainer fine-tunes from the model's current weights,
// and when the job is finalized the model registry makes the result its current version.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { disableSpotChecks, shortenChallengeWindow } from './lib/demo-network.mjs';
import { approveDataset } from './lib/datasets.mjs';
import { inBlock, waitForEvent } from './lib/extrinsics.mjs';
import { enrolNode } from './lib/nodes.mjs';
import { cidBytes, csvTable, devNodeWithTrainer, trainOffChain } from './lib/trainer.mjs';

const UNIT = 1_000_000_000_000n;
const ARCHITECTURE = { kind: 'mlp', hidden: [8] };
const HYPER = { learning_rate: 0.1, batch_size: 8, steps: 20, checkpoint_every: 10, seed: 3 };

// One block a second and a 10-block challenge window (set through sudo).
const context = devNodeWithTrainer({ blockTimeMs: 1_000 });

test('an approved training proposal fine-tunes the model and its result becomes the current version', async () => {
  const { node: { api }, trainer } = context;
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice'); // the development preset's only approver
  const charlie = keyring.addFromUri('//Charlie');
  const ferdie = keyring.addFromUri('//Ferdie');
  await enrolNode(api, keyring.addFromUri('//Dave'), '//tessera-e2e-fine-tuner', trainer, 2n * UNIT);
  // A spot-checked result would wait for a panel of validators, and this network has none.
  await disableSpotChecks(api, alice);
  await shortenChallengeWindow(api, alice);

  // The model's root version is a state this trainer made, so it can start from it.
  const data = await trainer.put(csvTable());
  const dataset = { cid: data.cid };
  const root = await trainOffChain(trainer, { job: 4_000_000_000, architecture: ARCHITECTURE, dataset, hyper_parameters: HYPER, backend: 'reference' });
  const { events: registered } = await inBlock(
    api.tx.modelRegistry.registerModel(null, 'csv-mlp', 'mlp', 'bafy-meta', u8aToHex(cidBytes(root.state_cid)), root.weights_digest),
    charlie,
  );
  const model = registered.find(({ event }) => api.events.modelRegistry.ModelRegistered.is(event)).event.data.model.toNumber();

  const datasetId = await approveDataset(api, data.cid, { owner: charlie, approver: alice });

  // Only Charlie may propose training its model until it lets anyone.
  await inBlock(api.tx.modelRegistry.setTrainingPolicy(model, 'Anyone'), charlie);
  const { events: proposed } = await inBlock(
    api.tx.modelRegistry.proposeTraining(
      model, root.weights_digest, { Mlp: { hidden: [8] } }, datasetId,
      { learningRate: 100_000_000, batchSize: 8, steps: 20, checkpointEvery: 10, seed: 3 },
      [], u8aToHex(new Uint8Array(32)), 'CpuReference', 2n * UNIT, 1, 400,
    ),
    ferdie,
  );
  const proposal = proposed.find(({ event }) => api.events.modelRegistry.Proposed.is(event)).event.data.proposal;
  const { events: approved } = await inBlock(api.tx.modelRegistry.approve(proposal), alice);
  const started = approved.find(({ event }) => api.events.modelRegistry.TrainingStarted.is(event));
  assert.ok(started, 'a modelRegistry.TrainingStarted event');
  const job = started.event.data.job.toNumber();

  await waitForEvent(
    api, (event) => api.events.proofOfCompute.JobAccepted.is(event) && event.data.job.toNumber() === job, 150_000);

  // Nothing changes until the challenge window closes unchallenged.
  assert.equal((await api.call.modelApi.model(model)).unwrap().current.toNumber(), 0);
  const activated = await waitForEvent(
    api, (event) => api.events.modelRegistry.VersionActivated.is(event) && event.data.model.toNumber() === model, 240_000);
  const trained = (await (await fetch(`${trainer.url}/v1/jobs/${job}`)).json()).commitments.at(-1);
  assert.notEqual(trained.weights_digest, root.weights_digest, 'fine-tuning moved the weights');
  assert.equal(activated.data.job.toNumber(), job);
  assert.equal(activated.data.modelDigestBefore.toHex(), root.weights_digest);
  assert.equal(activated.data.modelDigestAfter.toHex(), trained.weights_digest);

  const record = (await api.call.modelApi.model(model)).unwrap();
  assert.equal(record.current.toNumber(), activated.data.version.toNumber());
  const version = (await api.call.modelApi.versions(model))
    .find(([index]) => index.toNumber() === record.current.toNumber())[1];
  assert.deepEqual(version.weights.toU8a(true), cidBytes(trained.state_cid));
  assert.equal(version.parent.unwrap().toNumber(), 0);
  assert.equal(version.producedByJob.unwrap().toNumber(), job);
  assert.deepEqual(
    (await api.call.modelApi.lineage(model, record.current)).map((index) => index.toNumber()),
    [record.current.toNumber(), 0],
  );
});
