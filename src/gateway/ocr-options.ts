import { CorralError } from '../errors/index.js';
import type { OcrInput } from '../runtimes/task-io.js';

const ENGINES = ['auto', 'paddle', 'tesseract'] as const;
/** A Tesseract language code: eng, deu, chi_sim (one per request; never a path). */
const LANG = /^[a-z]{3}(_[a-z]+)?$/;

/**
 * A request's OCR choices (`engine`, `lang`), from the query of a multipart upload or the
 * JSON body, checked here so a typo is a 400 naming the field, not a worker error.
 */
export function ocrOptions(given: { engine?: unknown; lang?: unknown }): Pick<OcrInput, 'engine' | 'lang'> {
  const out: Pick<OcrInput, 'engine' | 'lang'> = {};
  if (given.engine !== undefined && given.engine !== '') {
    if (!ENGINES.includes(given.engine as never)) {
      throw new CorralError('BAD_REQUEST', `"engine" must be one of ${ENGINES.join(', ')}; got ${JSON.stringify(given.engine)}.`);
    }
    out.engine = given.engine as OcrInput['engine'];
  }
  if (given.lang !== undefined && given.lang !== '') {
    if (typeof given.lang !== 'string' || given.lang.length > 64 || !LANG.test(given.lang)) {
      throw new CorralError('BAD_REQUEST', `"lang" must be one Tesseract language code such as "eng", "deu" or "chi_sim"; got ${JSON.stringify(given.lang)}.`);
    }
    out.lang = given.lang;
  }
  return out;
}
