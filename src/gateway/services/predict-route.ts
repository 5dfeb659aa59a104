import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CorralError } from '../../errors/index.js';
import { TASKS } from '../../services/index.js';
import type { EmbeddingResult, GenerateOutput, TextListOutput } from '../../runtimes/task-io.js';
import type { Corral } from '../corral.js';
import { checkTexts } from '../text-inputs.js';
import { traceOf } from '../request-trace.js';

const PredictBody = Type.Object({
  inputs: Type.Unknown(),
  parameters: Type.Optional(Type.Object({
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    candidate_labels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 100 })),
    multi_label: Type.Optional(Type.Boolean()),
    hypothesis_template: Type.Optional(Type.String({ pattern: '\\{\\}' })),
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    max_new_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 32768 })),
  }, { additionalProperties: false })),
});

/**
 * POST /api/services/<id>/predict {"inputs": ..., "parameters": {...}}: any
 * text task of any service, with the Hugging Face Inference API's names
 * (top_k, candidate_labels, multi_label, hypothesis_template). A single
 * string in gives a single result out; a list gives a list.
 */
export const predictRoute: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  app.post('/api/services/:id/predict', { schema: { params: Type.Object({ id: Type.String() }), body: PredictBody }, config: { api: 'predict', auth: 'infer' } }, async (req) => {
    const service = corral.services.get(req.params.id);
    req.principal.assertCanUse(service.name);
    const p = req.body.parameters ?? {};
    if (service.task === 'text-generation') {
      if (typeof req.body.inputs !== 'string') throw new CorralError('INVALID_INPUT', '"inputs" must be the prompt string for a text-generation service.');
      const out = await corral.runner.run<GenerateOutput>(service, { prompt: req.body.inputs, maxNewTokens: p.max_new_tokens }, undefined, traceOf(req));
      return { generated_text: out.text, finish_reason: out.finishReason };
    }
    if (TASKS[service.task].batch !== 'text-list') {
      throw new CorralError('INVALID_INPUT', `Service '${service.name}' does ${service.task}; /predict takes text tasks (use /ocr or /v2/models/${service.name}/infer).`);
    }
    const single = typeof req.body.inputs === 'string';
    const texts = checkTexts(req.body.inputs, 'inputs', true);
    if (service.task === 'zero-shot-classification' && !p.candidate_labels) {
      throw new CorralError('INVALID_INPUT', 'zero-shot-classification needs parameters.candidate_labels, e.g. ["sports", "politics"].');
    }
    const options = { topK: p.top_k, labels: p.candidate_labels, multiLabel: p.multi_label, hypothesisTemplate: p.hypothesis_template, top: p.top };
    const out = await corral.runner.run<TextListOutput<unknown>>(service, { texts, options: Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) }, undefined, traceOf(req));
    const results = service.task === 'feature-extraction'
      ? out.results.map((r) => Array.from((r as EmbeddingResult).embedding))
      : out.results;
    return single ? results[0] : results;
  });
};
