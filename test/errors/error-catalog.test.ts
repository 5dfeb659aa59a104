import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CorralError, ERROR_CATALOG, toCorralError } from '../../src/errors/index.js';

test('every error code is documented in docs/errors.md with its status', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, { status }] of Object.entries(ERROR_CATALOG)) {
    assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `${code} missing from docs/errors.md`);
  }
});

test('Fastify errors map to catalog codes, unknown errors to INTERNAL without leaking their text', () => {
  assert.equal(toCorralError({ code: 'FST_ERR_CTP_INVALID_JSON_BODY', message: 'x' }).code, 'INVALID_JSON');
  assert.equal(toCorralError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: 'x', statusCode: 413 }).status, 413);
  assert.equal(toCorralError({ code: 'FST_REQ_FILE_TOO_LARGE', message: 'x' }).code, 'PAYLOAD_TOO_LARGE');
  assert.equal(toCorralError({ validation: [], message: 'body must have property values' }).status, 400);
  const internal = toCorralError(new Error('secret path /etc/x'));
  assert.equal(internal.status, 500);
  assert.doesNotMatch(internal.message, /secret/);
  const own = new CorralError('QUEUE_FULL', 'busy', { headers: { 'retry-after': '1' } });
  assert.equal(toCorralError(own), own);
  assert.equal(own.status, 429);
});
