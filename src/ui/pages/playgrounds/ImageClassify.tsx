import { useRef, useState } from 'preact/hooks';
import { upload, type Upload } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import type { TensorSpec } from '../../types';
import { ImagePicker, type PickedImage } from './ImagePicker';
import { LabelBars } from './LabelBars';
import './ImageClassify.css';

/**
 * Whether the gateway turns an uploaded image into this input (the rule of
 * src/preprocessing/image-tensor.ts): [N,C,H,W] or [N,H,W,C] with 1 or 3
 * channels, FP32, FP64 or UINT8.
 */
export function isImageInput(spec: TensorSpec): boolean {
  if (spec.shape.length !== 4 || !['FP32', 'FP64', 'UINT8'].includes(spec.datatype)) return false;
  const [, a, , c] = spec.shape;
  const channel = (d: number | undefined) => d === 1 || d === 3;
  return channel(a) || channel(c);
}

/** The first row of the first output, flattened: a batch of one image gives one row of class scores. */
export function firstRow(values: unknown): number[] {
  let row = values;
  while (Array.isArray(row) && Array.isArray(row[0]) && (row as unknown[]).length === 1) row = row[0];
  return (Array.isArray(row) ? (row as unknown[]).flat(8) : [row]).map(Number);
}

/** Class scores look like probabilities when they are in [0, 1] and add up to 1. */
const isDistribution = (row: number[]) => row.every((v) => v >= 0 && v <= 1) && Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-3;

/**
 * An image model's playground: upload an image (previewed), POST it to
 * /api/v1/models/<name>/prediction as multipart field `file` (the gateway
 * resizes it to the input's shape), and show the top-k classes of the first output.
 */
export function ImageClassify({ model, output }: { model: string; output: string | undefined }) {
  const [image, setImage] = useState<PickedImage | null>(null);
  const [k, setK] = useState(5);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [row, setRow] = useState<{ url: string; scores: number[] } | null>(null);
  const pending = useRef<Upload | null>(null);

  const run = async (picked: PickedImage) => {
    pending.current?.abort();
    setError(null);
    setProgress(0);
    const req = upload('POST', `/api/v1/models/${encodeURIComponent(model)}/prediction`, 'file', picked.file, setProgress);
    pending.current = req;
    try {
      const out = (await req.done) as { values: unknown };
      setRow({ url: picked.url, scores: firstRow(out.values) });
    } catch (err) {
      if (pending.current === req) { setRow(null); setError({ err, retry: () => void run(picked) }); }
    } finally {
      if (pending.current === req) { pending.current = null; setProgress(null); }
    }
  };

  const busy = progress !== null;
  const scores = row && image && row.url === image.url ? row.scores : null;
  const probabilities = scores ? isDistribution(scores) : false;
  const top = scores ? scores.map((score, i) => ({ label: `class ${i}`, score })).sort((a, b) => b.score - a.score).slice(0, k) : [];

  return (
    <div class="image-classify">
      <form onSubmit={(e) => { e.preventDefault(); if (image) void run(image); }}>
        <ImagePicker id="image-file" label="Image" onPick={(p) => { setImage(p); setRow(null); setError(null); }} />
        <div class="row">
          <label for="image-k">Classes shown</label>
          <select id="image-k" value={k} onChange={(e) => setK(Number((e.currentTarget as HTMLSelectElement).value))}>
            {[1, 3, 5, 10].map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
          <button type="submit" disabled={!image || busy}>{busy ? 'Predicting…' : 'Predict'}</button>
          {busy && <span role="status" class="muted small">{progress! < 1 ? `Uploading ${Math.round(progress! * 100)} %` : 'Predicting…'}</span>}
        </div>
      </form>
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {image && (
        <div class="ic-result">
          <figure class="ic-figure">
            <img src={image.url} alt={`The image ${image.file.name}`} />
            <figcaption class="muted small">{image.file.name}</figcaption>
          </figure>
          {scores && (
            <section aria-labelledby="ic-title" data-testid="top-k">
              <h2 id="ic-title">Top {top.length} of {scores.length} classes</h2>
              <LabelBars items={top} label={`Top ${top.length} classes`} format={(s) => (probabilities ? `${(s * 100).toFixed(1)} %` : s.toFixed(4))} />
              <p class="muted small">{probabilities ? 'Probabilities' : 'Raw scores (they are not probabilities)'} from output <code>{output ?? 'the first output'}</code>, index = class.</p>
            </section>
          )}
        </div>
      )}
    </div>
  );
}
