import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { rename } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { CorralError } from '../../errors/index.js';
import { validateModelName } from '../../repository/index.js';
import { receiveUpload } from '../../repository/receive-upload.js';
import { outputFileName, parseCount, parseMemory, parseTimeoutMinutes } from '../../training/index.js';
import type { Corral } from '../corral.js';
import { errorHandler } from '../error-envelope.js';
import { envelope, mlbuffetError } from '../mlbuffet/envelope.js';

const TagParams = Type.Object({ tag: Type.String(), name: Type.String() });
const NameParams = Type.Object({ name: Type.String() });
const IdParams = Type.Object({ id: Type.String() });
const LogQuery = Type.Object({ follow: Type.Optional(Type.String()) });

const FILE_FIELDS = ['script', 'requirements', 'dataset'] as const;
type FileField = (typeof FILE_FIELDS)[number];
const VALUE_FIELDS = ['profile', 'timeout_minutes', 'memory', 'cpus', 'gpus'] as const;
type ValueField = (typeof VALUE_FIELDS)[number];

interface Received {
  files: Partial<Record<FileField, { path: string; sha256: string }>>;
  values: Partial<Record<ValueField, string>>;
}

/**
 * MLBuffet's trainer: POST /api/v1/train/<tag>/<model_name> (or /<model_name>)
 * with multipart fields `script`, `requirements` and `dataset`, plus Corral's
 * `profile`, `timeout_minutes`, `memory`, `cpus` and `gpus`; answered in
 * MLBuffet's envelope with the new job's `job_id`. Runs code on the server,
 * so only admin keys may.
 */
export const trainingRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  app.setErrorHandler(errorHandler(mlbuffetError, corral.logger));
  const { training } = corral;

  const submit = async (req: FastifyRequest, tag: string, modelName: string) => {
    validateModelName(tag);
    validateModelName(modelName);
    if (!req.isMultipart()) {
      throw new CorralError('UNSUPPORTED_MEDIA_TYPE', "Send the training job as multipart/form-data: the script in field 'script' (curl -F \"script=@train.py\"), optionally 'requirements' and 'dataset'.");
    }
    const { id, dir } = await training.prepare();
    try {
      const received = await receiveParts(req, dir, corral.config.maxUploadBytes);
      if (!received.files.script) throw new CorralError('TRAINING_SCRIPT_MISSING', "No training script provided with name 'script'");
      const profile = corral.profiles.get(received.values.profile?.trim() || 'local');
      training.trainerFor(profile);
      const memory = parseMemory(received.values.memory);
      const options = {
        timeout_minutes: parseTimeoutMinutes(received.values.timeout_minutes, training.settings.defaultTimeoutMinutes),
        memory: memory?.text ?? null,
        cpus: parseCount('cpus', received.values.cpus, 1, 1024),
        gpus: parseCount('gpus', received.values.gpus, 0, 64),
      };
      const job = await training.submit({
        id, tag, modelName: outputFileName(modelName), profile, options, memoryBytes: memory?.bytes ?? null,
        requirements: received.files.requirements ?? null, dataset: received.files.dataset?.path ?? null,
      });
      corral.audit.record('training.submit', req, tag, { job_id: id, model_name: job.model_name, profile: profile.name });
      return envelope(200, 'Training job created', { job_id: id, job });
    } catch (err) {
      await training.discard(id);
      throw err;
    }
  };

  app.post('/api/v1/train/:tag/:name', { schema: { params: TagParams }, config: { auth: 'admin' } }, async (req) =>
    submit(req, req.params.tag, req.params.name));
  // MLBuffet's own form: the model is registered under its own name.
  app.post('/api/v1/train/:name', { schema: { params: NameParams }, config: { auth: 'admin' } }, async (req) =>
    submit(req, req.params.name, req.params.name));
};

/**
 * The training jobs: list, one job, its log (plain text; ?follow=1 streams it
 * until the job ends) and cancel; and the upload of a Slurm job's model
 * (PUT .../output, with the job's own token). Corral's own JSON and error envelope.
 */
