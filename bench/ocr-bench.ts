/**
 * Section `ocr`: images per second through POST /ocr (multipart field `file`,
 * one 800x200 line of text) with the built-in PaddleOCR service. OCR takes
 * ~0.2 s an image, so each run is a fixed number of images, not a duration.
 */
import { drainKeys } from './bench-server.js';
import type { BenchContext } from './context.js';
import { workerPids } from './kserve-bench.js';
import { describeRun, measure, type HttpRun } from './measure.js';
import type { OcrSection } from './results.js';
import { OCR_LINE, ocrOnce, serviceInfo, serviceKey, writeOcrUpload } from './services.js';

const OCR_SERVICE = 'ocr';
export const OCR_CONCURRENCIES = [1, 4];

export async function ocrSection(ctx: BenchContext): Promise<OcrSection> {
  const { server } = await ctx.shared();
  const { options, log } = ctx;
  const upload = await writeOcrUpload(ctx.home);
  // The first request loads PaddleOCR in a worker (seconds); a few more settle it.
  const started = performance.now();
  const recognized = await ocrOnce(server, upload);
  log(`ocr warm-up: first image read as ${JSON.stringify(recognized)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (!recognized.toLowerCase().includes('corral')) log(`WARNING: OCR read ${JSON.stringify(recognized)}, expected ${JSON.stringify(OCR_LINE)}`);
  for (let i = 0; i < 2; i++) await ocrOnce(server, upload);
  const key = serviceKey(server, OCR_SERVICE);
  await drainKeys(server, [key]);

  const runs: HttpRun[] = [];
  for (const concurrency of OCR_CONCURRENCIES) {
    const run = await measure({
      gatewayUrl: server.url, target: OCR_SERVICE,
      spec: {
        url: `${server.url}/ocr`, body: '', bodyFile: upload.bodyFile, headers: upload.headers,
        connections: concurrency, durationSec: options.durationSec, warmupSec: 0,
        amount: options.ocrImages, warmupAmount: concurrency,
        // Bounded in time too: a run stops (and reports what it got) after 3 minutes.
        maxSec: 180,
      },
      pids: () => workerPids(server),
      drain: () => drainKeys(server, [key]),
    });
    runs.push(run);
    log(`ocr c=${concurrency}: ${run.load.ok} images in ${run.load.durationSec.toFixed(1)} s: ${describeRun(run)}`);
  }
  const info = serviceInfo(server, OCR_SERVICE);
  return {
    route: 'POST /ocr (multipart field "file")',
    image: { width: upload.width, height: upload.height, pngBytes: upload.pngBytes, line: OCR_LINE },
    recognized,
    service: { name: info.name, runtime: info.runtime, model: info.model, replicas: info.replicas, maxBatchSize: 1, describe: 'built-in PaddleOCR PP-OCRv4 (@gutenye/ocr-node); images are never batched' },
    imagesPerRun: options.ocrImages,
    runs,
  };
}
