/** What GET /help lists: the MLBuffet-compatible routes and what they take. */
export const HELP = [
  { method: 'GET', path: '/', description: 'Welcome message.' },
  { method: 'GET', path: '/help', description: 'This list.' },
  { method: 'GET', path: '/api/v1/models', description: 'Names of the models in the repository.' },
  { method: 'GET', path: '/api/v1/models/information', description: 'Every model with its description.' },
  { method: 'GET', path: '/api/v1/models/<name>', description: 'One model: description, inputs, outputs, version, batching.' },
  { method: 'POST', path: '/api/v1/models/<name>', description: 'Set the description: JSON {"model_description": "..."}.' },
  { method: 'PUT', path: '/api/v1/models/<name>', description: 'Upload or replace an ONNX model: multipart field "path" (curl -F "path=@model.onnx").' },
  { method: 'DELETE', path: '/api/v1/models/<name>', description: 'Delete a model.' },
  { method: 'GET', path: '/api/v1/models/<name>/config', description: 'Dynamic batching settings.' },
  { method: 'PATCH', path: '/api/v1/models/<name>/config', description: 'Set {"max_batch_size": n, "max_queue_delay_microseconds": us}.' },
  { method: 'GET|POST', path: '/api/v1/models/<name>/prediction', description: 'Predict: JSON {"values": [...]} (one sample or a batch), {"inputs": {"<input>": [...]}}, or an image in multipart field "file".' },
  { method: 'GET', path: '/v2', description: 'KServe Open Inference Protocol v2 (also /v2/health/*, /v2/models/<name>[/versions/<v>][/ready|/infer]).' },
  { method: 'GET', path: '/metrics', description: 'Prometheus metrics.' },
];
