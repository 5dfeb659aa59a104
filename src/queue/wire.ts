import { deserialize, serialize } from 'node:v8';
import type { ModelRef } from '../runtimes/runtime.js';

/**
 * An inference job: the batch (`toWire`), and its time limit as the gateway set
 * it: `deadline` (epoch ms, so the machines' clocks are assumed in step, as NTP
 * keeps them) and the model's `timeoutMs`. Absent from jobs of older gateways.
 */
export interface JobData {
  ref: ModelRef;
  input: string;
  timeoutMs?: number;
  deadline?: number;
  /** Ids of the batch's requests (X-Request-Id at the gateway), for the worker's log lines. */
  requestIds?: string[];
  /** With OpenTelemetry on at the gateway: the batch span's W3C traceparent and its other requests' (links), for the compute span. */
  traceparent?: string;
  links?: string[];
}

/**
 * What a worker returns for a job: the output (`toWire`) and its own run time
 * of the batch. Workers of older versions return the output string alone.
 */
export interface JobResult {
  output: string;
  computeMs?: number;
}

/** The output and run time of a job's return value, whichever shape it has. */
export function readJobResult(value: unknown): { output: unknown; computeMs?: number } {
  if (typeof value === 'string') return { output: fromWire(value) };
  const result = value as JobResult;
  return { output: fromWire(result.output), computeMs: typeof result.computeMs === 'number' ? result.computeMs : undefined };
}

/**
 * BullMQ stores job data as JSON; inputs and outputs hold typed arrays and
 * BigInts, so they travel as base64 of the v8 serialization.
 */
export const toWire = (value: unknown): string => serialize(value).toString('base64');
export const fromWire = <T>(text: string): T => deserialize(Buffer.from(text, 'base64')) as T;

/** Failures cross Redis as text; the catalog code rides in front so the gateway can restore it. */
export const encodeFailure = (code: string, message: string) => `CORRAL:${code}:${message}`;

export function decodeFailure(reason: string | undefined): { code: string; message: string } {
  const m = /^CORRAL:([A-Z_]+):([\s\S]*)$/.exec(reason ?? '');
  return m ? { code: m[1]!, message: m[2]! } : { code: 'INFERENCE_FAILED', message: reason || 'the job failed without a reason' };
}
