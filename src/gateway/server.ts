import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { ensureAdminKey } from '../auth/index.js';
import { isLoopbackHost } from '../net/address-kind.js';
import type { CorralConfig } from '../config/index.js';
import { startOtel, stopOtel } from '../tracing/index.js';
import { buildApp } from './app.js';
import { createCorral, type Corral } from './corral.js';
import { listenNeuralEnergy, type NeuralEnergyListener } from './neural-energy/listener.js';

export interface RunningServer {
  corral: Corral;
  app: FastifyInstance;
  /** Base URL the gateway listens on, e.g. http://127.0.0.1:8000 */
  url: string;
  /** With CORRAL_NE_PORT: the second address, serving only the Neural Energy routes. */
  neUrl?: string;
  /** The admin key made on this first start (also in CORRAL_HOME/admin.key), to print once. */
  newAdminKey?: string;
  close(): Promise<void>;
}

/**
 * CORRAL_AUTH=off opens every route; that is allowed only where no other machine can connect.
 * A service host in a cluster job (hostCredential set) is exempt: it binds every
 * interface, and its routes need the host credential whatever CORRAL_AUTH says.
 */
export function assertAuthModeAllowed(config: CorralConfig): void {
  if (config.auth.hostCredential !== undefined) return;
  if (config.auth.mode === 'off' && !isLoopbackHost(config.host)) {
    throw new Error(`CORRAL_AUTH=off is allowed only on a loopback address (127.0.0.1, ::1); refusing to serve every route without a key on ${config.host}. Remove CORRAL_AUTH=off, or bind 127.0.0.1.`);
  }
}

/** Starts a gateway with its workers and listens on config.host:config.port. */
export async function startServer(config: CorralConfig): Promise<RunningServer> {
  assertAuthModeAllowed(config);
  // OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set: before the app is built, whose hooks look once.
  await startOtel('corral-gateway');
  let corral: Corral;
  let app: FastifyInstance;
  try {
    corral = await createCorral(config);
    try {
      app = await buildApp(corral);
    } catch (err) {
      await corral.close();
      throw err;
    }
  } catch (err) {
    await stopOtel();
    throw err;
  }
  let newAdminKey: string | undefined;
  let ne: NeuralEnergyListener | undefined;
  try {
    newAdminKey = await ensureAdminKey(corral.keys, config.auth, config.home);
    await app.listen({ host: config.host, port: config.port });
    if (config.nePort !== undefined) ne = await listenNeuralEnergy(app, config.host, config.nePort);
  } catch (err) {
    // Workers are already running: a failed listen must not leave them behind.
    await ne?.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    await corral.close();
    await stopOtel();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // Listening on every interface: jobs elsewhere reach us by this machine's name.
  if (!config.publicUrl) corral.publicUrl = `http://${host === '0.0.0.0' || host === '[::]' ? hostname() : host}:${port}`;
  return {
    corral, app, url: `http://${host}:${port}`, neUrl: ne?.url, newAdminKey,
    async close() {
      await ne?.close();
      await app.close();
      await corral.close();
      // After the workers, which flush their own spans as they stop: the gateway's last spans go out.
      await stopOtel();
    },
  };
}
