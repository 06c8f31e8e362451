// Starts `tessera-node --dev` on free ports for one test file and stops it afterwards,
// also when a test fails or the test process is interrupted.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { ApiPromise, WsProvider } from '@polkadot/api';

const NODE_BINARY = process.env.TESSERA_NODE;
// Where set, each node writes its log to `${TESSERA_E2E_NODE_LOG}.<pid>.log`, with the
// proof-of-compute pallet and the off-chain workers at debug level and the transaction pool at
// trace level: what shows where a transaction an off-chain worker sent went.
const LOG_PREFIX = process.env.TESSERA_E2E_NODE_LOG;

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
 *
 * Options: `basePath` keeps the chain in that directory instead of a temporary one (so that a
 * node killed with `kill` can be started again on it, with the same `rpcPort` and `p2pPort`);
 * `blockTimeMs` seals a block that often instead of every 3 s; `archive` keeps the state of
 * every block; `log: { path, targets }` writes the node's log to `path` with the log filter
 * `targets` (otherwise `TESSERA_E2E_NODE_LOG` decides). Returns
 * `{ api, rpcUrl, rpcPort, p2pPort, pid, stop, kill }`; `stop` is idempotent and `kill` ends
 * the node with SIGKILL, as a crash would.
 */
export async function startDevNode({
  basePath, rpcPort, p2pPort, blockTimeMs, archive = false, log, timeoutMs = 120_000,
} = {}) {
  if (!NODE_BINARY) {
    throw new Error('TESSERA_NODE must name the tessera-node binary (scripts/test.sh sets it)');
  }
  rpcPort ??= await freePort();
  p2pPort ??= await freePort();
  const args = [
    '--dev', ...(basePath ? ['--base-path', basePath] : ['--tmp']),
    '--rpc-port', `${rpcPort}`, '--port', `${p2pPort}`, '--no-prometheus', '--no-telemetry', '--no-mdns',
    ...(blockTimeMs ? ['--dev-block-time', `${blockTimeMs}`] : []),
    ...(archive ? ['--state-pruning', 'archive'] : []),
    ...(log ? [`-l${log.targets}`] : LOG_PREFIX ? ['-lruntime::proof-of-compute=debug,offchain=debug,txpool=trace'] : []),
  ];
  const child = spawn(NODE_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (log || LOG_PREFIX) {
    const file = createWriteStream(log?.path ?? `${LOG_PREFIX}.${child.pid}.log`);
    child.stderr.on('data', (chunk) => file.write(chunk));
  }
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let api;
  const end = async (signal) => {
    if (api) {
      await api.disconnect();
      api = undefined;
    }
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    }
    process.removeListener('exit', killOnExit);
  };
  const stop = () => end('SIGINT');
  const kill = () => end('SIGKILL');

  try {
    await waitForRpc(child, [], timeoutMs);
    const rpcUrl = `ws://127.0.0.1:${rpcPort}`;
    api = await ApiPromise.create({ provider: new WsProvider(rpcUrl), noInitWarn: true });
    return { api, rpcUrl, rpcPort, p2pPort, pid: child.pid, stop, kill };
  } catch (error) {
    await stop();
    throw error;
  }
}
