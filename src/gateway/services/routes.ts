import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CorralError, toCorralError } from '../../errors/index.js';
import type { FastifyRequest } from 'fastify';
import { decodeFrame, encodeFrame, INVOKE_CONTENT_TYPE, isLocalModelPath } from '../../services/index.js';
import type { Corral } from '../corral.js';
import { planService } from './create-service.js';
import { serviceView } from './service-view.js';
import { usableService } from './usable-service.js';
import { traceOf } from '../request-trace.js';

const ServiceBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  task: Type.String({ minLength: 1 }),
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  runtime: Type.Optional(Type.String()),
  // A branch, tag or commit; never a path that could leave the cache folder.
  revision: Type.Optional(Type.String({ pattern: '^(?!.*\\.\\.)[A-Za-z0-9][\\w./-]{0,127}$' })),
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  profile: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  max_batch_size: Type.Optional(Type.Integer({ minimum: 0, maximum: 65536 })),
  max_queue_delay_microseconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  ...wakeFields(),
}, { additionalProperties: false });
/** Scale to zero: PATCH /api/services/<id> changes these alone (null: back to the default). */
const WakeBody = Type.Object(nullableWakeFields(), { additionalProperties: false, minProperties: 1 });
const IdParams = Type.Object({ id: Type.String() });

/** Scale to zero: idle minutes before it sleeps; whether a request wakes it; how many requests it holds meanwhile, for how long. */
function wakeFields() {
  return {
    idle_minutes: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 525_600 })),
    wake_on_request: Type.Optional(Type.Boolean()),
    wake_max_queued: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    wake_timeout_s: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400 })),
  };
}
function nullableWakeFields() {
  return {
    idle_minutes: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 525_600 }), Type.Null()])),
    wake_on_request: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    wake_max_queued: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    wake_timeout_s: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 86_400 }), Type.Null()])),
  };
}
const RegisterBody = Type.Object({ endpoint: Type.Optional(Type.String({ pattern: '^https?://' })), error: Type.Optional(Type.String()) });
const isTrue = (flag: string | undefined) => flag === 'true' || flag === '1' || flag === '';

/**
 * Service management: create (STARTING → RUNNING/FAILED locally, SUBMITTED →
 * STARTING → RUNNING on a cluster), list, describe, stop, delete; plus the two
 * routes a service host in a job uses: register and invoke.
 */
