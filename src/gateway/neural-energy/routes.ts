import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { CorralError } from '../../errors/index.js';
import { WorkerPool } from '../../workers/index.js';
import type { Corral } from '../corral.js';
import { VERSION } from '../version.js';
import { neErrorHandler } from './ne-error.js';
import { CallCounter, neTime, runFields, workerOf } from './reply-fields.js';
import { modelKeyOf, runService } from './run-service.js';
import { availableServers, SAFE_KILL, serviceForSignature, SYSTEM_STATUS } from './signature.js';
import { systemStatusReply } from './system-status.js';
import { traceOf } from '../request-trace.js';

/** Every Neural Energy path, for the CORRAL_NE_PORT listener (neural-energy/listener.ts). */
export const NE_PATHS: readonly string[] = ['/run', '/list_servers', '/shutdown', '/system_status'];

// Any other field is the server's input.
const SignedBody = Type.Object({ SIGNATURE: Type.Optional(Type.Unknown()) }, { additionalProperties: true });
// Neural Energy's clients may POST nothing at all (/list_servers); that is an empty object, not a 400.
const noBodyIsEmpty = async (req: FastifyRequest) => { req.body ??= {}; };

/**
 * The Neural Energy gateway API (docs/neural-energy.md): POST /run
 * {"SIGNATURE": "<service>", ...input}, /list_servers, /shutdown
 * {"SIGNATURE": "SAFE_KILL_SERVER_CMD"}, and the system status.
 */
export const neuralEnergyRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services } = corral;
  app.setErrorHandler(neErrorHandler(() => corral.config.neErrors200, corral.logger));
  const calls = new CallCounter();

  app.post('/run', { schema: { body: SignedBody }, preValidation: noBodyIsEmpty, config: { api: 'neural-energy', auth: 'infer' } }, async (req) => {
    const { SIGNATURE: signature, ...input } = req.body;
    // Memory figures are `read` information, whichever route asks for them.
    if (signature === SYSTEM_STATUS) {
      req.principal.assertHas('read', 'SYSTEM_STATUS');
      return systemStatusReply(services, corral.dispatcher.workers(), req.principal);
    }
    const service = serviceForSignature(services, signature, req.principal);
    const callId = calls.next(service.name);
    const result = await runService(corral, service, input, traceOf(req));
    return { ...result, ...runFields(service, callId, workerOf(service, corral.dispatcher.workers(), modelKeyOf(corral, service))) };
  });

  app.get('/system_status', { config: { auth: 'read' } }, async (req) => systemStatusReply(services, corral.dispatcher.workers(), req.principal));

  app.post('/list_servers', { schema: { body: SignedBody }, preValidation: noBodyIsEmpty, config: { auth: 'read' } }, async (req) => ({ AVAIL_SERVERS: availableServers(services, req.principal) }));

  app.post('/shutdown', { schema: { body: SignedBody }, preValidation: noBodyIsEmpty, config: { auth: 'admin' } }, async (req) => {
    const signature = req.body.SIGNATURE;
    if (signature !== SAFE_KILL) {
      throw new CorralError('BAD_REQUEST', `Bad signature ${typeof signature === 'string' ? signature : 'None'}. /shutdown takes {"SIGNATURE": "${SAFE_KILL}"}.`);
    }
    const pool = corral.dispatcher;
    if (!(pool instanceof WorkerPool)) {
      throw new CorralError('BAD_REQUEST', 'With CORRAL_REDIS_URL models run in `corral worker` processes, not in this gateway: restart those.');
    }
    corral.audit.record('workers.restart', req);
    // Answered once every worker is replaced: queued and in-flight requests are kept meanwhile.
    const restarted = await pool.restartAll();
    return {
      SHUTDOWN: `${SAFE_KILL}: restarted ${restarted.length} worker processes; models load again on first use.`,
      workers: restarted.map((w) => ({ id: w.id, old_pid: w.oldPid ?? null, pid: w.pid ?? null })),
      time: neTime(),
      ver: VERSION,
    };
  });
};
