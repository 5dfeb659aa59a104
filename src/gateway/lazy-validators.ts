import { AjvCompiler } from '@fastify/ajv-compiler';

type BuildValidators = ReturnType<typeof AjvCompiler>;
type Validate = ((data: unknown) => unknown) & { errors?: unknown };

export interface LazyValidators {
  /** For Fastify's `schemaController.compilersFactory.buildValidator`. */
  build: BuildValidators;
  /** Compiles every route schema not compiled yet (the tests do, so a bad schema fails them, not a user's request). */
  compileAll: () => void;
}

/**
 * Fastify's own ajv validators, compiled on a route's first request instead of at
 * start: generating the code of every route's schemas was a fifth of the gateway's
 * start-up, for routes most gateways never see. Fastify reads a failed validation's
 * `errors` from the function it was given, so the wrapper copies them over from the
 * compiled one. The first request of a route pays its compile (milliseconds).
 */
export function lazyValidators(): LazyValidators {
  const ajv = AjvCompiler();
  const uncompiled = new Set<() => Validate>();
  const build = ((externalSchemas: Parameters<BuildValidators>[0], options: Parameters<BuildValidators>[1]) => {
    const compile = ajv(externalSchemas, options);
    return (route: Parameters<typeof compile>[0]) => {
      let validate: Validate | undefined;
      const compiled = () => {
        uncompiled.delete(compiled);
        validate ??= compile(route) as unknown as Validate;
        return validate;
      };
      uncompiled.add(compiled);
      const lazy: Validate = function (this: unknown, data: unknown) {
        const run = validate ?? compiled();
        const valid = run.call(this, data);
        lazy.errors = run.errors;
        return valid;
      };
      return lazy;
    };
  }) as BuildValidators;
  return { build, compileAll: () => { for (const compiled of [...uncompiled]) compiled(); } };
}
