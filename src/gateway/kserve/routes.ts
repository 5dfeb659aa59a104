import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CorralError } from '../../errors/index.js';
import type { ModelRecord } from '../../repository/index.js';
import { DATATYPES, isDatatype, tensorDataToJson, tensorFromJson, type TensorMap } from '../../runtimes/index.js';
import type { Corral } from '../corral.js';
import { errorHandler } from '../error-envelope.js';
import { VERSION } from '../version.js';
import { traceOf } from '../request-trace.js';

const ModelParams = Type.Object({ name: Type.String(), version: Type.Optional(Type.String()) });
const Parameters = Type.Optional(Type.Record(Type.String(), Type.Unknown()));
const InferBody = Type.Object({
  id: Type.Optional(Type.String()),
  parameters: Parameters,
  inputs: Type.Array(Type.Object({
    name: Type.String(),
    shape: Type.Array(Type.Integer({ minimum: 0 })),
    datatype: Type.String(),
    parameters: Parameters,
    data: Type.Unknown(),
  }), { minItems: 1 }),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), parameters: Parameters }))),
});

const specView = (s: { name: string; datatype: string; shape: number[] }) => ({ name: s.name, datatype: s.datatype, shape: s.shape });

/**
 * KServe Open Inference Protocol v2 (REST), as Triton, KServe and TorchServe
 * speak it: server/model metadata and health, and tensor inference.
 */
export const kserveRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { inference, dispatcher } = corral;
  app.setErrorHandler(errorHandler((e) => ({ error: e.message }), corral.logger));

  const read = { auth: 'read' } as const;
  app.get('/v2', { config: read }, async () => ({ name: 'corral', version: VERSION, extensions: ['model_repository'] }));
  app.get('/v2/health/live', { config: { auth: 'public' } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { config: { auth: 'public' } }, async (_req, reply) => {
    const ready = dispatcher.isReady();
    reply.code(ready ? 200 : 503);
    return { ready };
  });

  const metadata = (model: ModelRecord) => ({
    name: model.name,
    versions: [String(model.version)],
    platform: 'onnxruntime_onnx',
    inputs: model.inputs.map(specView),
    outputs: model.outputs.map(specView),
  });
  const ready = (model: ModelRecord) => ({ name: model.name, ready: dispatcher.isReady() });

  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(prefix, { schema: { params: ModelParams }, config: read }, async (req) => {
      req.principal.assertCanUse(req.params.name);
      return metadata(inference.resolve(req.params.name, req.params.version));
    });
    app.get(`${prefix}/ready`, { schema: { params: ModelParams }, config: read }, async (req, reply) => {
      req.principal.assertCanUse(req.params.name);
      const body = ready(inference.resolve(req.params.name, req.params.version));
      reply.code(body.ready ? 200 : 503);
      return body;
    });
    app.post(`${prefix}/infer`, { schema: { params: ModelParams, body: InferBody }, config: { api: 'kserve', auth: 'infer' } }, async (req) => {
      req.principal.assertCanUse(req.params.name);
      const model = inference.resolve(req.params.name, req.params.version);
      const inputs: TensorMap = {};
      for (const input of req.body.inputs) {
        if (!isDatatype(input.datatype)) {
          throw new CorralError('INVALID_INPUT', `Input '${input.name}' has unknown datatype '${input.datatype}'; use one of ${DATATYPES.join(', ')}.`);
        }
        if (inputs[input.name]) throw new CorralError('INVALID_INPUT', `Input '${input.name}' is given twice.`);
        inputs[input.name] = tensorFromJson(input.name, input.datatype, input.shape, input.data);
      }
      const outputNames = req.body.outputs?.map((o) => o.name);
      const outputs = await inference.infer(model, { inputs, outputs: outputNames }, traceOf(req));
      const order = outputNames ?? model.outputs.map((o) => o.name);
      return {
        model_name: model.name,
        model_version: String(model.version),
        ...(req.body.id !== undefined ? { id: req.body.id } : {}),
        outputs: order.filter((n) => outputs[n]).map((name) => {
          const t = outputs[name]!;
          return { name, datatype: t.datatype, shape: t.shape, data: tensorDataToJson(t) };
        }),
      };
    });
  }

  // Triton's repository extension: what is in the repository and whether it can serve.
  app.post('/v2/repository/index', { config: read }, async (req) =>
    corral.repository.list().filter((m) => req.principal.canUse(m.name)).map((m) => ({ name: m.name, version: String(m.version), state: dispatcher.isReady() ? 'READY' : 'UNAVAILABLE' })));
};
