import ora from 'ora';
import { api, type Gateway } from './api-client.js';

interface ServiceState { id: string; name: string; status: string; reason: string | null }

/**
 * Polls a service until it reaches one of `done`, with a spinner on a
 * terminal (silent otherwise). Bounded by `timeoutMs`.
 */
export async function waitForState(gateway: Gateway, id: string, done: string[], timeoutMs: number, label: string): Promise<ServiceState> {
  const spinner = process.stderr.isTTY ? ora({ text: label, stream: process.stderr }).start() : undefined;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const service = await api<ServiceState>(gateway, 'GET', `/api/services/${encodeURIComponent(id)}`);
      if (spinner) spinner.text = `${label} (${service.status})`;
      if (done.includes(service.status)) {
        spinner?.stop();
        return service;
      }
      if (Date.now() > deadline) {
        spinner?.stop();
        return service;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    spinner?.stop();
  }
}
