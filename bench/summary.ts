/**
 * One table of the ratios each section is judged by, with its target beside it:
 * the first thing `npm run bench` prints at the end and `summary` in latest.json.
 */
import type { BenchResults } from './results.js';

/** The keyterms F1@5 the regression test holds (test/runtimes/keyterms-quality.test.ts). */
const KEYTERMS_F1_FLOOR = 0.73;

export interface SummaryRow {
  measure: string;
  value: number;
  /** "≥ 0.85", "≤ 120": the direction and the bound. */
  target: string;
  meets: boolean;
}

const atLeast = (measure: string, value: number, bound: number): SummaryRow => ({ measure, value, target: `≥ ${bound}`, meets: value >= bound });
const atMost = (measure: string, value: number, bound: number): SummaryRow => ({ measure, value, target: `≤ ${bound}`, meets: value <= bound });

export function summaryRows(r: Omit<BenchResults, 'summaryTable'>): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const s of r.summary) rows.push(atLeast(`served / raw onnxruntime, ${s.model} c=${s.concurrency}`, s.ratio, r.target.ratio));
  if (r.binary) rows.push(atLeast('KServe binary / JSON req/s (cnn 8x3x64x64)', r.binary.ratio, r.binary.targetRatio));
  if (r.varlen) rows.push(atLeast('mixed lengths / uniform, tokens/s (masked encoder)', r.varlen.ratio, r.varlen.targetRatio));
  if (r.generation) rows.push(atLeast('batched / unbatched generation, tokens/s c=8 vs c=1', r.generation.tokensPerSecRatio, r.generation.targetRatio));
  if (r.auth) rows.push(atLeast('auth on / off req/s', r.auth.ratio, 1 - r.auth.maxCost));
  if (r.ocrAccuracy) {
    const by = Object.fromEntries(r.ocrAccuracy.engines.map((e) => [e.engine, e]));
    const [auto, paddle, tesseract] = [by.auto, by.paddle, by['tesseract-js']];
    if (auto && paddle && tesseract) {
      const pct = (x: number) => Math.round(x * 10_000) / 100;
      rows.push(atMost('OCR auto CER % on documents (bound: tesseract)', pct(auto.document.cer), pct(tesseract.document.cer)));
      rows.push(atMost('OCR auto CER % on scenes (bound: paddle)', pct(auto.scene.cer), pct(paddle.scene.cer)));
      rows.push(atMost('OCR auto / faster engine, median ms an image', auto.all.medianMs / Math.min(paddle.all.medianMs, tesseract.all.medianMs), 1.5));
    }
  }
  if (r.keytermsQuality) rows.push(atLeast('keyterms F1@5 on the labelled paragraphs', r.keytermsQuality.f1, KEYTERMS_F1_FLOOR));
  if (r.footprint) {
    const f = r.footprint;
    rows.push(atMost('gateway resident idle, MB', f.gatewayIdleMb, f.targets.gatewayIdleMb));
    rows.push(atMost('npm start to /v2/health/ready, ms', f.startupMs, f.targets.startupMs));
    rows.push(atMost('idle worker resident before its first model, MB', f.workerIdleMb, f.targets.workerIdleMb));
  }
  return rows;
}

export function summaryBlock(rows: SummaryRow[]): string[] {
  if (rows.length === 0) return [];
  const width = Math.max(...rows.map((row) => row.measure.length));
  return [
    'summary',
    ...rows.map((row) => `  ${row.measure.padEnd(width)}  ${row.value.toFixed(row.value >= 100 ? 0 : 2).padStart(7)}  ${row.target.padEnd(7)}  ${row.meets ? 'ok' : 'MISSED'}`),
  ];
}
