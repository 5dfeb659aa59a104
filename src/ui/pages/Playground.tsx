import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { shape as showShape } from '../components/format';
import type { LiveState } from '../live';
import type { TensorSpec } from '../types';
import { ImageClassify, isImageInput } from './playgrounds/ImageClassify';

interface Output { name: string; datatype: string; shape: number[]; data: unknown[] }

const INTEGER = /^U?INT(8|16|32|64)$/;
const FLOAT = /^FP(16|32|64)$/;

/** One input's text as a v2 tensor: one row per line, values separated by commas or spaces. */
export function tensorFromText(spec: TensorSpec, text: string): { shape: number[]; data: unknown[] } {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) throw new Error('Enter at least one value.');
  let data: unknown[];
  let perRow: number[];
  if (spec.datatype === 'BYTES') {
    data = lines;
    perRow = lines.map(() => 1);
  } else {
    const rows = lines.map((line) => line.split(/[\s,]+/).filter((v) => v !== '').map((v) => {
      if (spec.datatype === 'BOOL') {
        if (/^(true|1)$/i.test(v)) return true;
        if (/^(false|0)$/i.test(v)) return false;
        throw new Error(`'${v}' is not true or false.`);
      }
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`'${v}' is not a number.`);
      if (INTEGER.test(spec.datatype) && !Number.isInteger(n)) throw new Error(`'${v}' is not a whole number (${spec.datatype}).`);
      return n;
    }));
    data = rows.flat();
    perRow = rows.map((r) => r.length);
  }
  const dims = spec.shape;
  if (dims.length === 0) return { shape: [], data };
  if (dims.length === 1) return { shape: [dims[0]! >= 0 ? dims[0]! : data.length], data };
  // The first dimension is the batch: one line per row. A row's other dimensions come from the signature.
  const rest = dims.slice(1);
  const fixed = rest.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
  const unknown = rest.filter((d) => d < 0).length;
  const first = perRow[0]!;
  const inferred = unknown === 1 && fixed > 0 ? Math.floor(first / fixed) : 1;
  const shape = [dims[0]! >= 0 ? dims[0]! : lines.length, ...rest.map((d) => (d >= 0 ? d : inferred))];
  return { shape, data };
}

const example = (spec: TensorSpec) => {
  const per = spec.shape.slice(1).reduce((a, d) => a * (d > 0 ? d : 1), 1);
  if (spec.datatype === 'BYTES') return 'one text per line';
  return `one row per line, ${per} value${per === 1 ? '' : 's'} each, e.g. ${Array.from({ length: Math.min(per, 4) }, (_, i) => (FLOAT.test(spec.datatype) ? (i + 1) / 2 : i + 1)).join(', ')}${per > 4 ? ', …' : ''}`;
};

/**
 * A tensor model's playground: a field per input of its signature, a KServe v2
 * prediction, and the outputs. A 400 that names an input is shown on that
 * field; anything else is an alert with Retry. What was typed stays put.
 */
export function Playground({ live, name }: { live: LiveState; name: string }) {
  const model = live.models.get(name);
  const [values, setValues] = useState<Record<string, string>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [outputs, setOutputs] = useState<Output[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [mode, setMode] = useState<'image' | 'tensor'>('image');

  if (!live.loaded) return <p role="status">Loading…</p>;
  if (!model) return <section><h1 id="page-title">Playground</h1><p class="empty">No model '{name}'. See <Link to="/models">Models</Link>.</p></section>;

  // A single image input can also be fed an uploaded image, which the gateway resizes.
  const image = model.inputs.length === 1 && isImageInput(model.inputs[0]!);

  const submit = async (e?: Event) => {
    e?.preventDefault();
    setError(null);
    const errors: Record<string, string> = {};
    const inputs = model.inputs.map((spec) => {
      try {
        return { name: spec.name, datatype: spec.datatype, ...tensorFromText(spec, values[spec.name] ?? '') };
      } catch (err) {
        errors[spec.name] = (err as Error).message;
        return undefined;
      }
    });
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) return;
    setBusy(true);
    try {
      const res = await api<{ outputs: Output[] }>(`/v2/models/${encodeURIComponent(model.model)}/infer`, { method: 'POST', json: { inputs } });
      setOutputs(res.outputs);
    } catch (err) {
      setOutputs(null); // the outputs shown were for other inputs
      const field = err instanceof ApiError && err.status === 400 ? model.inputs.find((i) => err.message.includes(`'${i.name}'`)) : undefined;
      if (field) setFieldErrors({ [field.name]: (err as ApiError).message });
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  const tensorForm = (
    <>
      <p class="muted">Version {model.version}. Predictions go to <code>POST /v2/models/{model.model}/infer</code>.</p>
      <form class="card" onSubmit={submit} noValidate>
        {model.inputs.map((spec) => {
          const id = `input-${spec.name}`;
          const err = fieldErrors[spec.name];
          return (
            <div class="field" key={spec.name}>
              <label for={id}><code>{spec.name}</code> <span class="muted">{spec.datatype} {showShape(spec.shape)}</span></label>
              <textarea id={id} name={spec.name} rows={3} value={values[spec.name] ?? ''} spellcheck={false}
                aria-invalid={err ? true : undefined} aria-describedby={`${id}-hint${err ? ` ${id}-error` : ''}`}
                onInput={(e) => setValues({ ...values, [spec.name]: (e.currentTarget as HTMLTextAreaElement).value })} />
              <small id={`${id}-hint`} class="muted">{example(spec)}</small>
              {err && <p id={`${id}-error`} class="field-error" data-field={spec.name}>{err}</p>}
            </div>
          );
        })}
        <button type="submit" disabled={busy}>{busy ? 'Predicting…' : 'Predict'}</button>
      </form>
      {error !== null && <ErrorAlert error={error} onRetry={() => void submit()} onDismiss={() => setError(null)} />}
      {outputs && (
        <div class="card" aria-live="polite">
          <h2>Outputs</h2>
          <table>
            <thead><tr><th scope="col">Output</th><th scope="col">Type</th><th scope="col">Shape</th><th scope="col">Values</th></tr></thead>
            <tbody>
              {outputs.map((o) => (
                <tr key={o.name}>
                  <th scope="row"><code>{o.name}</code></th>
                  <td>{o.datatype}</td>
                  <td>{showShape(o.shape)}</td>
                  <td class="wrap"><output data-output={o.name}>{formatValues(o.data)}</output></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Playground: {model.model}</h1>
      {image && (
        <fieldset class="input-mode">
          <legend>Input</legend>
          <label class="check"><input type="radio" name="mode" checked={mode === 'image'} onChange={() => setMode('image')} /> Image upload</label>
          <label class="check"><input type="radio" name="mode" checked={mode === 'tensor'} onChange={() => setMode('tensor')} /> Tensor values</label>
        </fieldset>
      )}
      {image && mode === 'image' ? (
        <>
          <p class="muted">Version {model.version}. The image goes to <code>POST /api/v1/models/{model.model}/prediction</code>, which resizes it to <code>{model.inputs[0]!.name}</code> {showShape(model.inputs[0]!.shape)}.</p>
          <div class="card"><ImageClassify model={model.model} output={model.outputs[0]?.name} /></div>
        </>
      ) : tensorForm}
    </section>
  );
}

function formatValues(data: unknown[]): string {
  const flat = (data as unknown[]).flat(8) as unknown[];
  const shown = flat.slice(0, 200).map((v) => (typeof v === 'number' && !Number.isInteger(v) ? +v.toFixed(4) : v));
  return `${shown.join(', ')}${flat.length > 200 ? `, … (${flat.length} values)` : ''}`;
}
