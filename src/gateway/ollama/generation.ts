import type { FastifyReply } from 'fastify';
import { toCorralError } from '../../errors/index.js';
import type { GenerateChunk, GenerateInput, GenerateOutput } from '../../runtimes/task-io.js';
import type { ServiceRecord, ServiceRunner } from '../../services/index.js';
import { openNdjsonStream } from './ndjson.js';
import { traceOf } from '../request-trace.js';

/** One line of a generate or chat answer with `text` as its piece (the route shapes it). */
export type Frame = (text: string, done: boolean) => Record<string, unknown>;

const clock = () => process.hrtime.bigint();
const ns = (d: bigint) => Number(d);

/**
 * Runs one generation the Ollama way: pieces as NDJSON lines and a last line
 * with `done_reason`, token counts and durations in nanoseconds, or all of it
 * in one object. The prompt phase ends at the first piece (Corral loads models
 * on first use and cannot tell loading apart, so load_duration is 0).
 */
export async function ollamaGeneration(runner: ServiceRunner, reply: FastifyReply, service: ServiceRecord, input: GenerateInput, stream: boolean, frame: Frame) {
  const started = clock();
  let first: bigint | undefined;
  const summary = (out: GenerateOutput) => {
    const end = clock();
    const firstAt = first ?? end;
    return {
      done_reason: out.finishReason,
      total_duration: ns(end - started),
      load_duration: 0,
      prompt_eval_count: out.promptTokens,
      prompt_eval_duration: ns(firstAt - started),
      eval_count: out.completionTokens,
      eval_duration: ns(end - firstAt),
    };
  };
  if (!stream) {
    const out = await runner.run<GenerateOutput>(service, input, () => { first ??= clock(); }, traceOf(reply.request));
    return { ...frame(out.text, true), ...summary(out) };
  }
  runner.assertReady(service); // before the stream opens, so a 503 is still a plain JSON error
  const trace = traceOf(reply.request);
  const lines = openNdjsonStream(reply, trace);
  try {
    const out = await runner.run<GenerateOutput>(service, input, (chunk) => {
      first ??= clock();
      const text = (chunk as GenerateChunk).text;
      if (text) lines.send(frame(text, false));
    }, trace);
    lines.send({ ...frame('', true), ...summary(out) });
  } catch (err) {
    // After the first line the status is sent: Ollama's clients raise an error line.
    lines.send({ error: toCorralError(err).message });
  }
  lines.end();
  return reply;
}
