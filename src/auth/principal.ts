import { CorralError } from '../errors/index.js';
import { modelMatcher } from './model-globs.js';
import { grants, SCOPES, type Scope } from './scopes.js';

export interface RateLimit {
  requestsPerMinute: number;
  /** Requests that may arrive at once after a quiet spell; default requestsPerMinute. */
  burst: number;
  /** Requests in flight at once; undefined = unlimited. */
  concurrency?: number;
}

/**
 * Who a request acts as: an API key, the admin token, or the anonymous caller
 * (no credential). Routes ask it about scopes and models; the audit log and the
 * metrics name it.
 */
export class Principal {
  readonly scopes: ReadonlySet<Scope>;
  private readonly matches: (name: string) => boolean;

  constructor(
    /** Key id; 'admin-token' for CORRAL_ADMIN_TOKEN, 'anonymous' without a credential. */
    readonly id: string,
    readonly name: string,
    scopes: readonly Scope[],
    readonly models: readonly string[] | null = null,
    readonly rateLimit: RateLimit | null = null,
    /** When the key stops being valid (ms since the epoch). */
    readonly expiresMs: number = Infinity,
  ) {
    this.scopes = new Set(scopes);
    this.matches = modelMatcher(models);
  }

  /** Everything, for CORRAL_AUTH=off. */
  static unrestricted(): Principal {
    return new Principal('anonymous', 'anonymous', SCOPES);
  }

  get isAnonymous(): boolean {
    return this.id === 'anonymous';
  }

  has(scope: Scope): boolean {
    return grants(this.scopes, scope);
  }

  /** May this principal see and use the model or service `name`? */
  canUse(name: string): boolean {
    return this.matches(name);
  }

  /** Throws 403 MODEL_NOT_ALLOWED for a model or service outside the key's `models`. */
  assertCanUse(name: string): void {
    if (!this.matches(name)) {
      throw new CorralError('MODEL_NOT_ALLOWED', `API key '${this.name}' may not use '${name}'; it is limited to ${this.models!.join(', ')}.`);
    }
  }

  /** Throws 403 FORBIDDEN naming the scope (checks that depend on the request, e.g. local model paths). */
  assertHas(scope: Scope, what: string): void {
    if (!this.has(scope)) throw new CorralError('FORBIDDEN', `${what} needs the '${scope}' scope, which API key '${this.name}' does not have.`);
  }
}
