// Malformed and truncated multipart bodies against a real Corral, on every route
// that reads multipart: PUT /api/v1/models/:name (model upload, field "path"),
// GET|POST /api/v1/models/:name/prediction (image, field "file") and POST /ocr.
// Bodies are written byte for byte with node:http and node:net, since fetch
// always builds a well-formed multipart body itself.
//
// Every case must answer a 4xx with a message (never a 500), log no INTERNAL,
// leave no temporary file under models/.incoming, and keep the stored model
// serving its previous version.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import sharp from 'sharp';
import { CorralError, toCorralError } from '../../src/errors/index.js';
import { receiveUpload } from '../../src/repository/receive-upload.js';
import { getWithJsonBody, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
let modelsDir: string;
/** Every logger.error call the gateway made (the error handler logs INTERNAL there). */
const loggedErrors: unknown[][] = [];

const BOUNDARY = '----corralMultipartErrors7MA4YWxkTrZu0gW';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

interface Route { name: string; method: 'PUT' | 'GET' | 'POST'; path: string; field: string; file: () => Buffer }
let pngImage: Buffer;
const ROUTES: Route[] = [
  { name: 'model upload', method: 'PUT', path: '/api/v1/models/iris.onnx', field: 'path', file: () => readFileSync(server.models.iris!) },
  { name: 'image prediction (POST)', method: 'POST', path: '/api/v1/models/cnn.onnx/prediction', field: 'file', file: () => pngImage },
  { name: 'image prediction (GET)', method: 'GET', path: '/api/v1/models/cnn.onnx/prediction', field: 'file', file: () => pngImage },
  { name: 'OCR', method: 'POST', path: '/ocr', field: 'file', file: () => pngImage },
];

before(async () => {
  server = await startTestServer();
  modelsDir = join(server.home, 'models');
  const logger = server.corral.logger;
  const original = logger.error.bind(logger);
  logger.error = ((...args: unknown[]) => {
    loggedErrors.push(args);
    return (original as (...a: unknown[]) => void)(...args);
  }) as typeof logger.error;
  for (const [name, fixture] of [['iris.onnx', 'iris'], ['cnn.onnx', 'cnn']] as const) {
    const res = await uploadModel(server.url, name, server.models[fixture]!);
    assert.equal(res.status, 201, `uploading ${name}: ${await res.text()}`);
  }
  pngImage = await sharp({ create: { width: 40, height: 30, channels: 3, background: 'red' } }).png().toBuffer();
});
after(async () => { await server?.close(); });

// After every case: nothing was logged as INTERNAL, no temp file is left, the server still answers
// and the model stored before still serves version 1.
afterEach(async () => {
  const logged = loggedErrors.splice(0).map((args) => String(args[1] ?? args[0]));
  assert.deepEqual(logged, [], 'the gateway logged an error');
  await waitFor(() => incomingFiles().length === 0, 'models/.incoming is empty');
  await assertIrisStillVersion1();
});

// ---------- helpers ----------

const incomingFiles = () => (existsSync(join(modelsDir, '.incoming')) ? readdirSync(join(modelsDir, '.incoming')) : []);

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what} (.incoming: ${incomingFiles().join(', ')})`);
    await sleep(10);
  }
}

/** The gateway's side of the request that arrives on the client socket `client`. */
function serverSideOf(client: Socket): Promise<IncomingMessage> {
  return new Promise((resolve) => {
    const onRequest = (req: IncomingMessage) => {
      if (req.socket.remotePort !== client.localPort) return;
      server.app.server.off('request', onRequest);
      resolve(req);
    };
    server.app.server.on('request', onRequest);
  });
}

async function assertIrisStillVersion1(): Promise<void> {
  const info = await fetch(`${server.url}/api/v1/models/iris.onnx`);
  assert.equal(info.status, 200);
  const body = (await info.json()) as { version: number; size_bytes: number };
  assert.equal(body.version, 1, 'iris is still version 1');
  assert.equal(body.size_bytes, readFileSync(server.models.iris!).length);
  assert.deepEqual(readdirSync(join(modelsDir, 'iris.onnx')), ['1'], 'only version 1 is on disk');
  const prediction = await getWithJsonBody(`${server.url}/api/v1/models/iris.onnx/prediction`, { values: [5.1, 3.5, 1.4, 0.2] });
  assert.equal(prediction.status, 200, JSON.stringify(prediction.json));
  assert.deepEqual((prediction.json as { values: unknown }).values, [0]);
}

/** One part of a multipart body, headers included, followed by CRLF. */
function filePart(field: string, content: Buffer, filename = 'upload.bin'): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    content,
    Buffer.from('\r\n'),
  ]);
}
const closing = Buffer.from(`--${BOUNDARY}--\r\n`);
const wellFormed = (route: Route) => Buffer.concat([filePart(route.field, route.file()), closing]);

interface Answer { status: number; code: string; message: string; raw: string }

/** The catalog code and message of an error body, MLBuffet envelope or plain {error, code}. */
function parseAnswer(status: number, raw: string): Answer {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    assert.fail(`not JSON (${status}): ${raw}`);
  }
  const envelope = json.http_status as { code: number; description: string } | undefined;
  if (envelope) {
    assert.equal(envelope.code, status, raw);
    return { status, code: String(json.error), message: envelope.description, raw };
  }
  return { status, code: String(json.code), message: String(json.error), raw };
}

/**
 * Sends exactly these bytes with this Content-Type (and a Content-Length that
 * matches them unless given), in the given chunks, `pause` called between chunks.
 */
function send(route: Pick<Route, 'method' | 'path'>, contentType: string | undefined, chunks: Buffer[], opts: { contentLength?: number; pause?: (i: number) => Promise<void> } = {}): Promise<Answer> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const headers: Record<string, string> = { 'content-length': String(opts.contentLength ?? total) };
  if (contentType !== undefined) headers['content-type'] = contentType;
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ hostname, port, path: route.path, method: route.method, headers, agent: false }, (res) => {
      const body: Buffer[] = [];
      res.on('data', (c: Buffer) => body.push(c));
      res.on('end', () => {
        answered = true;
        try {
          resolve(parseAnswer(res.statusCode ?? 0, Buffer.concat(body).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
    // The server may answer (and close) before it read everything; that is not a failure.
    req.on('error', (err) => { if (!answered) setTimeout(() => answered || reject(err), 1000); });
    void (async () => {
      for (let i = 0; i < chunks.length; i++) {
        if (i > 0 && opts.pause) await opts.pause(i);
        if (req.destroyed) return;
        req.write(chunks[i]!);
      }
      req.end();
    })().catch(reject);
  });
}

function assertClientError(answer: Answer, status: number, code: string, message: RegExp): void {
  assert.equal(answer.status, status, answer.raw);
  assert.equal(answer.code, code, answer.raw);
  assert.ok(answer.message.length > 0, `a message: ${answer.raw}`);
  assert.match(answer.message, message, answer.raw);
}

// ---------- every route, every malformed body ----------

for (const route of ROUTES) {
  describe(`${route.name}: ${route.method} ${route.path}`, () => {
    test('Content-Type multipart/form-data without a boundary is 400 naming the boundary', async () => {
      const answer = await send(route, 'multipart/form-data', [wellFormed(route)]);
      assertClientError(answer, 400, 'BAD_REQUEST', /boundary/);
    });

    test('an empty boundary parameter is 400 (busboy reads the body as a form with no parts)', async () => {
      const answer = await send(route, 'multipart/form-data; boundary=', [wellFormed(route)]);
      assertClientError(answer, 400, 'EMPTY_UPLOAD', new RegExp(`field ["']${route.field}["']`));
    });

    test('a boundary longer than RFC 2046 allows is 400', async () => {
      const long = 'x'.repeat(300);
      const body = Buffer.from(`--${long}\r\nContent-Disposition: form-data; name="${route.field}"; filename="a.bin"\r\n\r\nabc\r\n--${long}--\r\n`);
      const answer = await send(route, `multipart/form-data; boundary=${long}`, [body]);
      assertClientError(answer, 400, 'BAD_REQUEST', /boundary/);
    });

    test('a boundary declared but a body that is not multipart is 400', async () => {
      const answer = await send(route, MULTIPART, [Buffer.from('this is plain text, not a multipart body')]);
      assertClientError(answer, 400, 'BAD_REQUEST', /closing boundary|multipart/);
    });

    test('a body cut in the middle of the file part (Content-Length of the cut body) is 400', async () => {
      const whole = wellFormed(route);
      const head = filePart(route.field, Buffer.alloc(0)).length - 2;
      const cut = whole.subarray(0, head + Math.floor(route.file().length / 2));
      const answer = await send(route, MULTIPART, [cut]);
      assertClientError(answer, 400, 'BAD_REQUEST', /cut short|before its closing boundary/);
    });

    test('a body cut right after the file, before the closing boundary, is 400', async () => {
      const answer = await send(route, MULTIPART, [filePart(route.field, route.file())]);
      assertClientError(answer, 400, 'BAD_REQUEST', /cut short|before its closing boundary/);
    });

    test('a body cut inside the part headers is 400', async () => {
      const body = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${route.field}"; filename="a.bin"\r\nContent-Ty`);
      const answer = await send(route, MULTIPART, [body]);
      assertClientError(answer, 400, 'BAD_REQUEST', /cut short|before its closing boundary/);
    });

    test('a part with no headers is 400 naming the field', async () => {
      const body = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n\r\n`), route.file(), Buffer.from('\r\n'), closing]);
      const answer = await send(route, MULTIPART, [body]);
      assertClientError(answer, 400, 'EMPTY_UPLOAD', new RegExp(`field ["']${route.field}["']`));
    });

    test('a part whose header line is garbage is 400 naming the field', async () => {
      const body = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nnot a header at all\r\n\r\n`), route.file(), Buffer.from('\r\n'), closing]);
      const answer = await send(route, MULTIPART, [body]);
      assertClientError(answer, 400, 'EMPTY_UPLOAD', new RegExp(`field ["']${route.field}["']`));
    });

    test('an empty body is 400 naming the field', async () => {
      const answer = await send(route, MULTIPART, []);
      assertClientError(answer, 400, 'EMPTY_UPLOAD', new RegExp(`field ["']${route.field}["']`));
    });

    test('only the closing boundary (a form with no parts) is 400 naming the field', async () => {
      const answer = await send(route, MULTIPART, [closing]);
      assertClientError(answer, 400, 'EMPTY_UPLOAD', new RegExp(`field ["']${route.field}["']`));
    });

    test('a file part with an empty body is 400 EMPTY_UPLOAD', async () => {
      const answer = await send(route, MULTIPART, [Buffer.concat([filePart(route.field, Buffer.alloc(0)), closing])]);
      assertClientError(answer, 400, 'EMPTY_UPLOAD', /empty/);
    });

    test('a client that closes the socket in the middle of the file does not crash the server', async () => {
      const whole = wellFormed(route);
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.on('error', () => undefined);
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      const arrived = serverSideOf(socket);
      const head = `${route.method} ${route.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${MULTIPART}\r\nContent-Length: ${whole.length}\r\n\r\n`;
      const half = whole.subarray(0, Math.floor(whole.length / 2));
      socket.write(head);
      socket.write(half);
      const serverReq = await arrived;
      const sent = Buffer.byteLength(head) + half.length;
      await waitFor(() => serverReq.socket.bytesRead === sent, `the gateway has read the ${sent} bytes sent`);
      // (not events.once: the gateway's socket also emits the parse error of the cut request)
      const closed = new Promise((resolve) => serverReq.socket.once('close', resolve));
      socket.destroy();
      await closed;
      // Half a body is never answered: the gateway was still waiting for the rest.
      assert.equal(Buffer.concat(received).toString('latin1'), '');
    });
  });
}

