/**
 * Section `binary`: Triton's binary tensor extension vs plain JSON on the same
 * KServe route. The cnn fixture with a 3×64×64 input, 8 rows per request, at
 * c=16 for the same duration: binary request + binary response against JSON
 * request + JSON response. Both bodies are checked to give the same answer first.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { joinHeaderAndBinary, tensorFromBinary, tensorToBinary } from '../src/gateway/kserve/binary-tensors.js';
import { tensorDataToJson } from '../src/runtimes/index.js';
import { buildCnnModel, CNN_CLASSES } from '../test/fixtures/index.js';
import { drain, inferUrl } from './bench-server.js';
import type { BenchContext } from './context.js';
import { workerPids } from './kserve-bench.js';
import { describeRun, measure, type HttpRun } from './measure.js';
import { inferBody, type BenchModel } from './models.js';

export const BINARY_CONCURRENCY = 16;
export const BINARY_ROWS = 8;
export const BINARY_TARGET_RATIO = 1.5;
const SIZE = 64;

export interface BinarySection {
  model: string;
  describe: string;
  route: string;
  rowsPerRequest: number;
  concurrency: number;
  /** Request body sizes. */
  bodyBytes: { json: number; binary: number };
  json: HttpRun;
  binary: HttpRun;
  /** binary req/s / JSON req/s. */
  ratio: number;
  targetRatio: number;
  meetsTarget: boolean;
}

function cnn64(dir: string): BenchModel {
  const path = join(dir, 'bench-cnn64.onnx');
  writeFileSync(path, buildCnnModel({ size: SIZE }));
  // Multiples of 1/256: exact in float32 and short in JSON, which favours JSON if anything.
  const row = Array.from({ length: 3 * SIZE * SIZE }, (_, i) => ((i * 37 + 11) % 256) / 256);
  return {
    name: 'cnn64', path, outputs: undefined,
    input: { name: 'image', datatype: 'FP32', rowShape: [3, SIZE, SIZE], row },
    describe: `cnn fixture at ${SIZE}x${SIZE}, float32[${BINARY_ROWS},3,${SIZE},${SIZE}] → probabilities[${BINARY_ROWS},${CNN_CLASSES}]`,
  };
}

/** The binary body of the same request as inferBody(model, rows), asking for binary outputs too. */
function binaryBody(model: BenchModel, rows: number): { body: Buffer; headerLength: number } {
  const { name, datatype, rowShape, row } = model.input;
  const shape = [rows, ...rowShape];
  const bytes = tensorToBinary({ datatype, shape, data: Float32Array.from({ length: rows * row.length }, (_, i) => row[i % row.length]!) });
  const header = { parameters: { binary_data_output: true }, inputs: [{ name, shape, datatype, parameters: { binary_data_size: bytes.byteLength } }] };
  return joinHeaderAndBinary(header, [bytes]);
}

/** One request each way; the bench measures nothing unless both give the same probabilities. */
async function checkSameAnswer(url: string, jsonBody: string, binary: { body: Buffer; headerLength: number }): Promise<void> {
  const viaJson = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody });
  if (viaJson.status !== 200) throw new Error(`JSON request answered ${viaJson.status}: ${await viaJson.text()}`);
  const expected = ((await viaJson.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(binary.headerLength) }, body: binary.body });
  const answer = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`binary request answered ${res.status}: ${answer.toString()}`);
  const headerLength = Number(res.headers.get('inference-header-content-length'));
  const out = (JSON.parse(answer.subarray(0, headerLength).toString()) as { outputs: { name: string; shape: number[] }[] }).outputs[0]!;
  const got = tensorDataToJson(tensorFromBinary(out.name, 'FP32', out.shape, answer.subarray(headerLength)));
  if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error('the binary answer differs from the JSON answer');
}

export async function binarySection(ctx: BenchContext): Promise<BinarySection> {
  const { options, log } = ctx;
  const { server } = await ctx.shared();
  const model = cnn64(ctx.home);
  await ctx.ensureModel(model);
  const url = inferUrl(server.url, model);
  const jsonBody = inferBody(model, BINARY_ROWS);
  const binary = binaryBody(model, BINARY_ROWS);
  // Both bodies go to the load client as files: a megabyte of JSON is too long for its argv.
  const jsonFile = join(ctx.home, 'binary-section-json.json');
  const binaryFile = join(ctx.home, 'binary-section-binary.bin');
  writeFileSync(jsonFile, jsonBody);
  writeFileSync(binaryFile, binary.body);
  await checkSameAnswer(url, jsonBody, binary);
  log(`binary: ${model.describe}; request bodies ${jsonBody.length} bytes JSON, ${binary.body.length} bytes binary; answers checked equal`);

  const run = (what: string, bodyFile: string, headers: Record<string, string>) => measure({
    gatewayUrl: server.url, target: model.name,
    spec: { url, body: '', bodyFile, headers, connections: BINARY_CONCURRENCY, durationSec: options.durationSec, warmupSec: options.warmupSec },
    pids: () => workerPids(server),
    drain: () => drain(server, [model]),
  }).then((r) => (log(`binary ${what} c=${BINARY_CONCURRENCY}: ${describeRun(r)}`), r));
  const json = await run('JSON in/out', jsonFile, { 'content-type': 'application/json' });
  const bin = await run('binary in/out', binaryFile, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(binary.headerLength) });
  const ratio = bin.load.reqPerSec / json.load.reqPerSec;
  return {
    model: model.name, describe: model.describe, route: 'POST /v2/models/<name>/infer', rowsPerRequest: BINARY_ROWS, concurrency: BINARY_CONCURRENCY,
    bodyBytes: { json: Buffer.byteLength(jsonBody), binary: binary.body.length },
    json, binary: bin, ratio, targetRatio: BINARY_TARGET_RATIO, meetsTarget: ratio >= BINARY_TARGET_RATIO,
  };
}

/** The section's lines in the printed report. */
export function binaryBlock(b: BinarySection): string[] {
  const row = (what: string, r: HttpRun) => `  ${what.padEnd(14)} ${r.load.reqPerSec.toFixed(1).padStart(8)} req/s  ${(r.load.reqPerSec * b.rowsPerRequest).toFixed(0).padStart(7)} rows/s  p50 ${r.load.latencyMs.p50.toFixed(2)} ms  p99 ${r.load.latencyMs.p99.toFixed(2)} ms  errors ${r.load.errors}  non-2xx ${r.load.non2xx}  gateway cpu ${r.cpu.gatewayPct.toFixed(0)}%`;
  return [
    `== binary: ${b.route} on ${b.model} (${b.describe}), ${b.rowsPerRequest} rows per request at c=${b.concurrency}: Triton binary tensors vs JSON`,
    `  request bodies: JSON ${b.bodyBytes.json} bytes, binary ${b.bodyBytes.binary} bytes`,
    row('JSON in/out', b.json),
    row('binary in/out', b.binary),
    `target: binary >= x${b.targetRatio} JSON req/s: x${b.ratio.toFixed(2)}  ${b.meetsTarget ? 'MEETS target' : 'BELOW target'}`,
  ];
}
