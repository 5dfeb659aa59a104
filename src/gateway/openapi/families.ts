import type { FastifyInstance } from 'fastify';

/** An API family: one tag of the OpenAPI document and one group of GET /help. */
export interface Family {
  name: string;
  description: string;
}

/**
 * The families of the plugins app.ts registers, by the plugin's function name.
 * A plugin not listed here (a new API) still gets a family of its own, named
 * after its function (ollamaRoutes → "Ollama"), so no route goes undocumented.
 */
const KNOWN: Record<string, Family> = {
  mlbuffetRoutes: { name: 'MLBuffet', description: "MLBuffet's REST API: upload, describe, configure and query ONNX models; answers in MLBuffet's `http_status` envelope." },
  kserveRoutes: { name: 'KServe v2', description: 'KServe Open Inference Protocol v2 (REST), as Triton, KServe and TorchServe speak it.' },
  serviceRoutes: { name: 'Services', description: 'Services: named deployments of a model for a task, started here or as cluster jobs.' },
  laminoidRoutes: { name: 'Laminoid', description: "Laminoid's `/embed` and `/keyterms`, plus `/ocr`." },
  openaiRoutes: { name: 'OpenAI', description: 'The OpenAI API (models, embeddings, chat and text completions, streaming included), in its error envelope.' },
  tgiRoutes: { name: 'TGI', description: "Hugging Face Text Generation Inference's `/generate` and `/generate_stream`." },
  neuralEnergyRoutes: { name: 'Neural Energy', description: "The Neural Energy gateway's `/run`, `/list_servers`, `/system_status` and `/shutdown`." },
  ollamaRoutes: { name: 'Ollama', description: "Ollama's API (`/api/tags`, `/api/chat`, `/api/generate`, `/api/embed`, ...), streaming newline-delimited JSON." },
  profileRoutes: { name: 'Profiles', description: 'Profiles (where services run: this machine, a Slurm cluster or a box) and the model registry they see.' },
  boxRoutes: { name: 'Boxes', description: 'Boxes: the machines of the gce, ec2 and command profiles, listed, started and stopped (never created).' },
  laminoidControllerRoutes: { name: 'Laminoid controller', description: "Laminoid's controller API (`/api/instance/...`, all GET) over the boxes, in the shapes of GCE's instances and operations." },
  trainingRoutes: { name: 'Training', description: "MLBuffet's trainer: upload a training script, its requirements and a dataset; the model it writes is registered in the repository. Jobs are listed, followed and cancelled here." },
  jobRoutes: { name: 'Jobs', description: 'Asynchronous jobs (any task route, queued, with webhooks) and the worker list.' },
  eventRoutes: { name: 'Events', description: 'Server-sent events: services, models, workers and jobs as they change.' },
  keyRoutes: { name: 'Keys', description: 'API keys, their scopes and quotas, and the audit log (admin).' },
  sessionRoutes: { name: 'Session', description: "The web UI's login session (a cookie standing for an API key)." },
  metricsRoute: { name: 'Metrics', description: 'Prometheus metrics, and the same sampled over time for charts.' },
  uiRoutes: { name: 'Web UI', description: "The web UI's pages and files." },
  openApiRoutes: { name: 'OpenAPI', description: 'This document, and the interactive page that shows it.' },
};
// Plugins that add routes to a family another plugin owns.
KNOWN.serviceLogRoutes = KNOWN.serviceRoutes!;
KNOWN.predictRoute = KNOWN.serviceRoutes!;
KNOWN.serviceProxyRoutes = KNOWN.serviceRoutes!;
KNOWN.auditRoutes = KNOWN.keyRoutes!;
KNOWN.trainingJobRoutes = KNOWN.trainingRoutes!;

/** The routes registered on the root instance itself (none today). */
export const GATEWAY: Family = { name: 'Gateway', description: 'Routes of the gateway itself.' };

/** "ollamaRoutes" → "Ollama", "neuralEnergyRoutes" → "Neural Energy". */
export function familyName(pluginName: string): string {
  const base = pluginName.replace(/Routes?$/, '').replace(/[^A-Za-z0-9]+/g, ' ').trim();
  const words = base.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(' ').filter((w) => w !== '');
  return words.length === 0 ? pluginName : words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');
}

export function familyOfPlugin(pluginName: string): Family {
  const name = familyName(pluginName);
  return KNOWN[pluginName] ?? { name, description: `The ${name} API.` };
}

/**
 * The plugin instance app.ts registered that `instance` belongs to: Fastify
 * makes each encapsulated plugin's instance with Object.create(parent), so
 * its prototype chain leads back to the root. Undefined for the root itself.
 */
export function topPlugin(instance: FastifyInstance, root: FastifyInstance): FastifyInstance | undefined {
  let current = instance;
  for (;;) {
    const parent = Object.getPrototypeOf(current) as FastifyInstance | null;
    if (current === root || parent === null) return undefined;
    if (parent === root) return current;
    current = parent;
  }
}

/** The name of the plugin function that made `instance` (its pluginName is a chain "own -> fastify-plugin children"). */
export function ownPluginName(instance: FastifyInstance): string {
  const own = instance.pluginName.split(' -> ')[0] ?? '';
  // Fastify names a plugin loaded through require() by its file path; its base name is the family's.
  return own.includes('/') ? own.slice(own.lastIndexOf('/') + 1).replace(/\.[cm]?[jt]s$/, '') : own;
}
