import { existsSync, statSync } from 'node:fs';
import { findSnapshot, hubCacheRepoDir, newestSnapshot } from '../registry/hub-cache.js';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { CorralError } from '../errors/index.js';

export interface ResolvedModel {
  /** What the runtime loads: a local directory or, when downloads are allowed, a hub id. */
  modelPath: string;
  revision: string | null;
  /** Said to the user when the model is not on disk yet. */
  warning?: string;
}

// The hub's own rules: org/name, letters, digits, '.', '_', '-', no '--' or '..', at most 96 characters each.
const HUB_ID = /^(?!.*(?:--|\.\.))[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;

/**
 * Does `model` name something on this machine's disk rather than a hub id?
 * Serving an arbitrary path reads files as the gateway's user, so only admin
 * keys may (docs/auth.md).
 */
export function isLocalModelPath(model: string): boolean {
  return !HUB_ID.test(model) || existsSync(resolve(model));
}

/** Hugging Face hub caches to search, most specific first. */
export function hubCacheDirs(corralHome: string): string[] {
  const dirs = [join(corralHome, 'hub')];
  if (process.env.HF_HUB_CACHE) dirs.push(process.env.HF_HUB_CACHE);
  if (process.env.HF_HOME) dirs.push(join(process.env.HF_HOME, 'hub'));
  dirs.push(join(homedir(), '.cache', 'huggingface', 'hub'));
  return dirs;
}

/** The snapshot of a `models--org--name` cache folder: as huggingface_hub resolves it, else the newest. */
export function snapshotOf(repoDir: string, revision?: string): { path: string; revision: string } | undefined {
  const path = findSnapshot(repoDir, revision) ?? (revision === undefined ? newestSnapshot(repoDir) : undefined);
  return path ? { path, revision: basename(path) } : undefined;
}

/**
 * Finds the files of a transformers model: a local directory (a plain model
 * folder, a cache snapshot, or a `models--org--name` folder), or a hub id found
 * in a local cache. The revision found is pinned. A hub id not on disk is
 * allowed only when downloads are, with a warning; the cache is never written here.
 */
export function resolveTransformersModel(model: string, options: { revision?: string; cacheDirs: string[]; allowRemote: boolean }): ResolvedModel {
  const local = resolve(model);
  if (existsSync(local) && statSync(local).isDirectory()) {
    if (basename(local).startsWith('models--')) {
      const snap = snapshotOf(local, options.revision);
      if (!snap) throw new CorralError('INVALID_SERVICE', `${local} is a Hugging Face cache folder without a snapshot${options.revision ? ` for revision ${options.revision}` : ''}.`);
      return { modelPath: snap.path, revision: snap.revision };
    }
    const parent = basename(resolve(local, '..'));
    return { modelPath: local, revision: parent === 'snapshots' ? basename(local) : null };
  }
  if (!HUB_ID.test(model)) {
    throw new CorralError('INVALID_SERVICE', `Model '${model}' is neither a directory on this machine nor a Hugging Face id like 'org/name'.`);
  }
  for (const dir of options.cacheDirs) {
    const snap = snapshotOf(hubCacheRepoDir(dir, model), options.revision);
    if (snap) return { modelPath: snap.path, revision: snap.revision };
  }
  if (!options.allowRemote) {
    throw new CorralError('INVALID_SERVICE', `Model '${model}' is not in any local Hugging Face cache (${options.cacheDirs.join(', ')}) and downloads are off (CORRAL_ALLOW_REMOTE_MODELS=0).`);
  }
  return {
    modelPath: model,
    revision: options.revision ?? null,
    warning: `Model '${model}' is not on this machine; it will be downloaded to ${options.cacheDirs[0]} on first load.`,
  };
}
