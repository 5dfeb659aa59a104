import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { NE_PATHS } from './routes.js';

export interface NeuralEnergyListener {
  url: string;
  close(): Promise<void>;
}

const pathOf = (url = '/') => {
  const path = url.split('?')[0]!;
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
};

/**
 * CORRAL_NE_PORT: a second address (Neural Energy's clients expect 5002) that
 * serves only the Neural Energy routes. Requests go through the gateway's own
 * router (`app.routing`), so guards, auth, quotas and metrics are the same as
 * on the main port; any other path is 404 here.
 */
export async function listenNeuralEnergy(app: FastifyInstance, host: string, port: number): Promise<NeuralEnergyListener> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (NE_PATHS.includes(pathOf(req.url))) return app.routing(req, res);
    const body = JSON.stringify({
      ERROR: `No route ${req.method} ${pathOf(req.url)} on the Neural Energy port; it serves ${NE_PATHS.join(', ')}. Corral's other APIs are on its main port.`,
      code: 'NOT_FOUND',
    });
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => {
      // Requests in flight are answered; idle keep-alive connections are closed now.
      server.close(() => resolve());
      server.closeIdleConnections();
      // A keep-alive connection that outlives its last answer is not kept open for long.
      setTimeout(() => server.closeAllConnections(), 5000).unref();
    }),
  };
}
