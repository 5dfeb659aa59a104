/**
 * Test-only: holds a worker busy on demand. Preloaded into worker processes with
 * NODE_OPTIONS="--import <this file>". An onnxruntime run whose first feed value
 * is 555 connects to 127.0.0.1:$CORRAL_TEST_HOLD_PORT and runs only once the
 * test writes a byte to that connection; the connection itself tells the test
 * that the worker is now busy. Plain JavaScript so it needs no loader.
 */
import { createConnection } from 'node:net';
import { createRequire } from 'node:module';

export const HOLD_MARKER = 555;

if (typeof process.send === 'function' && process.env.CORRAL_TEST_HOLD_PORT) {
  const require = createRequire(new URL('../../package.json', import.meta.url));
  const ort = require('onnxruntime-node');
  const proto = ort.InferenceSession.prototype;
  const run = proto.run;
  const released = () => new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port: Number(process.env.CORRAL_TEST_HOLD_PORT) });
    socket.once('data', () => { socket.destroy(); resolve(); });
    socket.once('error', reject);
  });
  proto.run = async function (feeds, ...rest) {
    const first = feeds && Object.values(feeds)[0];
    if (first?.data?.[0] === HOLD_MARKER) await released();
    return run.call(this, feeds, ...rest);
  };
}
