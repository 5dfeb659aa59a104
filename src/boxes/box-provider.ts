/**
 * A box is a machine that already exists in some cloud (or behind any start and
 * stop commands): Corral lists, starts and stops it and never creates or deletes
 * one, like Laminoid's controller. Liveness comes from the provider's API, not
 * from SSH retries.
 */
export const BOX_STATES = ['STOPPED', 'STARTING', 'RUNNING', 'STOPPING', 'PREEMPTED', 'MISSING'] as const;
export type BoxState = (typeof BOX_STATES)[number];

/** A box can be started only from these (a preempted spot box is restarted the same way). */
export const STARTABLE: ReadonlySet<BoxState> = new Set(['STOPPED', 'PREEMPTED']);

export interface BoxStatus {
  /** The instance's name (gce, command) or id (ec2), as the profile lists it. */
  instance: string;
  state: BoxState;
  /** gce's zone, ec2's availability zone, when the provider knows it. */
  zone?: string;
  /** Where SSH reaches the box while it runs (its public address, else its private one). */
  address?: string;
  /** The provider's own word for the state (TERMINATED, stopped, ...), for people. */
  providerState?: string;
  /** Why the box is in its state, when the provider says (a preemption, a state reason). */
  reason?: string;
}

/**
 * One profile's boxes at one provider. `start` and `stop` ask the provider and
 * return the state right after asking (usually STARTING or STOPPING); they do not
 * wait for the box to get there. The rules of when a box may start are the
 * BoxController's, not the provider's.
 */
export interface BoxProvider {
  readonly type: 'gce' | 'ec2' | 'command';
  /** Every instance the profile names, with its state (MISSING for one the provider does not know). */
  list(): Promise<BoxStatus[]>;
  status(instance: string): Promise<BoxStatus>;
  start(instance: string): Promise<BoxStatus>;
  stop(instance: string): Promise<BoxStatus>;
}
