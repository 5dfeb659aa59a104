import type { KeyChangeBus } from '../auth/key-store.js';

/**
 * What changed in the shared state, told to every gateway of a deployment, so each
 * refreshes its in-memory copy (models, services, keys) within a second. Each
 * topic carries the id of the row that changed; the receiver reads it back from
 * the database, so a lost or doubled message costs a read, never a wrong copy.
 */
export type ChangeTopic = 'models' | 'services' | 'keys';

export interface ChangeBus {
  publish(topic: ChangeTopic, id: string): Promise<void>;
  /** Calls `listener` for every change of `topic`, including this gateway's own. */
  subscribe(topic: ChangeTopic, listener: (id: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** Dispatches received changes to the listeners of their topic. */
export class TopicListeners {
  private readonly listeners = new Map<ChangeTopic, Array<(id: string) => void>>();

  add(topic: ChangeTopic, listener: (id: string) => void): void {
    this.listeners.set(topic, [...(this.listeners.get(topic) ?? []), listener]);
  }

  /** A message from another gateway: `{"topic": ..., "id": ...}`; anything else is ignored. */
  deliver(message: string): void {
    let change: { topic?: unknown; id?: unknown };
    try {
      change = JSON.parse(message) as typeof change;
    } catch {
      return;
    }
    if (typeof change.id !== 'string') return;
    for (const listener of this.listeners.get(change.topic as ChangeTopic) ?? []) listener(change.id);
  }
}

export const changeMessage = (topic: ChangeTopic, id: string) => JSON.stringify({ topic, id });

/** The key store's view of a bus: the ids of keys changed (revoked, edited) on any gateway. */
export function keyChangesOf(bus: ChangeBus): KeyChangeBus {
  return {
    publish: (keyId) => bus.publish('keys', keyId),
    subscribe: (listener) => bus.subscribe('keys', listener),
    close: async () => undefined, // the bus is the deployment's; corral.close() closes it
  };
}
