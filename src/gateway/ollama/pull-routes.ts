import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CorralError } from '../../errors/index.js';
import { isLocalModelPath, type NewService, type ServiceRecord } from '../../services/index.js';
import type { Corral } from '../corral.js';
import { planService } from '../services/create-service.js';
import { openNdjsonStream } from './ndjson.js';
import { findModel, modelOf, resolveModel } from './model-ref.js';
import { ModelBody, PullBody } from './schemas.js';

/** `org/name:tag` → the model and, for a tag other than `latest`, the hub revision it names. */
function parseRef(ref: string): { model: string; revision?: string } {
  const colon = ref.lastIndexOf(':');
  if (colon <= ref.lastIndexOf('/')) return { model: ref };
  const tag = ref.slice(colon + 1);
  return { model: ref.slice(0, colon), ...(tag && tag !== 'latest' ? { revision: tag } : {}) };
}

/** The service a pulled model becomes: its last path segment, in the characters a name may use. */
function serviceName(model: string): string {
  const last = model.split('/').filter(Boolean).pop() ?? '';
  const name = last.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^\.+/, '').slice(0, 128);
  if (!name) throw new CorralError('BAD_REQUEST', `'${model}' does not name a model; send a Hugging Face id (org/name) or a model directory`);
  return name;
}

/** A causal LM's config.json (…ForCausalLM, …LMHeadModel) makes a chat service; anything else an embedding one. */
function taskFromConfig(spec: NewService): NewService['task'] | undefined {
  const path = join(spec.modelPath, 'config.json');
  if (!existsSync(path)) return undefined;
  try {
    const { architectures } = JSON.parse(readFileSync(path, 'utf8')) as { architectures?: unknown };
    if (!Array.isArray(architectures)) return undefined;
    return architectures.some((a) => typeof a === 'string' && /(ForCausalLM|LMHeadModel)$/.test(a)) ? 'text-generation' : 'feature-extraction';
  } catch {
    return undefined;
  }
}

/**
 * POST /api/pull starts a service on the local profile for a Hugging Face id
 * (downloaded only when CORRAL_ALLOW_REMOTE_MODELS allows) or a model directory
 * (admin only, as on POST /api/services), and answers once it runs.
 * DELETE /api/delete deletes the service a model name resolves to.
 */
export const pullRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services, runner, config, profiles, models } = corral;

  app.post('/api/pull', { schema: { body: PullBody }, config: { auth: 'services:write' } }, async (req, reply) => {
    const ref = modelOf(req.body);
    const existing = findModel(services, ref);
    let starting: Promise<ServiceRecord>;
    let name: string;
    if (existing) {
      // Pulling what is there already is a no-op in Ollama; here it also restarts a stopped service.
      const service = resolveModel(services, ref, req.principal);
      name = service.name;
      const local = service.profile === 'local';
      starting = ['SUBMITTED', 'STARTING', 'RUNNING'].includes(service.status) || !local
        ? Promise.resolve(service)
        : services.setStatus(service.id, 'STARTING', { reason: null, endpoint: null, jobId: null }).then((s) => {
          corral.audit.record('service.start', req, s.name);
          return runner.start(s);
        });
    } else {
      const { model, revision } = parseRef(ref);
      name = serviceName(model);
      req.principal.assertCanUse(name);
      if (isLocalModelPath(model)) req.principal.assertHas('admin', `Serving the local path '${model}' (not a Hugging Face id like org/name)`);
      const { spec } = await planService({ name, task: req.body.task ?? 'text-generation', model, ...(revision ? { revision } : {}) }, config, profiles.get('local'), models);
      if (req.body.task === undefined) spec.task = taskFromConfig(spec) ?? spec.task;
      const service = await services.create(spec, 'STARTING');
      corral.audit.record('service.create', req, service.name, { task: service.task, model: service.model, profile: service.profile, via: 'ollama pull' });
      starting = runner.start(service);
    }
    const failure = (s: ServiceRecord) => (s.status === 'FAILED'
      ? new CorralError('INVALID_SERVICE', `model '${ref}' failed to start: ${s.reason ?? 'no reason given'} (service '${s.name}', GET /api/services/${s.name})`)
      : undefined);
    // Ollama streams progress unless told not to.
    if (req.body.stream === false) {
      const error = failure(await starting);
      if (error) throw error;
      return { status: 'success' };
    }
    const lines = openNdjsonStream(reply);
    lines.send({ status: `starting service '${name}'` });
    const error = failure(await starting);
    lines.send(error ? { error: error.message } : { status: 'success' });
    lines.end();
    return reply;
  });

  app.delete('/api/delete', { schema: { body: ModelBody }, config: { auth: 'services:write' } }, async (req, reply) => {
    const current = resolveModel(services, modelOf(req.body), req.principal);
    if (['SUBMITTED', 'STARTING', 'RUNNING'].includes(current.status) && current.profile !== 'local') await runner.stop(current);
    const service = await services.delete(current.id);
    runner.retire(service);
    corral.audit.record('service.delete', req, service.name);
    // Ollama answers a delete with 200 and no body.
    return reply.code(200).send();
  });
};
