import { readFileSync } from 'node:fs';

/** Uploads a model through the MLBuffet API with an API key. */
export function uploadModelAs(url: string, name: string, path: string, key: string): Promise<Response> {
  const form = new FormData();
  form.append('path', new Blob([readFileSync(path)]), 'model.onnx');
  return fetch(`${url}/api/v1/models/${encodeURIComponent(name)}`, { method: 'PUT', body: form, headers: { authorization: `Bearer ${key}` } });
}
