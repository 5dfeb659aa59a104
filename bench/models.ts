/**
 * The models the benchmark serves: the iris classifier (tiny, HTTP-bound) and a
 * BERT-shaped encoder heavy enough (~7 ms per row on one core) that compute
 * dominates the HTTP overhead. Both are written as .onnx files into `dir`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEncoderModel, writeFixtureModels } from '../test/fixtures/index.js';

export const ENCODER_SHAPE = { hidden: 256, layers: 4, seq: 64 } as const;

export interface BenchModel {
  name: string;
  path: string;
  /** The one input, as the KServe request names and types it. */
  input: { name: string; datatype: 'FP32' | 'INT64'; rowShape: number[]; row: number[] };
  /** Outputs to request (all when undefined). */
  outputs: string[] | undefined;
  describe: string;
}

/** KServe v2 JSON body for one request of `rows` rows (the bench sends 1). */
export function inferBody(model: BenchModel, rows = 1): string {
  const { name, datatype, rowShape, row } = model.input;
  const data = Array.from({ length: rows }, () => row).flat();
  return JSON.stringify({
    inputs: [{ name, shape: [rows, ...rowShape], datatype, data }],
    ...(model.outputs ? { outputs: model.outputs.map((o) => ({ name: o })) } : {}),
  });
}

export function writeBenchModels(dir: string): BenchModel[] {
  mkdirSync(dir, { recursive: true });
  const fixtures = writeFixtureModels(dir);
  const encoderPath = join(dir, 'bench-encoder.onnx');
  writeFileSync(encoderPath, buildEncoderModel(ENCODER_SHAPE));
  return [
    {
      name: 'iris',
      path: fixtures.iris!,
      input: { name: 'float_input', datatype: 'FP32', rowShape: [4], row: [5.1, 3.5, 1.4, 0.2] },
      outputs: undefined,
      describe: 'iris logistic regression, float32[1,4] → label, probabilities',
    },
    {
      name: 'encoder',
      path: encoderPath,
      input: {
        name: 'input_ids', datatype: 'INT64', rowShape: [ENCODER_SHAPE.seq],
        row: Array.from({ length: ENCODER_SHAPE.seq }, (_, i) => (i * 37 + 11) % 1000),
      },
      outputs: ['pooled'],
      describe: `encoder hidden=${ENCODER_SHAPE.hidden} layers=${ENCODER_SHAPE.layers} seq=${ENCODER_SHAPE.seq}, int64[1,${ENCODER_SHAPE.seq}] → pooled`,
    },
  ];
}
