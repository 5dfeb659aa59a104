/**
 * A key's `models` list: names or globs (`*` any run of characters, `?` one).
 * Undefined/null means every model and service.
 */
export function modelMatcher(globs: readonly string[] | null): (name: string) => boolean {
  if (globs === null) return () => true;
  const patterns = globs.map((g) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return (name) => patterns.some((p) => p.test(name));
}

/** A glob is a model name with optional wildcards: nothing that could be a path or a regex. */
export const MODEL_GLOB = /^[A-Za-z0-9*?][A-Za-z0-9._*?-]{0,127}$/;
