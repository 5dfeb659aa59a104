import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { OpenAPIV3 } from 'openapi-types';
import { CorralError } from '../../errors/index.js';
import { effectivePadding, PaddingSettingSchema } from '../../batching/index.js';
import type { ModelRecord } from '../../repository/index.js';
import { imageToTensor } from '../../preprocessing/index.js';
import { tensorDataToJson, nest, type TensorMap } from '../../runtimes/index.js';
import type { Corral } from '../corral.js';
import { errorHandler } from '../error-envelope.js';
import { envelope, mlbuffetError } from './envelope.js';
import { helpLists } from './help.js';
import { modelView } from './model-view.js';
import { jsonInputs } from './json-inputs.js';
import { prefersHtml } from '../ui/prefers-html.js';
import { traceOf } from '../request-trace.js';

const NameParams = Type.Object({ name: Type.String() });
const BatchingBody = Type.Object({
  max_batch_size: Type.Optional(Type.Integer({ minimum: 0, maximum: 65536 })),
  max_queue_delay_microseconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  /** Limit on one inference request of this model, in ms (default CORRAL_REQUEST_TIMEOUT_MS). */
  timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 })),
  /** How token sequences are padded to batch: false = off, null = back to automatic. */
  padding: Type.Optional(Type.Union([PaddingSettingSchema, Type.Null()])),
}, { additionalProperties: false });

/**
 * MLBuffet's inferrer API: model list/information/describe/upload/delete and
 * predictions from JSON values or an uploaded image, in its `http_status` envelope.
 */
