import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Corral } from '../corral.js';
import { planService } from './create-service.js';
import { serviceView } from './service-view.js';

const ServiceBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  task: Type.String({ minLength: 1 }),
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  runtime: Type.Optional(Type.String()),
  revision: Type.Optional(Type.String({ maxLength: 128 })),
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  max_batch_size: Type.Optional(Type.Integer({ minimum: 0, maximum: 65536 })),
  max_queue_delay_microseconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
}, { additionalProperties: false });
const isTrue = (flag: string | undefined) => flag === 'true' || flag === '1' || flag === '';
const IdParams = Type.Object({ id: Type.String() });

/** Service management: create (then STARTING → RUNNING/FAILED), list, describe, delete. */
export const serviceRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services, runner, config } = corral;
  const view = (s: Parameters<typeof serviceView>[0]) => serviceView(s, config.batching);

  app.post('/api/services', {
    schema: { body: ServiceBody, querystring: Type.Object({ wait: Type.Optional(Type.String()) }) },
  }, async (req, reply) => {
    const { spec, warning } = planService(req.body, config);
    let service = await services.create(spec, 'STARTING');
    const started = runner.start(service);
    // ?wait=true answers once the service is RUNNING or FAILED, instead of STARTING.
    if (isTrue(req.query.wait)) service = await started;
    reply.code(201);
    return { ...view(service), ...(warning ? { warning } : {}) };
  });

  app.get('/api/services', {
    schema: { querystring: Type.Object({ status: Type.Optional(Type.String()), task: Type.Optional(Type.String()) }) },
  }, async (req) => {
    const { status, task } = req.query;
    return services.list().filter((s) => (!status || s.status === status.toUpperCase()) && (!task || s.task === task)).map(view);
  });

  app.get('/api/services/:id', { schema: { params: IdParams } }, async (req) => view(services.get(req.params.id)));

  app.delete('/api/services/:id', { schema: { params: IdParams } }, async (req) => {
    const service = await services.delete(req.params.id);
    runner.retire(service);
    return { deleted: service.id, name: service.name };
  });
};
