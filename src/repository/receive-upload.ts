import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CorralError } from '../errors/index.js';

export interface ReceivedFile {
  path: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * Streams an upload into CORRAL_HOME/models/.incoming, hashing as it goes, so
 * a large model never sits in memory and a failed upload leaves one temp file
 * that this function removes itself.
 */
export async function receiveUpload(source: Readable, modelsDir: string): Promise<ReceivedFile> {
  const incoming = join(modelsDir, '.incoming');
  await mkdir(incoming, { recursive: true });
  const path = join(incoming, `${randomUUID()}.part`);
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      done(null, chunk);
    },
  });
  // The file is opened before the pipeline starts: a write stream that opens it
  // lazily could create it after a failed pipeline's rm below, leaving a stray .part.
  const file = await open(path, 'wx');
  try {
    await pipeline(source, meter, file.createWriteStream());
    // @fastify/multipart marks a stream cut at the size limit instead of always throwing.
    if ((source as Readable & { truncated?: boolean }).truncated) {
      throw new CorralError('PAYLOAD_TOO_LARGE', 'The model file is larger than the upload limit; raise CORRAL_MAX_UPLOAD_MB.');
    }
    if (sizeBytes === 0) throw new CorralError('EMPTY_UPLOAD', 'The uploaded model file is empty.');
    return { path, sizeBytes, sha256: hash.digest('hex') };
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(path, { force: true });
    throw uploadFailure(err, source);
  }
}

/**
 * Why the upload failed. A source that @fastify/multipart destroyed (malformed or
 * cut-short body, client gone) before or while the pipeline read it surfaces as a
 * bare ERR_STREAM_PREMATURE_CLOSE; the source's own error says what happened, and
 * toCorralError maps that one.
 */
function uploadFailure(err: unknown, source: Readable): unknown {
  if ((err as { code?: string } | null)?.code !== 'ERR_STREAM_PREMATURE_CLOSE') return err;
  if (source.errored) return source.errored;
  if (source.destroyed && !source.readableEnded) {
    return new CorralError('BAD_REQUEST', 'The upload ended before the model file was complete; send it again.', { cause: err });
  }
  return err;
}