// ---------- model upload: nothing stored is lost or half-written ----------

describe('a failed replacement of a stored model leaves it as it was', () => {
  const route = ROUTES[0]!;
  // Large enough that the gateway is writing it into models/.incoming when the cut comes.
  const bigFile = randomBytes(2 * 1024 * 1024);

  test('a replacement cut short after it started streaming to disk is 400 and removes its temp file', async () => {
    const whole = Buffer.concat([filePart(route.field, bigFile), closing]);
    const cut = whole.subarray(0, whole.length - 1024 * 1024);
    const first = cut.subarray(0, 512 * 1024);
    const rest = cut.subarray(first.length);
    const answer = await send(route, MULTIPART, [first, rest], {
      pause: () => waitFor(() => incomingFiles().length === 1, 'the upload is being written to models/.incoming'),
    });
    assertClientError(answer, 400, 'BAD_REQUEST', /cut short|before its closing boundary/);
    assert.deepEqual(incomingFiles(), []);
  });

  test('a replacement whose client disconnects while it streams to disk removes its temp file', async () => {
    const whole = Buffer.concat([filePart(route.field, bigFile), closing]);
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.on('error', () => undefined);
    socket.write(`PUT ${route.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${MULTIPART}\r\nContent-Length: ${whole.length}\r\n\r\n`);
    socket.write(whole.subarray(0, 512 * 1024));
    await waitFor(() => incomingFiles().length === 1, 'the upload is being written to models/.incoming');
    socket.destroy();
    await waitFor(() => incomingFiles().length === 0, 'the temp file is removed');
  });

  test('after all that, a well-formed upload of another model still works', async () => {
    const res = await uploadModel(server.url, 'iris-again.onnx', server.models.iris!);
    assert.equal(res.status, 201, await res.text());
  });
});