export const mlbuffetRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { repository, inference } = corral;
  app.setErrorHandler(errorHandler(mlbuffetError, corral.logger));
  const infer = { api: 'mlbuffet', auth: 'infer' } as const;
  const read = { auth: 'read' } as const;
  const write = { auth: 'models:write' } as const;

  // A browser (Accept prefers text/html) goes to the web UI; MLBuffet clients get their greeting.
  app.get('/', { config: { auth: 'public' } }, async (req, reply) => {
    if (prefersHtml(req.headers.accept)) return reply.redirect('/ui/', 302);
    return envelope(200, 'Greetings from Corral, the machine learning model server. For more information, visit /help');
  });
  // Every family's routes, from the OpenAPI document; `routes` keeps MLBuffet's shape, each line also naming its family.
  app.get('/help', { config: { auth: 'public' } }, async () =>
    envelope(200, 'Corral: every route of every API family. The OpenAPI document is GET /openapi.json; /docs shows it.', helpLists(app.swagger() as OpenAPIV3.Document)));

  // A key limited to some models sees only those.
  const visible = (req: FastifyRequest) => repository.list().filter((m) => req.principal.canUse(m.name));
  app.get('/api/v1/models', { config: read }, async (req) => envelope(200, 'OK', { model_list: visible(req).map((m) => m.name) }));
  app.get('/api/v1/models/information', { config: read }, async (req) =>
    envelope(200, 'OK', { model_list: visible(req).map((m) => ({ model: m.name, description: m.description })) }));

  app.get('/api/v1/models/:name', { schema: { params: NameParams }, config: read }, async (req) => {
    req.principal.assertCanUse(req.params.name);
    return envelope(200, 'OK', modelView(repository.get(req.params.name), inference));
  });

  app.post('/api/v1/models/:name', {
    schema: { params: NameParams, body: Type.Object({ model_description: Type.String({ maxLength: 10_000 }) }) }, config: write,
  }, async (req) => {
    req.principal.assertCanUse(req.params.name);
    const model = await repository.describe(req.params.name, req.body.model_description);
    corral.audit.record('model.describe', req, model.name);
    return envelope(200, `Description of model ${model.name} updated`, modelView(model, inference));
  });

  app.put('/api/v1/models/:name', { schema: { params: NameParams }, config: write }, async (req, reply) => {
    req.principal.assertCanUse(req.params.name);
    const file = await uploadedFile(req, 'path');
    const existed = repository.find(req.params.name) !== undefined;
    const model = await repository.upload(req.params.name, file.file);
    corral.audit.record(existed ? 'model.replace' : 'model.upload', req, model.name, { version: model.version, sha256: model.sha256 });
    reply.code(existed ? 200 : 201);
    return envelope(existed ? 200 : 201, `Model ${model.name} ${existed ? 'replaced' : 'uploaded'} (version ${model.version})`, modelView(model, inference));
  });

  app.delete('/api/v1/models/:name', { schema: { params: NameParams }, config: write }, async (req) => {
    req.principal.assertCanUse(req.params.name);
    const model = await repository.delete(req.params.name);
    corral.audit.record('model.delete', req, model.name);
    return envelope(200, `Model ${model.name} deleted`);
  });

  app.get('/api/v1/models/:name/config', { schema: { params: NameParams }, config: read }, async (req) => {
    req.principal.assertCanUse(req.params.name);
    const model = repository.get(req.params.name);
    return envelope(200, 'OK', {
      dynamic_batching: snakeBatching(inference.batchingOf(model)), timeout_ms: inference.timeoutOf(model.name),
      padding: effectivePadding(model, inference.paddingOf(model)),
    });
  });

  app.patch('/api/v1/models/:name/config', { schema: { params: NameParams, body: BatchingBody }, config: write }, async (req) => {
    req.principal.assertCanUse(req.params.name);
    const model = await repository.setBatching(req.params.name, {
      maxBatchSize: req.body.max_batch_size,
      maxQueueDelayMicroseconds: req.body.max_queue_delay_microseconds,
      timeoutMs: req.body.timeout_ms,
      padding: req.body.padding,
    });
    corral.audit.record('model.config', req, model.name, req.body);
    return envelope(200, `Batching of model ${model.name} updated`, {
      dynamic_batching: snakeBatching(inference.batchingOf(model)), timeout_ms: inference.timeoutOf(model.name),
      padding: effectivePadding(model, inference.paddingOf(model)),
    });
  });

  const predict = async (req: FastifyRequest<{ Params: { name: string }; Body: unknown }>) => {
    req.principal.assertCanUse(req.params.name);
    const model = repository.get(req.params.name);
    const inputs = req.isMultipart() ? await imageInputs(req, model) : jsonInputs(req.body, model, ', or an image as multipart field "file"');
    const outputs = await inference.infer(model, { inputs }, traceOf(req));
    const [first] = model.outputs.map((o) => outputs[o.name]).filter((t) => t !== undefined);
    const all = Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, nest(tensorDataToJson(t), t.shape)]));
    return envelope(200, 'Prediction successful', { values: first ? nest(tensorDataToJson(first), first.shape) : [], outputs: all });
  };
  // MLBuffet documents GET with a body; POST is what most clients can send.
  app.get('/api/v1/models/:name/prediction', { schema: { params: NameParams }, config: infer }, predict);
  app.post('/api/v1/models/:name/prediction', { schema: { params: NameParams }, config: infer }, predict);
};

const snakeBatching = (b: { maxBatchSize: number; maxQueueDelayMicroseconds: number }) =>
  ({ max_batch_size: b.maxBatchSize, max_queue_delay_microseconds: b.maxQueueDelayMicroseconds });

async function uploadedFile(req: FastifyRequest, field: string) {
  if (!req.isMultipart()) {
    throw new CorralError('UNSUPPORTED_MEDIA_TYPE', `Send the model as multipart/form-data with the file in field '${field}' (curl -F "${field}=@model.onnx").`);
  }
  const file = await req.file();
  if (!file) throw new CorralError('EMPTY_UPLOAD', `No file in the upload; put it in field '${field}'.`);
  if (file.fieldname !== field) {
    file.file.resume();
    throw new CorralError('BAD_REQUEST', `The file must be sent in field '${field}', not '${file.fieldname}'.`);
  }
  return file;
}

async function imageInputs(req: FastifyRequest, model: ModelRecord): Promise<TensorMap> {
  const file = await uploadedFile(req, 'file');
  const image = await file.toBuffer();
  if (image.length === 0) throw new CorralError('EMPTY_UPLOAD', 'The uploaded image is empty.');
  if (model.inputs.length !== 1) {
    throw new CorralError('INVALID_INPUT', `Model '${model.name}' has ${model.inputs.length} inputs; image prediction needs a model with one image input.`);
  }
  const spec = model.inputs[0]!;
  return { [spec.name]: await imageToTensor(image, spec) };
}
