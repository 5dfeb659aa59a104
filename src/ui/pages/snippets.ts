import type { Service } from '../types';

/** The last request each service's playground sent (path and JSON body), for the API tab. */
export const lastRequests = new Map<string, { path: string; body: Record<string, unknown> }>();

interface Snippet { title: string; code: string }

/** The task route a service answers, with an example body; `model` names the service. */
function request(service: Service): { path: string; body: Record<string, unknown> } {
  const model = service.name;
  switch (service.task) {
    case 'text-generation': return { path: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 64, stream: false } };
    case 'feature-extraction': return { path: '/embed', body: { sentences: ['The sun rises in the east.', 'Cats are curious animals.'], model } };
    case 'keyterms': return { path: '/keyterms', body: { sentences: ['The sun rises in the east.'], model } };
    case 'ocr': return { path: '/ocr', body: { image: '<base64 PNG or JPEG>', model } };
    case 'tensor': return { path: `/v2/models/${encodeURIComponent(model)}/infer`, body: { inputs: [{ name: '<input>', shape: [1, 4], datatype: 'FP32', data: [0, 0, 0, 0] }] } };
    case 'zero-shot-classification': return { path: `/api/services/${encodeURIComponent(model)}/predict`, body: { inputs: 'The match ended in a draw.', parameters: { candidate_labels: ['sports', 'politics'] } } };
    default: return { path: `/api/services/${encodeURIComponent(model)}/predict`, body: { inputs: 'I love this!' } };
  }
}

const py = (value: unknown, indent = 0): string => {
  const pad = ' '.repeat(indent);
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (Array.isArray(value)) return value.every((v) => typeof v !== 'object' || v === null) ? `[${value.map((v) => py(v)).join(', ')}]` : `[\n${value.map((v) => `${pad}    ${py(v, indent + 4)}`).join(',\n')},\n${pad}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${py(v, indent)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
};

/** curl, Python requests and (where the task has one) OpenAI-client code for a service's request. */
export function snippets(service: Service, origin: string, last?: { path: string; body: Record<string, unknown> }): Snippet[] {
  const { path, body } = last ?? request(service);
  const url = `${origin}${path}`;
  const json = JSON.stringify(body);
  const out: Snippet[] = [
    { title: 'curl', code: `curl -X POST '${url}' \\\n  -H "Authorization: Bearer $CORRAL_API_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '${json.replaceAll("'", "'\\''")}'` },
    {
      title: 'Python (requests)',
      code: `import os\nimport requests\n\nresponse = requests.post(\n    ${JSON.stringify(url)},\n    headers={"Authorization": f"Bearer {os.environ['CORRAL_API_KEY']}"},\n    json=${py(body, 4)},\n)\nresponse.raise_for_status()\nprint(response.json())`,
    },
  ];
  const client = `from openai import OpenAI\nimport os\n\nclient = OpenAI(base_url=${JSON.stringify(`${origin}/v1`)}, api_key=os.environ["CORRAL_API_KEY"])\n`;
  if (service.task === 'text-generation') {
    const messages = (body.messages as unknown[] | undefined) ?? [{ role: 'user', content: 'Hello!' }];
    out.push({
      title: 'Python (OpenAI client)',
      code: `${client}stream = client.chat.completions.create(\n    model=${JSON.stringify(service.name)},\n    messages=${py(messages, 4)},\n    max_tokens=${Number(body.max_tokens ?? 64)},\n    stream=True,\n)\nfor chunk in stream:\n    print(chunk.choices[0].delta.content or "", end="", flush=True)`,
    });
  } else if (service.task === 'feature-extraction') {
    const input = (body.sentences as unknown[] | undefined) ?? ['hello'];
    out.push({
      title: 'Python (OpenAI client)',
      code: `${client}result = client.embeddings.create(model=${JSON.stringify(service.name)}, input=${py(input)})\nprint([len(d.embedding) for d in result.data])`,
    });
  }
  return out;
}
