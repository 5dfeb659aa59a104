import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toCorralError } from '../../errors/index.js';
import type { GenerateChunk, GenerateInput, GenerateOutput } from '../../runtimes/task-io.js';
import type { Corral } from '../corral.js';
import { pickService } from '../pick-service.js';
import { openEventStream } from '../sse.js';
import { traceOf } from '../request-trace.js';

const GenerateBody = Type.Object({
  inputs: Type.String({ minLength: 1, maxLength: 100_000 }),
  parameters: Type.Optional(Type.Object({
    max_new_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 32768 })),
    temperature: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
    top_p: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    top_k: Type.Optional(Type.Integer({ minimum: 1 })),
    do_sample: Type.Optional(Type.Boolean()),
    stop: Type.Optional(Type.Array(Type.String(), { maxItems: 8 })),
  })),
  stream: Type.Optional(Type.Boolean()),
  /** Corral extension: which text-generation service (TGI serves one model, Corral many). */
  model: Type.Optional(Type.String()),
});

/**
 * Hugging Face Text Generation Inference's API, as Blackfish's example uses it:
 * POST /generate {"inputs": "...", "parameters": {"max_new_tokens": 20}}, and
 * POST /generate_stream as server-sent events.
 */
export const tgiRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services, runner } = corral;
  const api = { api: 'tgi', auth: 'infer' } as const;
  const toInput = (body: { inputs: string; parameters?: Record<string, unknown> }): GenerateInput => {
    const p = (body.parameters ?? {}) as { max_new_tokens?: number; temperature?: number; top_p?: number; top_k?: number; do_sample?: boolean; stop?: string[] };
    return { prompt: body.inputs, maxNewTokens: p.max_new_tokens, temperature: p.temperature, topP: p.top_p, topK: p.top_k, doSample: p.do_sample ?? p.temperature !== undefined, stop: p.stop };
  };
  // TGI's own finish reasons, as the runtime recorded them (older runtimes: only length or not).
  const details = (out: GenerateOutput) => ({
    finish_reason: out.stopReason ?? (out.finishReason === 'length' ? 'length' : 'eos_token'),
    generated_tokens: out.completionTokens,
  });

  app.post('/generate', { schema: { body: GenerateBody }, config: api }, async (req, reply) => {
    const service = pickService(services, 'text-generation', req.body.model, req.principal);
    if (req.body.stream) return streamGenerate(service, toInput(req.body), reply);
    const out = await runner.run<GenerateOutput>(service, toInput(req.body), undefined, traceOf(req));
    return { generated_text: out.text, details: details(out) };
  });

  app.post('/generate_stream', { schema: { body: GenerateBody }, config: api }, async (req, reply) =>
    streamGenerate(pickService(services, 'text-generation', req.body.model, req.principal), toInput(req.body), reply));

  async function streamGenerate(service: Parameters<typeof runner.run>[0], input: GenerateInput, reply: Parameters<typeof openEventStream>[0]) {
    runner.assertReady(service);
    const trace = traceOf(reply.request);
    const events = openEventStream(reply, trace);
    let index = 0;
    try {
      const out = await runner.run<GenerateOutput>(service, input, (chunk) => {
        const text = (chunk as GenerateChunk).text;
        if (text) events.send({ index: index++, token: { id: -1, text, logprob: null, special: false }, generated_text: null, details: null });
      }, trace);
      events.send({ index, token: { id: -1, text: '', logprob: null, special: true }, generated_text: out.text, details: details(out) });
    } catch (err) {
      events.send({ error: toCorralError(err).message, error_type: 'generation' });
    }
    events.end();
    return reply;
  }
};