// ---------- the mapping itself, against the installed busboy ----------

/** The error the installed busboy raises for these headers and body (its messages are what toCorralError matches). */
function busboyError(contentType: string, body: Buffer): Promise<Error> {
  return new Promise((resolve, reject) => {
    let bb: BusboyInstance;
    try {
      bb = new Busboy({ headers: { 'content-type': contentType } });
    } catch (err) {
      resolve(err as Error);
      return;
    }
    bb.on('file', (_name, file) => { file.on('error', resolve); file.resume(); });
    bb.on('error', (err) => resolve(err as Error));
    bb.on('finish', () => reject(new Error('busboy accepted the body')));
    bb.end(body);
  });
}

describe('toCorralError on busboy and @fastify/multipart errors', () => {
  test('each error busboy raises for a malformed body is a 400 with an actionable message, never INTERNAL', async () => {
    const part = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="path"; filename="a.bin"\r\n\r\nabc`);
    const cases: Array<[string, Promise<Error>, RegExp]> = [
      ['no boundary', busboyError('multipart/form-data', part), /boundary parameter/],
      ['boundary too long', busboyError(`multipart/form-data; boundary=${'x'.repeat(300)}`, part), /1 to 70 characters/],
      ['not multipart', busboyError(MULTIPART, Buffer.from('plain text')), /closing boundary/],
      ['cut in a file part', busboyError(MULTIPART, part), /closing boundary/],
    ];
    for (const [what, error, message] of cases) {
      const raised = await error;
      const mapped = toCorralError(raised);
      assert.equal(mapped.code, 'BAD_REQUEST', `${what}: ${raised.message}`);
      assert.equal(mapped.status, 400);
      assert.match(mapped.message, message, what);
      assert.equal(mapped.cause, raised, 'the original error is kept as the cause');
    }
  });

  test('a client gone mid-body is 400; other errors with the same code stay INTERNAL', () => {
    assert.equal(toCorralError({ code: 'FST_MP_PREMATURE_CLOSE', statusCode: 400, message: 'x' }).code, 'BAD_REQUEST');
    assert.match(toCorralError({ code: 'FST_MP_PREMATURE_CLOSE', statusCode: 400, message: 'x' }).message, /closed the connection/);
    assert.equal(toCorralError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })).code, 'BAD_REQUEST');
    assert.equal(toCorralError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).code, 'INTERNAL');
    assert.equal(toCorralError({ code: 'FST_INVALID_JSON_FIELD_ERROR', statusCode: 406, message: 'x' }).status, 400);
    // A look-alike message on an error that has a code of its own is not taken for busboy's.
    assert.equal(toCorralError(Object.assign(new Error('Unexpected end of multipart data'), { code: 'EIO' })).code, 'INTERNAL');
  });
});

describe('receiveUpload', () => {
  test('a source destroyed without an error is 400 and leaves no temp file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-receive-'));
    try {
      const source = new Readable({ read() {} });
      source.push(Buffer.from('part of a model'));
      source.destroy();
      await assert.rejects(receiveUpload(source, dir), (err: unknown) => err instanceof CorralError && err.code === 'BAD_REQUEST' && /ended before/.test(err.message));
      assert.deepEqual(readdirSync(join(dir, '.incoming')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a source destroyed with an error rejects with that error, not a bare premature close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-receive-'));
    try {
      const source = new Readable({ read() {} });
      const cause = new Error('Part terminated early due to unexpected end of multipart data');
      source.on('error', () => undefined); // @fastify/multipart listens on every file stream, so must this
      source.destroy(cause);
      await assert.rejects(receiveUpload(source, dir), (err: unknown) => err === cause);
      assert.deepEqual(readdirSync(join(dir, '.incoming')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // busboy emits 'error' on a cut-short file stream as soon as the body ends, which can be
  // before the temp file's open() has finished. A write stream that opened the file lazily
  // created it after the failed upload's rm, leaving a stray .part (seen in CI under load).
  // The window is narrow, so many uploads fail at once to make it show.
  test('a source that fails while its temp file is still being opened leaves no temp file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-receive-'));
    const failsOnFirstRead = () => {
      let read = false;
      return new Readable({
        read() {
          if (read) return;
          read = true;
          this.push(Buffer.from('part of a model'));
          queueMicrotask(() => this.emit('error', new Error('Part terminated early due to unexpected end of multipart data')));
        },
      });
    };
    try {
      for (let round = 0; round < 60; round++) {
        const outcomes = await Promise.allSettled(Array.from({ length: 64 }, () => receiveUpload(failsOnFirstRead(), dir)));
        assert.ok(outcomes.every((o) => o.status === 'rejected'), 'every cut-short upload is rejected');
      }
      await sleep(100); // a late open() would land in this window
      assert.deepEqual(readdirSync(join(dir, '.incoming')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
