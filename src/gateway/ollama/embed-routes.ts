import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EmbeddingResult, TextListOutput } from '../../runtimes/task-io.js';
import type { Corral } from '../corral.js';
import { checkTexts } from '../text-inputs.js';
import { modelOf, resolveModel } from './model-ref.js';
import { EmbedBody, EmbeddingsBody } from './schemas.js';
import { traceOf } from '../request-trace.js';
import type { RequestTrace } from '../../tracing/index.js';

/** POST /api/embed (`input`: one text or many) and the older POST /api/embeddings (`prompt`: one text). */
export const embedRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services, runner } = corral;
  const config = { api: 'ollama', auth: 'infer' } as const;
  const embed = (service: Parameters<typeof runner.run>[0], texts: string[], trace: RequestTrace) =>
    runner.run<TextListOutput<EmbeddingResult>>(service, { texts }, undefined, trace);

  app.post('/api/embed', { schema: { body: EmbedBody }, config }, async (req) => {
    const started = process.hrtime.bigint();
    const model = modelOf(req.body);
    const service = resolveModel(services, model, req.principal, ['feature-extraction']);
    const out = await embed(service, checkTexts(req.body.input, 'input', true), traceOf(req));
    return {
      model,
      embeddings: out.results.map((r) => Array.from(r.embedding)),
      total_duration: Number(process.hrtime.bigint() - started),
      load_duration: 0,
      prompt_eval_count: out.results.reduce((n, r) => n + r.tokens, 0),
    };
  });

  app.post('/api/embeddings', { schema: { body: EmbeddingsBody }, config }, async (req) => {
    const service = resolveModel(services, modelOf(req.body), req.principal, ['feature-extraction']);
    // Ollama answers an empty prompt with an empty embedding.
    if (req.body.prompt === '') return { embedding: [] };
    const out = await embed(service, checkTexts([req.body.prompt], 'prompt'), traceOf(req));
    return { embedding: Array.from(out.results[0]!.embedding) };
  });
};
