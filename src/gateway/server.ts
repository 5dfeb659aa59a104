import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { CorralConfig } from '../config/index.js';
import { buildApp } from './app.js';
import { createCorral, type Corral } from './corral.js';

export interface RunningServer {
  corral: Corral;
  app: FastifyInstance;
  /** Base URL the gateway listens on, e.g. http://127.0.0.1:8000 */
  url: string;
  close(): Promise<void>;
}

/** Starts a gateway with its workers and listens on config.host:config.port. */
export async function startServer(config: CorralConfig): Promise<RunningServer> {
  const corral = await createCorral(config);
  const app = await buildApp(corral);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // Workers are already running: a failed listen must not leave them behind.
    await app.close().catch(() => undefined);
    await corral.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // Listening on every interface: jobs elsewhere reach us by this machine's name.
  if (!config.publicUrl) corral.publicUrl = `http://${host === '0.0.0.0' || host === '[::]' ? hostname() : host}:${port}`;
  return {
    corral, app, url: `http://${host}:${port}`,
    async close() {
      await app.close();
      await corral.close();
    },
  };
}
