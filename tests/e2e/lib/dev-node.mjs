// Starts `tessera-node --dev` on free ports for one test file and stops it afterwards,
// also when a test fails or the test process is interrupted.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { ApiPromise, WsProvider } from '@polkadot/api';

const NODE_BINARY = process.env.TESSERA_NODE;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function waitForRpc(child, log, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tessera-node did not open its RPC server within ${timeoutMs} ms:\n${log.join('')}`)),
      timeoutMs,
    );
    const onData = (chunk) => {
      log.push(chunk.toString());
      if (/Running JSON-RPC server/.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tessera-node exited early (code ${code}, signal ${signal}):\n${log.join('')}`));
    });
  });
}

/**
 * Starts a dev node and connects @polkadot/api to it with nothing but the chain's metadata.
 * Returns `{ api, rpcUrl, stop }`; `stop` is idempotent.
 */
export async function startDevNode({ timeoutMs = 120_000 } = {}) {
  if (!NODE_BINARY) {
    throw new Error('TESSERA_NODE must name the tessera-node binary (scripts/test.sh sets it)');
  }
  const [rpcPort, p2pPort] = [await freePort(), await freePort()];
  const child = spawn(
    NODE_BINARY,
    ['--dev', '--tmp', '--rpc-port', `${rpcPort}`, '--port', `${p2pPort}`, '--no-prometheus', '--no-telemetry', '--no-mdns'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let api;
  const stop = async () => {
    if (api) {
      await api.disconnect();
      api = undefined;
    }
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    process.removeListener('exit', killOnExit);
  };

  try {
    await waitForRpc(child, [], timeoutMs);
    const rpcUrl = `ws://127.0.0.1:${rpcPort}`;
    api = await ApiPromise.create({ provider: new WsProvider(rpcUrl), noInitWarn: true });
    return { api, rpcUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
