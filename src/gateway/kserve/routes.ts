import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CorralError } from '../../errors/index.js';
import type { ModelRecord } from '../../repository/index.js';
import { DATATYPES, isDatatype, tensorDataToJson, tensorFromJson, type TensorMap } from '../../runtimes/index.js';
import type { Corral } from '../corral.js';
import { errorHandler } from '../error-envelope.js';
import { VERSION } from '../version.js';
import { traceOf } from '../request-trace.js';
import { binaryPartOf, explainBinaryAsJson, installBinaryBodyParser } from './binary-body.js';
import { binaryInputSlices, binaryOutputWanted, joinHeaderAndBinary, tensorFromBinary, tensorToBinary, type InputHeader } from './binary-tensors.js';

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
    // Absent when parameters.binary_data_size points into the binary part of the body.
    data: Type.Optional(Type.Unknown()),
  }), { minItems: 1 }),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), parameters: Parameters }))),
});

/** The request's tensors, from JSON `data` or from the binary part (Triton's binary tensor extension). */
function inputTensors(inputs: ReadonlyArray<InputHeader & { datatype: string; shape: number[] }>, binary: Buffer | undefined): TensorMap {
  const slices = binaryInputSlices(inputs, binary);
  const tensors: TensorMap = {};
  inputs.forEach((input, i) => {
    if (!isDatatype(input.datatype)) {
      throw new CorralError('INVALID_INPUT', `Input '${input.name}' has unknown datatype '${input.datatype}'; use one of ${DATATYPES.join(', ')}.`);
    }
    if (tensors[input.name]) throw new CorralError('INVALID_INPUT', `Input '${input.name}' is given twice.`);
    const slice = slices[i];
    tensors[input.name] = slice ? tensorFromBinary(input.name, input.datatype, input.shape, slice) : tensorFromJson(input.name, input.datatype, input.shape, input.data);
  });
  return tensors;
}

const specView = (s: { name: string; datatype: string; shape: number[] }) => ({ name: s.name, datatype: s.datatype, shape: s.shape });

/**
 * KServe Open Inference Protocol v2 (REST), as Triton, KServe and TorchServe
 * speak it: server/model metadata and health, and tensor inference.
 */
export const kserveRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { inference, dispatcher } = corral;
  const handleError = errorHandler((e) => ({ error: e.message }), corral.logger);
  app.setErrorHandler((err, req, reply) => handleError(explainBinaryAsJson(err, req), req, reply));
  installBinaryBodyParser(app);

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
    app.post(`${prefix}/infer`, { schema: { params: ModelParams, body: InferBody }, config: { api: 'kserve', auth: 'infer' } }, async (req, reply) => {
      req.principal.assertCanUse(req.params.name);
      const model = inference.resolve(req.params.name, req.params.version);
      const inputs = inputTensors(req.body.inputs, binaryPartOf(req.body));
      const outputNames = req.body.outputs?.map((o) => o.name);
      const outputs = await inference.infer(model, { inputs, outputs: outputNames }, traceOf(req));
      const order = outputNames ?? model.outputs.map((o) => o.name);
      const binary = binaryOutputWanted(req.body);
      const parts: Uint8Array[] = [];
      const body = {
        model_name: model.name,
        model_version: String(model.version),
        ...(req.body.id !== undefined ? { id: req.body.id } : {}),
        outputs: order.filter((n) => outputs[n]).map((name) => {
          const t = outputs[name]!;
          if (!binary?.(name)) return { name, datatype: t.datatype, shape: t.shape, data: tensorDataToJson(t) };
          const bytes = tensorToBinary(t);
          parts.push(bytes);
          return { name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.byteLength } };
        }),
      };
      if (parts.length === 0) return body;
      const { body: payload, headerLength } = joinHeaderAndBinary(body, parts);
      return reply.header('inference-header-content-length', headerLength).type('application/octet-stream').send(payload);
    });
  }

  // Triton's repository extension: what is in the repository and whether it can serve.
  app.post('/v2/repository/index', { config: read }, async (req) =>
    corral.repository.list().filter((m) => req.principal.canUse(m.name)).map((m) => ({ name: m.name, version: String(m.version), state: dispatcher.isReady() ? 'READY' : 'UNAVAILABLE' })));
};