export const serviceRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services, runner, config, profiles, models } = corral;
  const view = (s: Parameters<typeof serviceView>[0]) => serviceView(s, config.batching, runner.live(s));
  /** The service named in the path, if the caller's key may use it (403 otherwise). */
  const usable = (req: FastifyRequest<{ Params: { id: string } }>) => usableService(services, req);

  app.post('/api/services', {
    schema: { body: ServiceBody, querystring: Type.Object({ wait: Type.Optional(Type.String()) }) }, config: { auth: 'services:write' },
  }, async (req, reply) => {
    req.principal.assertCanUse(req.body.name);
    if (req.body.model !== undefined && isLocalModelPath(req.body.model)) {
      req.principal.assertHas('admin', `Serving the local path '${req.body.model}' (not a Hugging Face id like org/name)`);
    }
    const profile = profiles.get(req.body.profile ?? 'local');
    const { spec, warning } = await planService(req.body, config, profile, models);
    let service = await services.create(spec, profile.type === 'local' ? 'STARTING' : 'SUBMITTED');
    corral.audit.record('service.create', req, service.name, { task: service.task, model: service.model, profile: service.profile });
    const started = runner.start(service);
    // ?wait=true answers once a local service is RUNNING or FAILED (a job: once submitted).
    if (isTrue(req.query.wait)) service = await started;
    reply.code(201);
    return { ...view(service), ...(warning ? { warning } : {}) };
  });

  app.get('/api/services', {
    schema: { querystring: Type.Object({ status: Type.Optional(Type.String()), task: Type.Optional(Type.String()), profile: Type.Optional(Type.String()) }) },
    config: { auth: 'read' },
  }, async (req) => {
    const { status, task, profile } = req.query;
    return services.list()
      .filter((s) => req.principal.canUse(s.name))
      .filter((s) => (!status || s.status === status.toUpperCase()) && (!task || s.task === task) && (!profile || s.profile === profile))
      .map(view);
  });

  app.get('/api/services/:id', { schema: { params: IdParams }, config: { auth: 'read' } }, async (req) => view(usable(req)));

  // Scale to zero: change idle_minutes, wake_on_request, wake_max_queued, wake_timeout_s (null: the default).
  app.patch('/api/services/:id', { schema: { params: IdParams, body: WakeBody }, config: { auth: 'services:write' } }, async (req) => {
    const current = usable(req);
    if (current.fromRepository) throw new CorralError('BAD_REQUEST', `'${current.name}' is a repository model; it is always served and never sleeps.`);
    const b = req.body;
    const service = await services.setWakeOptions(current.id, {
      idleMinutes: b.idle_minutes, wakeOnRequest: b.wake_on_request, wakeMaxQueued: b.wake_max_queued, wakeTimeoutS: b.wake_timeout_s,
    });
    corral.audit.record('service.update', req, service.name, { ...b });
    return view(service);
  });

  // Laminoid's controller role: start and stop what exists, without creating anything.
  app.post('/api/services/:id/stop', { schema: { params: IdParams }, config: { auth: 'services:operate' } }, async (req) => {
    const service = await runner.stop(usable(req));
    corral.audit.record('service.stop', req, service.name);
    return view(service);
  });

  app.post('/api/services/:id/start', {
    schema: { params: IdParams, querystring: Type.Object({ wait: Type.Optional(Type.String()) }) }, config: { auth: 'services:operate' },
  }, async (req) => {
    const current = usable(req);
    if (['SUBMITTED', 'STARTING', 'RUNNING'].includes(current.status)) return view(current);
    if (current.fromRepository) throw new CorralError('BAD_REQUEST', `'${current.name}' is a repository model; it is always served.`);
    if (current.status === 'SLEEPING') {
      // Woken as a request would: one wake at a time, requests arriving meanwhile are held.
      const { record, started } = await runner.wake(current);
      corral.audit.record('service.start', req, record.name);
      return view(isTrue(req.query.wait) ? await started : record);
    }
    const profile = profiles.get(current.profile);
    // Started by a person: a fresh count of restarts after box preemptions.
    if ((current.restarts ?? 0) > 0) await services.setRestarts(current.id, 0);
    // Claimed in the database: a start through another gateway at the same moment wins or loses as a whole.
    const claimed = await services.claim(current.id, profile.type === 'local' ? 'STARTING' : 'SUBMITTED', { reason: null, endpoint: null, jobId: null });
    if (!claimed) return view(services.get(current.id));
    let service = claimed;
    corral.audit.record('service.start', req, service.name);
    const started = runner.start(service);
    if (isTrue(req.query.wait)) service = await started;
    return view(service);
  });

  app.delete('/api/services/:id', { schema: { params: IdParams }, config: { auth: 'services:write' } }, async (req) => {
    const current = usable(req);
    if (['SUBMITTED', 'STARTING', 'RUNNING'].includes(current.status) && current.profile !== 'local') await runner.stop(current);
    const service = await services.delete(req.params.id);
    runner.retire(service);
    corral.audit.record('service.delete', req, service.name);
    return { deleted: service.id, name: service.name };
  });

  // The two routes of a service's host in a cluster job: its launch token, not an API key.
  app.post('/api/services/:id/register', { schema: { params: IdParams, body: RegisterBody }, config: { auth: 'service-token' } }, async (req) =>
    view(await runner.register(services.get(req.params.id), req.body)));

  // The internal hop from a gateway to the host running a service: v8 frames in, frames out (streamed).
  app.addContentTypeParser(INVOKE_CONTENT_TYPE, { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (_req, body, done) => done(null, body));
  app.post('/api/services/:id/invoke', { schema: { params: IdParams }, config: { auth: 'service-token' } }, async (req, reply) => {
    const service = services.get(req.params.id);
    let input: unknown;
    try {
      ({ input } = decodeFrame<{ input: unknown }>(req.body as Buffer));
    } catch {
      throw new CorralError('BAD_REQUEST', `The body must be one ${INVOKE_CONTENT_TYPE} frame.`);
    }
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': INVOKE_CONTENT_TYPE });
    try {
      // The forwarding gateway's X-Request-Id is this request's id too: both log it under one id.
      const trace = traceOf(req);
      const output = await runner.run(service, input, (data) => reply.raw.write(encodeFrame({ type: 'chunk', data })), trace);
      reply.raw.end(encodeFrame({ type: 'result', output, timing: trace.timing() }));
    } catch (err) {
      const e = toCorralError(err);
      reply.raw.end(encodeFrame({ type: 'error', code: e.code, message: e.message }));
    }
    return reply;
  });
};