export const trainingJobRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { training } = corral;
  const open = new Set<() => void>();
  app.addHook('preClose', async () => { for (const finish of [...open]) finish(); });
  // The model a Slurm job uploads: the body stays a stream (the route writes it to disk with the upload limit).
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.put('/api/v1/train/jobs/:id/output', { schema: { params: IdParams }, config: { auth: 'training-token' } }, async (req) => {
    if (!(req.body instanceof Readable)) {
      throw new CorralError('UNSUPPORTED_MEDIA_TYPE', 'Send the model file as the body, with Content-Type: application/octet-stream.');
    }
    const declared = Number(req.headers['content-length']);
    return training.receiveOutput(req.params.id, req.body, corral.config.maxUploadBytes, Number.isFinite(declared) ? declared : undefined);
  });

  app.get('/api/v1/train/jobs', { config: { auth: 'read' } }, async () => training.list());
  app.get('/api/v1/train/jobs/:id', { schema: { params: IdParams }, config: { auth: 'read' } }, async (req) => training.get(req.params.id));
  app.delete('/api/v1/train/jobs/:id', { schema: { params: IdParams }, config: { auth: 'admin' } }, async (req) => {
    const job = await training.cancel(req.params.id);
    corral.audit.record('training.cancel', req, job.tag, { job_id: job.id });
    return job;
  });

  app.get('/api/v1/train/jobs/:id/logs', { schema: { params: IdParams, querystring: LogQuery }, config: { auth: 'read' } }, async (req, reply) => {
    const follow = ['1', 'true', ''].includes(req.query.follow ?? 'no');
    // Looked up first: an unknown id is answered in JSON, like every error.
    const log = follow ? undefined : await training.log(req.params.id);
    if (follow) await training.get(req.params.id);
    reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').header('cache-control', 'no-store');
    if (log !== undefined) return log;
    const stream = new PassThrough();
    let unsubscribe = () => undefined as unknown;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      unsubscribe();
      open.delete(finish);
      stream.end();
    };
    unsubscribe = await training.follow(req.params.id, (text) => { if (!finished) stream.write(text); }, finish);
    if (!finished) {
      open.add(finish);
      req.raw.on('close', finish);
    }
    return reply.send(stream as Readable);
  });
};

/** Reads the multipart body: files into the job's directory under fixed names (never the client's), values as text. */
async function receiveParts(req: FastifyRequest, dir: string, maxBytes: number): Promise<Received> {
  const received: Received = { files: {}, values: {} };
  const parts = req.parts({ limits: { files: FILE_FIELDS.length, fileSize: maxBytes, fields: 20 } });
  for await (const part of parts) {
    const field = part.fieldname;
    if (isFileField(field)) {
      if (received.files[field]) {
        if (part.type === 'file') part.file.resume();
        throw new CorralError('BAD_REQUEST', `Field '${field}' was sent twice; send one ${field}.`);
      }
      const source = part.type === 'file' ? part.file : Readable.from([Buffer.from(String(part.value))]);
      const saved = await saveFile(source, field, dir, part.type === 'file' ? part.filename : '');
      if (saved) received.files[field] = saved;
    } else if (part.type === 'field' && isValueField(field)) {
      received.values[field] = String(part.value);
    } else {
      if (part.type === 'file') part.file.resume();
      throw new CorralError('BAD_REQUEST', `Unknown field '${field.slice(0, 64)}': a training job takes the files ${FILE_FIELDS.join(', ')} and the values ${VALUE_FIELDS.join(', ')}.`);
    }
  }
  return received;
}

const isFileField = (f: string): f is FileField => (FILE_FIELDS as readonly string[]).includes(f);
const isValueField = (f: string): f is ValueField => (VALUE_FIELDS as readonly string[]).includes(f);

/** Streams one uploaded file into place (script.py, requirements.txt, dataset[.ext]); an empty requirements file is no requirements. */
async function saveFile(source: Readable, field: FileField, dir: string, clientName: string): Promise<{ path: string; sha256: string } | undefined> {
  let file;
  try {
    file = await receiveUpload(source, dir);
  } catch (err) {
    if (err instanceof CorralError && err.code === 'PAYLOAD_TOO_LARGE') {
      throw new CorralError('PAYLOAD_TOO_LARGE', `The ${field} file is larger than the upload limit; raise CORRAL_MAX_UPLOAD_MB.`);
    }
    if (err instanceof CorralError && err.code === 'EMPTY_UPLOAD') {
      if (field === 'requirements') return undefined;
      throw new CorralError('EMPTY_UPLOAD', `The ${field} file is empty.`);
    }
    throw err;
  }
  // Only the extension of the client's file name is kept, and only when it is plain (.csv, .parquet): readers pick formats by it.
  const extension = extname(clientName);
  const name = field === 'script' ? 'script.py' : field === 'requirements' ? 'requirements.txt'
    : `dataset${/^\.[A-Za-z0-9]{1,10}$/.test(extension) ? extension : ''}`;
  const path = join(dir, name);
  await rename(file.path, path);
  return { path, sha256: file.sha256 };
}
