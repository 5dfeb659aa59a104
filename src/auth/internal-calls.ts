import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './principal.js';

const HEADER = 'x-corral-internal-call';

/**
 * Requests the gateway makes to itself (an async job, the service proxy) go
 * through app.inject and every hook, acting as the original caller: the caller's
 * principal is parked under a one-time random ticket that only this process
 * knows. A ticket cannot come from the network: unknown tickets are ignored.
 */
export class InternalCalls {
  private readonly tickets = new Map<string, Principal>();

  headersFor(principal: Principal): Record<string, string> {
    const ticket = randomBytes(24).toString('base64url');
    this.tickets.set(ticket, principal);
    // A ticket that is never presented (the inject failed before its hooks) must not pile up.
    setTimeout(() => this.tickets.delete(ticket), 60_000).unref();
    return { [HEADER]: ticket };
  }

  /** The caller an injected request acts for; undefined for requests from the network. */
  take(req: FastifyRequest): Principal | undefined {
    const ticket = req.headers[HEADER];
    if (typeof ticket !== 'string') return undefined;
    const principal = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    return principal;
  }
}
