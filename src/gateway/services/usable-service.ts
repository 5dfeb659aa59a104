import type { FastifyRequest } from 'fastify';
import type { ServiceRecord, ServiceRegistry } from '../../services/index.js';

/**
 * The service named in the path (by id or name), if the caller's key may use
 * it: 404 SERVICE_NOT_FOUND when there is none, 403 MODEL_NOT_ALLOWED when the
 * key's models exclude it. Every /api/services/<id>/... route decides this way.
 */
export function usableService(services: ServiceRegistry, req: FastifyRequest<{ Params: { id: string } }>): ServiceRecord {
  const service = services.get(req.params.id);
  req.principal.assertCanUse(service.name);
  return service;
}
