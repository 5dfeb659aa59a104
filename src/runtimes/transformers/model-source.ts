// Where a transformers model's files come from: a local directory, a snapshot in a
// Hugging Face hub cache (models--org--name/snapshots/<commit>), or the hub itself.
// Resolved before transformers.js is called so a missing model fails fast, with a
// clear message and without any network call when remote models are disabled.

import { existsSync, statSync } from 'node:fs';
import { findSnapshot, hubCacheRepoDir } from '../../registry/hub-cache.js';
import { isAbsolute, join, resolve } from 'node:path';
import type { RuntimeEnv } from '../runtime.js';

export interface ModelSource {
  /** What transformers.js loads: an absolute directory, or a hub id ("org/name"). */
  model: string;
  /** The directory holding the files, when it is known before loading. */
  dir?: string;
  /** Forbid transformers.js any download (its `local_files_only`). */
  localFilesOnly: boolean;
}

/** The hub's repo id syntax ("name" or "org/name"), as transformers.js checks it. */
const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]{1,96}$/;

export function isHubId(path: string): boolean {
  return REPO_ID.test(path) && !path.includes('..') && !path.includes('--') && !path.startsWith('.') && !isAbsolute(path);
}

const hasConfig = (dir: string) => existsSync(join(dir, 'config.json'));

function localDirectory(path: string, revision?: string): ModelSource {
  const dir = resolve(path);
  if (!statSync(dir).isDirectory()) {
    throw new Error(
      `transformers model path ${dir} is a file; expected a model directory (config.json, tokenizer.json, onnx/model.onnx)`,
    );
  }
  if (!hasConfig(dir)) {
    // A huggingface_hub repo folder (models--org--name) rather than one of its snapshots.
    const snapshot = findSnapshot(dir, revision);
    if (snapshot && hasConfig(snapshot)) return { model: snapshot, dir: snapshot, localFilesOnly: true };
    throw new Error(`transformers model directory ${dir} has no config.json: not a Hugging Face model directory`);
  }
  return { model: dir, dir, localFilesOnly: true };
}

/** Resolves `path` (local dir, hub cache snapshot dir, or hub id) without touching the network. */
export function resolveModelSource(path: string, env: RuntimeEnv, revision?: string): ModelSource {
  if (existsSync(path)) return localDirectory(path, revision);
  if (!isHubId(path)) throw new Error(`transformers model directory not found: ${resolve(path)}`);

  const repoDir = hubCacheRepoDir(env.modelCacheDir, path);
  const snapshot = findSnapshot(repoDir, revision);
  if (snapshot && hasConfig(snapshot)) return { model: snapshot, dir: snapshot, localFilesOnly: true };

  // transformers.js's own cache layout: <cacheDir>/<org>/<name>[/<revision>]/…
  const jsCache = revision && revision !== 'main' ? join(env.modelCacheDir, path, revision) : join(env.modelCacheDir, path);
  if (hasConfig(jsCache)) return { model: path, dir: jsCache, localFilesOnly: !env.allowRemoteModels };

  if (!env.allowRemoteModels) {
    throw new Error(
      `transformers model '${path}' not found: it is not a local directory and not in the model cache ` +
        `(${repoDir} or ${jsCache}), and remote model downloads are disabled (CORRAL_ALLOW_REMOTE_MODELS)`,
    );
  }
  return { model: path, localFilesOnly: false };
}
