import type { Ora } from 'ora';
import { api, type Gateway } from './api-client.js';

/**
 * A spinner on stderr when it is a terminal (none otherwise). ora is imported only
 * then, so `corral start` (the gateway) never loads it.
 */
export async function startSpinner(label: string): Promise<Ora | undefined> {
  if (!process.stderr.isTTY) return undefined;
  const { default: ora } = await import('ora');
  return ora({ text: label, stream: process.stderr }).start();
}

interface ServiceState { id: string; name: string; status: string; reason: string | null }

/**
 * Polls a service until it reaches one of `done`, with a spinner on a
 * terminal (silent otherwise). Bounded by `timeoutMs`.
 */
export async function waitForState(gateway: Gateway, id: string, done: string[], timeoutMs: number, label: string): Promise<ServiceState> {
  const spinner = await startSpinner(label);
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
