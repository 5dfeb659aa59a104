import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CorralError } from '../../errors/index.js';
import type { ChatMessage, GenerateInput } from '../../runtimes/task-io.js';
import type { Corral } from '../corral.js';
import { ollamaGeneration } from './generation.js';
import { modelOf, resolveModel } from './model-ref.js';
import { generationOptions } from './options.js';
import { ChatBody, GenerateBody } from './schemas.js';

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant']);
const now = () => new Date().toISOString();

/** Fields Corral's text-only runtimes cannot honour: a clear 400 rather than an answer that ignores them. */
function refuseUnsupported(body: { format?: unknown; images?: string[]; suffix?: string; tools?: unknown[] }) {
  if (body.format !== undefined && body.format !== '' && body.format !== null) throw new CorralError('BAD_REQUEST', 'format (JSON output) is not supported by Corral\'s text-generation services');
  if (body.images?.length) throw new CorralError('BAD_REQUEST', 'images are not supported: Corral\'s text-generation services take text only');
  if (body.suffix) throw new CorralError('BAD_REQUEST', 'suffix (fill-in-the-middle) is not supported by Corral\'s text-generation services');
  if (body.tools?.length) throw new CorralError('BAD_REQUEST', 'tools are not supported by Corral\'s text-generation services');
}

/**
 * POST /api/generate (a prompt, completed as it is; with `system`, a chat of
 * two messages) and POST /api/chat. Both stream NDJSON unless `stream: false`;
 * an empty prompt (no messages) only checks that the model is ready, as
 * Ollama answers it by loading the model (done_reason "load").
 */
export const generateRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services, runner } = corral;
  const config = { api: 'ollama', auth: 'infer' } as const;

  app.post('/api/generate', { schema: { body: GenerateBody }, config }, async (req, reply) => {
    const body = req.body;
    const model = modelOf(body);
    const service = resolveModel(services, model, req.principal, ['text-generation']);
    refuseUnsupported(body);
    const options = generationOptions(body.options);
    const frame = (response: string, done: boolean) => ({ model, created_at: now(), response, done });
    if (!body.prompt) {
      runner.assertReady(service);
      return { ...frame('', true), done_reason: 'load' };
    }
    const input: GenerateInput = body.system
      ? { messages: [{ role: 'system', content: body.system }, { role: 'user', content: body.prompt }], ...options }
      : { prompt: body.prompt, ...options };
    return ollamaGeneration(runner, reply, service, input, body.stream ?? true, frame);
  });

  app.post('/api/chat', { schema: { body: ChatBody }, config }, async (req, reply) => {
    const body = req.body;
    const model = modelOf(body);
    const service = resolveModel(services, model, req.principal, ['text-generation']);
    refuseUnsupported(body);
    const messages: ChatMessage[] = (body.messages ?? []).map((m, i) => {
      if (!ROLES.has(m.role)) throw new CorralError('BAD_REQUEST', `messages[${i}].role is '${m.role}'; Corral takes system, user and assistant messages`);
      if (m.images?.length) throw new CorralError('BAD_REQUEST', 'images are not supported: Corral\'s text-generation services take text only');
      return { role: m.role as ChatMessage['role'], content: m.content };
    });
    const options = generationOptions(body.options);
    const frame = (content: string, done: boolean) => ({ model, created_at: now(), message: { role: 'assistant', content }, done });
    if (messages.length === 0) {
      runner.assertReady(service);
      return { ...frame('', true), done_reason: 'load' };
    }
    return ollamaGeneration(runner, reply, service, { messages, ...options }, body.stream ?? true, frame);
  });
};
