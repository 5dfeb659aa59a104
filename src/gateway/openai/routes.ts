import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import { CorralError, toCorralError } from '../../errors/index.js';
import type { ServiceRecord } from '../../services/index.js';
import type { ChatMessage, EmbeddingResult, GenerateChunk, GenerateInput, GenerateOutput, TextListOutput } from '../../runtimes/task-io.js';
import type { Corral } from '../corral.js';
import { errorHandler } from '../error-envelope.js';
import { pickService } from '../pick-service.js';
import { openEventStream } from '../sse.js';
import { checkTexts } from '../text-inputs.js';
import { generationParams } from './generation-params.js';
import { openaiError } from './openai-error.js';
import { traceOf } from '../request-trace.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Sampling = {
  max_tokens: Nullable(Type.Integer({ minimum: 1, maximum: 32768 })),
  max_completion_tokens: Nullable(Type.Integer({ minimum: 1, maximum: 32768 })),
  temperature: Nullable(Type.Number({ minimum: 0, maximum: 2 })),
  top_p: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  stop: Nullable(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 })])),
  n: Nullable(Type.Integer({ minimum: 1 })),
  stream: Nullable(Type.Boolean()),
  user: Type.Optional(Type.String()),
};
const ChatBody = Type.Object({
  model: Type.String(),
  messages: Type.Array(Type.Object({
    role: Type.Union([Type.Literal('system'), Type.Literal('user'), Type.Literal('assistant'), Type.Literal('developer')]),
    content: Type.Union([Type.String(), Type.Array(Type.Object({ type: Type.Literal('text'), text: Type.String() }))]),
  }), { minItems: 1 }),
  ...Sampling,
});
const CompletionBody = Type.Object({ model: Type.String(), prompt: Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1, maxItems: 1 })]), ...Sampling });
const EmbeddingsBody = Type.Object({
  model: Type.String(),
  input: Type.Unknown(),
  encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
  dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
  user: Type.Optional(Type.String()),
});

const now = () => Math.floor(Date.now() / 1000);

/**
 * OpenAI-compatible routes: /v1/models, /v1/embeddings, /v1/chat/completions and
 * /v1/completions (with `stream: true` as server-sent events). `model` is the
 * service name.
 */
export const openaiRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services, runner } = corral;
  app.setErrorHandler(errorHandler(openaiError, corral.logger));
  const api = { api: 'openai', auth: 'infer' } as const;

  const model = (s: ServiceRecord) => ({ id: s.name, object: 'model', created: Math.floor(Date.parse(s.createdAt) / 1000), owned_by: 'corral', task: s.task });
  app.get('/v1/models', { config: { auth: 'read' } }, async (req) => ({
    object: 'list',
    data: services.list().filter((s) => s.status === 'RUNNING' && !s.fromRepository && req.principal.canUse(s.name)).map(model),
  }));
  app.get('/v1/models/:id', { schema: { params: Type.Object({ id: Type.String() }) }, config: { auth: 'read' } }, async (req) => {
    const service = services.get(req.params.id);
    req.principal.assertCanUse(service.name);
    return model(service);
  });

  app.post('/v1/embeddings', { schema: { body: EmbeddingsBody }, config: api }, async (req) => {
    const texts = checkTexts(req.body.input, 'input', true);
    const service = pickService(services, 'feature-extraction', req.body.model, req.principal);
    const out = await runner.run<TextListOutput<EmbeddingResult>>(service, { texts }, undefined, traceOf(req));
    const tokens = out.results.reduce((n, r) => n + r.tokens, 0);
    return {
      object: 'list',
      data: out.results.map((r, index) => {
        const vector = req.body.dimensions ? truncate(r.embedding, req.body.dimensions) : r.embedding;
        return { object: 'embedding', index, embedding: req.body.encoding_format === 'base64' ? base64(vector) : Array.from(vector) };
      }),
      model: service.name,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.post('/v1/chat/completions', { schema: { body: ChatBody }, config: api }, async (req, reply) => {
    const service = pickService(services, 'text-generation', req.body.model, req.principal);
    const messages: ChatMessage[] = req.body.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
    }));
    const input: GenerateInput = { messages, ...generationParams(req.body) };
    const id = `chatcmpl-${randomUUID()}`;
    const base = { id, created: now(), model: service.name };
    if (req.body.stream) {
      return stream(reply, service, input, 'chat.completion.chunk', base,
        (text) => ({ index: 0, delta: text === undefined ? { role: 'assistant', content: '' } : { content: text }, finish_reason: null }),
        (finish) => ({ index: 0, delta: {}, finish_reason: finish }));
    }
    const out = await runner.run<GenerateOutput>(service, input, undefined, traceOf(req));
    return {
      ...base, object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: out.text }, finish_reason: out.finishReason, logprobs: null }],
      usage: usage(out),
    };
  });

  app.post('/v1/completions', { schema: { body: CompletionBody }, config: api }, async (req, reply) => {
    const service = pickService(services, 'text-generation', req.body.model, req.principal);
    const prompt = Array.isArray(req.body.prompt) ? req.body.prompt[0]! : req.body.prompt;
    const input: GenerateInput = { prompt, ...generationParams(req.body) };
    const base = { id: `cmpl-${randomUUID()}`, created: now(), model: service.name };
    if (req.body.stream) {
      return stream(reply, service, input, 'text_completion', base,
        (text) => (text === undefined ? undefined : { index: 0, text, finish_reason: null, logprobs: null }),
        (finish) => ({ index: 0, text: '', finish_reason: finish, logprobs: null }));
    }
    const out = await runner.run<GenerateOutput>(service, input, undefined, traceOf(req));
    return { ...base, object: 'text_completion', choices: [{ index: 0, text: out.text, finish_reason: out.finishReason, logprobs: null }], usage: usage(out) };
  });

  /**
   * Streams generation as OpenAI chunks. Errors before the first byte are
   * ordinary JSON errors; after it, an error event ends the stream.
   */
  async function stream(
    reply: FastifyReply, service: ServiceRecord, input: GenerateInput, object: string, base: object,
    piece: (text: string | undefined) => object | undefined, last: (finish: string) => object,
  ) {
    runner.assertReady(service); // before the stream opens, so a 503 is still plain JSON
    const trace = traceOf(reply.request);
    const events = openEventStream(reply, trace);
    const first = piece(undefined);
    if (first) events.send({ ...base, object, choices: [first] });
    try {
      const out = await runner.run<GenerateOutput>(service, input, (chunk) => {
        const text = (chunk as GenerateChunk).text;
        if (text) events.send({ ...base, object, choices: [piece(text)] });
      }, trace);
      events.send({ ...base, object, choices: [last(out.finishReason)], usage: usage(out) });
      events.send('[DONE]');
    } catch (err) {
      events.send(openaiError(toCorralError(err)));
    }
    events.end();
    return reply;
  }
};

const usage = (out: GenerateOutput) => ({ prompt_tokens: out.promptTokens, completion_tokens: out.completionTokens, total_tokens: out.promptTokens + out.completionTokens });

function truncate(vector: Float32Array, dimensions: number): Float32Array {
  if (dimensions > vector.length) throw new CorralError('INVALID_INPUT', `"dimensions" is ${dimensions}, but this model's embeddings have ${vector.length}.`);
  // Matryoshka-style: keep the first dimensions and re-normalise.
  const cut = vector.slice(0, dimensions);
  const norm = Math.hypot(...cut) || 1;
  return cut.map((v) => v / norm);
}

const base64 = (vector: Float32Array) => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
