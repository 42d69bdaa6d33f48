/**
 * One "test node" for the official client's suite: the embedded event store on a data directory,
 * behind a TLS terminator when the suite asks for a secure node (the store itself speaks h2c only;
 * the terminator passes the HTTP/2 bytes through untouched, so every frame the client sees is the
 * store's). SIGTERM shuts the store down as a stopped container would, then the process exits.
 *
 *   node --import tsx tools/esdb-client-suite/node.ts --port <n> --data-dir <dir>
 *     [--tls-cert <file> --tls-key <file>] [--max-append-size <bytes>]
 *
 * Prints `listening <port>` once clients can connect.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { type EmulatorOptions, startEmulator } from '../../src/emulator/index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'max-append-size': { type: 'string' },
  },
});
const port = Number(values.port ?? 0);
const secure = values['tls-cert'] !== undefined && values['tls-key'] !== undefined;

const options: EmulatorOptions = { host: '127.0.0.1', port: secure ? 0 : port, fsync: 'never' };
if (values['data-dir'] !== undefined) options.dataDir = values['data-dir'];
if (values['max-append-size'] !== undefined) options.maxAppendSize = Number(values['max-append-size']);
const emulator = await startEmulator(options);

/** Each side's end or reset is passed on to the other, so a dropped store connection is a dropped client connection. */
function splice(client: TLSSocket, upstream: Socket): void {
  client.pipe(upstream);
  upstream.pipe(client);
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  // A clean close still lets the piped bytes drain; a reset is passed on as a reset.
  upstream.on('close', (hadError) => (hadError ? client.destroy() : client.end()));
  client.on('close', (hadError) => (hadError ? upstream.destroy() : upstream.end()));
}

let terminator: ReturnType<typeof createTlsServer> | undefined;
if (secure) {
  terminator = createTlsServer(
    {
      cert: readFileSync(values['tls-cert']!),
      key: readFileSync(values['tls-key']!),
      ALPNProtocols: ['h2'],
    },
    (client) => {
      client.setNoDelay(true);
      const upstream = connect({ host: emulator.host, port: emulator.port, noDelay: true });
      splice(client, upstream);
    },
  );
  await new Promise<void>((resolve, reject) => {
    terminator!.once('error', reject);
    terminator!.listen(port, '127.0.0.1', resolve);
  });
}
const address = terminator?.address();
const publicPort = typeof address === 'object' && address !== null ? address.port : emulator.port;
process.stdout.write(`listening ${publicPort}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  terminator?.close();
  emulator.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
// A suite that forgets to take its node down must not leave it running: stdin closes with the suite.
process.stdin.on('end', stop).resume();
