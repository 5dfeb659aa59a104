import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { CorralError } from '../../errors/index.js';
import type { EmbeddingResult, Keyterm, OcrOutput, TextListOutput } from '../../runtimes/task-io.js';
import type { Corral } from '../corral.js';
import { pickService } from '../pick-service.js';
import { ocrOptions } from '../ocr-options.js';
import { checkInstructions, checkTexts } from '../text-inputs.js';
import { traceOf } from '../request-trace.js';

const TextsBody = Type.Object({
  sentences: Type.Optional(Type.Unknown()),
  model: Type.Optional(Type.String()),
  service: Type.Optional(Type.String()),
  instruction: Type.Optional(Type.Unknown()),
  top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
});

/**
 * Laminoid's task endpoints: POST /embed and /keyterms with {"sentences": [...]},
 * plus POST /ocr with an image. `model`/`service` choose the service; the
 * built-in one answers otherwise.
 */
export const laminoidRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services, runner } = corral;

  app.post('/embed', { schema: { body: TextsBody }, config: { api: 'laminoid', auth: 'infer' } }, async (req) => {
    const texts = checkTexts(req.body.sentences, 'sentences');
    const service = pickService(services, 'feature-extraction', req.body.service ?? req.body.model, req.principal);
    const out = await runner.run<TextListOutput<EmbeddingResult>>(service, { texts, instructions: checkInstructions(req.body.instruction, texts.length) }, undefined, traceOf(req));
    return { embeddings: out.results.map((r) => Array.from(r.embedding)), model: service.name };
  });

  app.post('/keyterms', { schema: { body: TextsBody }, config: { api: 'laminoid', auth: 'infer' } }, async (req) => {
    const texts = checkTexts(req.body.sentences, 'sentences');
    const service = pickService(services, 'keyterms', req.body.service ?? req.body.model, req.principal);
    const out = await runner.run<TextListOutput<Keyterm[]>>(service, { texts, options: { top: req.body.top ?? 5 } }, undefined, traceOf(req));
    return {
      keyterms: out.results.map((terms) => terms.map((t) => t.term)),
      scores: out.results.map((terms) => terms.map((t) => t.score)),
      model: service.name,
    };
  });

  app.post('/ocr', { config: { api: 'laminoid', auth: 'infer' } }, async (req) => {
    const { image, service: name, options } = await ocrImage(req);
    const service = pickService(services, 'ocr', name, req.principal);
    const out = await runner.run<OcrOutput>(service, { image, ...options }, undefined, traceOf(req));
    return { text: out.lines.map((l) => l.text).join('\n'), lines: out.lines, model: service.name };
  });
};

/**
 * The image of an OCR request: multipart field `file` (choices in the query), or JSON
 * {"image": "<base64>", "engine": ..., "lang": ...}.
 */
async function ocrImage(req: FastifyRequest): Promise<{ image: Uint8Array; service?: string; options: ReturnType<typeof ocrOptions> }> {
  if (req.isMultipart()) {
    const query = req.query as { service?: string; model?: string; engine?: unknown; lang?: unknown };
    const options = ocrOptions(query);
    const file = await req.file();
    if (!file || file.fieldname !== 'file') {
      file?.file.resume();
      throw new CorralError('EMPTY_UPLOAD', 'Send the image in multipart field "file" (curl -F "file=@page.png").');
    }
    const image = await file.toBuffer();
    if (image.length === 0) throw new CorralError('EMPTY_UPLOAD', 'The uploaded image is empty.');
    return { image, service: query.service ?? query.model, options };
  }
  const body = (req.body ?? {}) as { image?: unknown; service?: string; model?: string; engine?: unknown; lang?: unknown };
  const options = ocrOptions(body);
  if (typeof body.image !== 'string' || body.image.length === 0) {
    throw new CorralError('BAD_REQUEST', 'Send the image as multipart field "file", or JSON {"image": "<base64>"}.');
  }
  const base64 = body.image.replace(/^data:[^;]+;base64,/, '');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(base64)) throw new CorralError('INVALID_IMAGE', '"image" is not valid base64.');
  return { image: Buffer.from(base64, 'base64'), service: body.service ?? body.model, options };
}
