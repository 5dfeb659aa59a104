import type { ServiceRecord } from './service-record.js';

/**
 * Where a line came from: a worker process's standard output or error (local
 * services), the Slurm job's output file (stdout and stderr together), or
 * Corral itself (the service's state changes).
 */
export type LogStream = 'stdout' | 'stderr' | 'job' | 'event';

export interface LogLine {
  /** When Corral saw the line (epoch ms). */
  t: number;
  stream: LogStream;
  text: string;
}

/** Reads a job's output file from a byte offset: the launcher's side of a job-backed service's log. */
export interface JobLogReader {
  /**
   * Bytes of the service's job log from `offset` on, at most `maxBytes`; a
   * negative offset means the last `maxBytes`. `start` is where the text
   * begins (0 again when the file was rewritten), `next` where to read on.
   */
  readLog(serviceId: string, offset: number, maxBytes: number): Promise<{ start: number; next: number; text: string }>;
}

export interface ServiceLogsOptions {
  /** Lines kept per service (default 2000). */
  maxLines?: number;
  /** Bytes of text kept per service (default 1 MiB). */
  maxBytes?: number;
  /** The reader of a job-backed service's log, by its profile; undefined for local services. */
  jobLog?: (service: ServiceRecord) => JobLogReader | undefined;
}

/** Longest line kept; the rest is cut off with a marker. */
const MAX_LINE = 8192;
/** Colour and cursor codes of a terminal (onnxruntime colours its warnings). */
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/g;
/** Most bytes of a job log read at once. */
const READ_BYTES = 256 * 1024;

type Listener = (line: LogLine | null) => void;

/** The last lines of one service, bounded by count and bytes, with listeners for new ones. */
class LogBuffer {
  readonly lines: LogLine[] = [];
  readonly listeners = new Set<Listener>();
  bytes = 0;
  /** Job log read state: the job it belongs to, and where to read on (-1: not read yet). */
  job: string | null = null;
  offset = -1;
  partial = '';
  reading: Promise<void> | undefined;

  constructor(private readonly maxLines: number, private readonly maxBytes: number) {}

  push(line: LogLine): void {
    this.lines.push(line);
    this.bytes += line.text.length;
    let drop = 0;
    while (this.lines.length - drop > this.maxLines || (this.bytes > this.maxBytes && this.lines.length - drop > 1)) {
      this.bytes -= this.lines[drop]!.text.length;
      drop++;
    }
    if (drop > 0) this.lines.splice(0, drop);
    for (const listener of this.listeners) listener(line);
  }
}

/**
 * A bounded log per service, kept in memory: for a local service, what the
 * worker processes print while they run it (they are shared, so a line goes to
 * every service the worker was running, or had just run, when it printed it)
 * and its state changes; for a Slurm service, its state changes and the job's
 * output file, read through the launcher from the path the launcher gave the
 * job (never a path from a request).
 */
export class ServiceLogs {
  readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly buffers = new Map<string, LogBuffer>();
  /** Each service as last seen by stateChanged, to tell what changed. */
  private readonly known = new Map<string, ServiceRecord>();

  constructor(private readonly options: ServiceLogsOptions = {}) {
    this.maxLines = options.maxLines ?? 2000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
  }

  /** Appends text (split into lines) to a service's log. */
  append(serviceId: string, stream: LogStream, text: string, t = Date.now()): void {
    const buffer = this.buffer(serviceId);
    for (const line of text.replace(/\r?\n$/, '').split(/\r?\n/)) {
      buffer.push({ t, stream, text: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)} …[cut]` : line });
    }
  }

  /** The last `n` lines held now. */
  last(serviceId: string, n: number): LogLine[] {
    const lines = this.buffers.get(serviceId)?.lines ?? [];
    return n <= 0 ? [] : lines.slice(-n);
  }

  /** Calls `listener` with each new line of a service, and with null when the service is deleted. Returns the unsubscribe. */
  subscribe(serviceId: string, listener: Listener): () => void {
    const buffer = this.buffer(serviceId);
    buffer.listeners.add(listener);
    return () => buffer.listeners.delete(listener);
  }

  /** Reads what a job-backed service's job wrote since the last read into its log; nothing for local services. */
  readJobLog(service: ServiceRecord): Promise<void> {
    const reader = service.profile === 'local' ? undefined : this.options.jobLog?.(service);
    // A job waiting in the queue has not written yet (its file may still be the previous run's).
    if (!reader || !service.jobId || service.status === 'SUBMITTED') return Promise.resolve();
    const buffer = this.buffer(service.id);
    buffer.reading ??= this.read(reader, service, buffer).finally(() => { buffer.reading = undefined; });
    return buffer.reading;
  }

  /** A line from a worker process, for the services it names (terminal colour codes removed). */
  workerOutput(serviceIds: readonly string[], stream: 'stdout' | 'stderr', text: string): void {
    const plain = text.replace(ANSI_ESCAPE, '');
    for (const id of new Set(serviceIds)) this.append(id, stream, plain);
  }

  /** How many follow a service's log now. */
  followers(serviceId: string): number {
    return this.buffers.get(serviceId)?.listeners.size ?? 0;
  }

  /** A service as the registry recorded it: one event line when its state, job, endpoint or reason changed. */
  stateChanged(service: ServiceRecord): void {
    const previous = this.known.get(service.id);
    this.known.set(service.id, service);
    if (previous && previous.status === service.status && previous.reason === service.reason && previous.endpoint === service.endpoint && previous.jobId === service.jobId) return;
    const head = !previous ? `${service.status} (profile ${service.profile})`
      : previous.status === service.status ? service.status : `${previous.status} → ${service.status}`;
    const parts = [head];
    if (service.jobId && service.jobId !== previous?.jobId) parts.push(`job ${service.jobId}`);
    if (service.endpoint && service.endpoint !== previous?.endpoint) parts.push(`at ${service.endpoint}`);
    if (service.reason) parts.push(service.reason);
    this.append(service.id, 'event', parts.join(': '));
  }

  /** Drops a deleted service's log and ends its followers. */
  forget(serviceId: string): void {
    const buffer = this.buffers.get(serviceId);
    this.buffers.delete(serviceId);
    this.known.delete(serviceId);
    for (const listener of buffer?.listeners ?? []) listener(null);
  }

  private buffer(serviceId: string): LogBuffer {
    let buffer = this.buffers.get(serviceId);
    if (!buffer) this.buffers.set(serviceId, buffer = new LogBuffer(this.maxLines, this.maxBytes));
    return buffer;
  }

  private async read(reader: JobLogReader, service: ServiceRecord, buffer: LogBuffer): Promise<void> {
    // A new job (the service was started again) writes its file anew.
    if (buffer.job !== service.jobId) {
      buffer.offset = buffer.job === null ? -1 : 0;
      buffer.job = service.jobId;
      buffer.partial = '';
    }
    for (;;) {
      const from = buffer.offset;
      const { start, next, text } = await reader.readLog(service.id, from, READ_BYTES);
      if (this.buffers.get(service.id) !== buffer) return; // deleted meanwhile
      if (from >= 0 && start < from) buffer.partial = ''; // the file was rewritten (a requeued job)
      let chunk = buffer.partial + text;
      // Reading from the middle of the file: its first line is cut, skip it.
      if (from < 0 && start > 0) chunk = chunk.slice(chunk.indexOf('\n') + 1);
      const end = chunk.lastIndexOf('\n');
      buffer.partial = chunk.slice(end + 1);
      if (end >= 0) this.append(service.id, 'job', chunk.slice(0, end));
      buffer.offset = next;
      if (next - start < READ_BYTES) return;
    }
  }
}
