import { useRef, useState } from 'preact/hooks';
import { upload, type Upload } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import type { Service } from '../../types';
import type { OcrLine } from '../../../runtimes/task-io';
import { lastRequests } from '../snippets';
import { ImagePicker, type PickedImage } from './ImagePicker';
import './Ocr.css';

const pct = (c: number) => `${(c * 100).toFixed(1)} %`;
/** The engines a request may choose (the server's `engine`); auto combines the other two per line. */
const ENGINES = [
  { value: 'auto', label: 'auto (Tesseract, PaddleOCR where it doubts)' },
  { value: 'tesseract', label: 'Tesseract (documents)' },
  { value: 'paddle', label: 'PaddleOCR (photos, scenes)' },
] as const;

/**
 * POST /ocr with an uploaded image (multipart field `file`): the image with a
 * numbered box over each recognised line (an SVG in the image's own pixel
 * space, so it scales with it) and the lines with their confidence. A line
 * hovered or focused in the list outlines its box; a box hovered marks its line.
 * The engine is chosen per request; each line names the engine that read it.
 */
export function Ocr({ service }: { service: Service }) {
  const [image, setImage] = useState<PickedImage | null>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const [broken, setBroken] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [result, setResult] = useState<{ url: string; lines: OcrLine[] } | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const [engine, setEngine] = useState<(typeof ENGINES)[number]['value']>('auto');
  const [pinned, setPinned] = useState<number | null>(null);
  const pending = useRef<Upload | null>(null);

  const run = async (picked: PickedImage) => {
    pending.current?.abort();
    lastRequests.set(service.id, { path: '/ocr', body: { image: '<base64 PNG or JPEG>', model: service.name, engine } });
    setError(null);
    setProgress(0);
    const req = upload('POST', `/ocr?service=${encodeURIComponent(service.name)}&engine=${engine}`, 'file', picked.file, setProgress);
    pending.current = req;
    try {
      const out = (await req.done) as { lines: OcrLine[] };
      setResult({ url: picked.url, lines: out.lines });
      setHover(null);
      setPinned(null);
    } catch (err) {
      if (pending.current === req) setError({ err, retry: () => void run(picked) });
    } finally {
      if (pending.current === req) { pending.current = null; setProgress(null); }
    }
  };

  const pick = (picked: PickedImage) => {
    setImage(picked);
    setSize(null);
    setBroken(false);
    setResult(null);
    void run(picked);
  };

  const busy = progress !== null;
  const lines = result && image && result.url === image.url ? result.lines : null;
  const shown = hover ?? pinned;

  return (
    <div class="ocr">
      <p class="ocr-engine-choice">
        <label for="ocr-engine">Engine</label>{' '}
        <select id="ocr-engine" value={engine} disabled={busy} onChange={(e) => setEngine((e.currentTarget as HTMLSelectElement).value as typeof engine)}>
          {ENGINES.map((e) => <option key={e.value} value={e.value}>{e.label}</option>)}
        </select>
      </p>
      <ImagePicker id="ocr-file" label="Image to read" onPick={pick} />
      {image && !busy && <button type="button" class="secondary" onClick={() => void run(image)}>Read again</button>}
      {busy && (
        <p role="status" class="ocr-busy">
          <label for="ocr-progress">{progress! < 1 ? 'Uploading…' : 'Reading the text…'}</label> <progress id="ocr-progress" max={1} value={progress!} />
        </p>
      )}
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {image && (
        <div class="ocr-result">
          <figure class="ocr-figure">
            <div class="ocr-stage">
              <img src={image.url} alt={`The image ${image.file.name}`} onLoad={(e) => {
                const img = e.currentTarget as HTMLImageElement;
                setSize({ width: img.naturalWidth, height: img.naturalHeight });
              }} onError={() => setBroken(true)} />
              {lines && size && (
                // Pointer-only mirror of the list (which is the keyboard way in), so hidden from assistive technology.
                <svg class="ocr-boxes" viewBox={`0 0 ${size.width} ${size.height}`} preserveAspectRatio="none" aria-hidden="true" data-testid="ocr-boxes">
                  {lines.map((l, i) => {
                    const [x = 0, y = 0] = l.box[0] ?? [];
                    const label = Math.max(12, size.width / 45);
                    return (
                      <g key={i} class={`ocr-box${shown === i ? ' on' : ''}`} data-line={i}
                        onMouseEnter={() => setHover(i)} onMouseLeave={() => setHover(null)} onClick={() => setPinned(pinned === i ? null : i)}>
                        {/* A halo in the page's background colour under the line keeps the box visible on light and dark images alike. */}
                        <polygon class="halo" points={l.box.map((p) => p.join(',')).join(' ')} vector-effect="non-scaling-stroke" />
                        <polygon class="edge" points={l.box.map((p) => p.join(',')).join(' ')} vector-effect="non-scaling-stroke" />
                        <text x={x} y={Math.max(label, y - label * 0.2)} font-size={label}>{i + 1}</text>
                      </g>
                    );
                  })}
                </svg>
              )}
            </div>
            <figcaption class="muted small">
              {broken ? `${image.file.name}: the browser cannot show this file as an image.` : `${image.file.name}${size ? `, ${size.width} × ${size.height} pixels` : ''}`}
            </figcaption>
          </figure>
          {lines && (
            <section aria-labelledby="ocr-lines-title" class="ocr-lines">
              <h2 id="ocr-lines-title">Recognised lines</h2>
              <p role="status" class="muted small">{lines.length === 0 ? 'No text found in this image.' : `${lines.length} line${lines.length === 1 ? '' : 's'}. Hover, focus or press one to outline its box.`}</p>
              <ol class="ocr-list" data-testid="ocr-lines">
                {lines.map((l, i) => (
                  <li key={i} data-line={i}>
                    <button type="button" class={`ocr-line${shown === i ? ' on' : ''}`} aria-pressed={pinned === i}
                      onMouseEnter={() => setHover(i)} onMouseLeave={() => setHover(null)} onFocus={() => setHover(i)} onBlur={() => setHover(null)}
                      onClick={() => setPinned(pinned === i ? null : i)}>
                      <span class="ocr-num" aria-hidden="true">{i + 1}</span>
                      <span class="ocr-text">{l.text}</span>
                      {l.engine && <span class="ocr-engine"><span class="visually-hidden">read by </span>{l.engine}</span>}
                      <span class="ocr-conf"><span class="visually-hidden">confidence </span>{pct(l.confidence)}</span>
                    </button>
                  </li>
                ))}
              </ol>
              {lines.length > 0 && (
                <details class="ocr-all">
                  <summary>All text</summary>
                  <pre tabIndex={0} aria-label="All recognised text">{lines.map((l) => l.text).join('\n')}</pre>
                </details>
              )}
            </section>
          )}
        </div>
      )}
    </div>
  );
}
