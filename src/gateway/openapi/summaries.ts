/**
 * One line per route for the OpenAPI document's `summary` and GET /help,
 * keyed "METHOD url" as the route is registered. Which routes exist is never
 * read from here (the document and /help come from the registered routes); a
 * route missing here is documented with its family's name instead, and
 * test/gateway/openapi.test.ts fails on a line whose route no longer exists.
 */
export const SUMMARIES: Record<string, string> = {
  'GET /': 'Welcome message (a browser is sent to the web UI).',
  'GET /help': 'Every route of every API family, with what it does.',
  'GET /api/v1/models': 'Names of the models in the repository.',
  'GET /api/v1/models/information': 'Every model with its description.',
  'GET /api/v1/models/:name': 'One model: description, inputs, outputs, version, batching.',
  'POST /api/v1/models/:name': 'Set the description: JSON {"model_description": "..."}.',
  'PUT /api/v1/models/:name': 'Upload or replace an ONNX model: multipart field "path" (curl -F "path=@model.onnx").',
  'DELETE /api/v1/models/:name': 'Delete a model.',
  'GET /api/v1/models/:name/config': 'Dynamic batching settings and time limit.',
  'PATCH /api/v1/models/:name/config': 'Set {"max_batch_size": n, "max_queue_delay_microseconds": us, "timeout_ms": ms, "padding": {...} | false | null}.',
  'GET /api/v1/models/:name/prediction': 'Predict: JSON {"values": [...]} (one sample or a batch), {"inputs": {"<input>": [...]}}, or an image in multipart field "file".',
  'POST /api/v1/models/:name/prediction': 'Predict: JSON {"values": [...]} (one sample or a batch), {"inputs": {"<input>": [...]}}, or an image in multipart field "file".',

  'POST /api/v1/train/:tag/:name': 'Train a model (admin): multipart "script", optional "requirements" and "dataset", and "profile", "timeout_minutes", "memory", "cpus", "gpus"; the script writes <name> (.onnx added) and it is registered as <tag>.',
  'POST /api/v1/train/:name': 'Train a model registered under its own name (as POST /api/v1/train/:tag/:name with tag = name).',
  'GET /api/v1/train/jobs': 'Training jobs, newest first.',
  'GET /api/v1/train/jobs/:id': 'One training job: state, times, exit code, error, registered model version.',
  'GET /api/v1/train/jobs/:id/logs': "A training job's stdout and stderr as plain text; ?follow=1 streams it until the job ends.",
  'DELETE /api/v1/train/jobs/:id': 'Cancel a queued or running training job (its whole process group is stopped; on Slurm, scancel).',
  'PUT /api/v1/train/jobs/:id/output': "A Slurm training job uploads its model (the body, application/octet-stream) with the job's own upload token, while the job runs; it is then validated and registered.",

  'GET /v2': 'Server metadata.',
  'GET /v2/health/live': 'Liveness: the gateway answers.',
  'GET /v2/health/ready': 'Readiness: a worker is ready to run models (503 until then).',
  'GET /v2/models/:name': 'Model metadata: versions, platform, input and output tensors.',
  'GET /v2/models/:name/ready': 'Is the model ready (503 if not).',
  'POST /v2/models/:name/infer': 'Run the model on JSON tensors.',
  'GET /v2/models/:name/versions/:version': 'Metadata of one version of the model.',
  'GET /v2/models/:name/versions/:version/ready': 'Is this version of the model ready (503 if not).',
  'POST /v2/models/:name/versions/:version/infer': 'Run one version of the model on JSON tensors.',
  'POST /v2/repository/index': 'The models in the repository, with their state.',

  'GET /api/services': 'Services, filtered by ?status=, ?task=, ?profile=.',
  'POST /api/services': 'Create and start a service (?wait=true answers once it runs or fails).',
  'GET /api/services/:id': 'One service, by id or name.',
  'PATCH /api/services/:id': 'Scale to zero: set idle_minutes, wake_on_request, wake_max_queued, wake_timeout_s (null: the default).',
  'DELETE /api/services/:id': 'Delete a service (stopping its job first).',
  'POST /api/services/:id/start': 'Start a stopped service (?wait=true answers once it runs or fails).',
  'POST /api/services/:id/stop': 'Stop a service.',
  'GET /api/services/:id/logs': "The service's log: state changes, worker output, a cluster job's output.",
  'POST /api/services/:id/predict': "Run the service on its task's input.",
  'POST /api/services/:id/register': "A cluster job's host registers its endpoint (the job's launch token only).",
  'POST /api/services/:id/invoke': 'The gateway forwards a request to the host running the service (v8 frames; the host credential only).',
  'POST /services/:id/*': "One of the service's task routes (embed, generate, v1/chat/completions, ...), sent to that service wherever it runs.",

  'POST /embed': 'Embeddings of a list of sentences.',
  'POST /keyterms': 'Key terms of each of a list of texts, with scores.',
  'POST /ocr': 'Text in an image (multipart field "file", or JSON {"image": "<base64>"}).',

  'GET /v1/models': 'Models (services) the key may use.',
  'GET /v1/models/:id': 'One model (service).',
  'POST /v1/embeddings': 'Embeddings of a text or a list of texts.',
  'POST /v1/chat/completions': 'Chat completion, streamed as server-sent events with "stream": true.',
  'POST /v1/completions': 'Text completion, streamed as server-sent events with "stream": true.',

  'POST /generate': 'Generate text from a prompt.',
  'POST /generate_stream': 'Generate text from a prompt, streamed as server-sent events.',

  'GET /api/profiles': 'Profiles: where services run.',
  'GET /api/profiles/:name': 'One profile.',
  'POST /api/profiles': 'Create a profile.',
  'PATCH /api/profiles/:name': 'Change a profile.',
  'DELETE /api/profiles/:name': 'Delete a profile.',
  'GET /models': "Models a profile's cache and home hold (?refresh=true scans again).",

  'GET /api/boxes': 'Boxes of the gce, ec2 and command profiles, with their state (?profile= for one profile).',
  'GET /api/boxes/:profile/:instance': "One box's state, asked of its provider.",
  'POST /api/boxes/:profile/:instance/start': 'Start a STOPPED or PREEMPTED box (a STARTING or RUNNING one is left as it is).',
  'POST /api/boxes/:profile/:instance/stop': 'Stop a STARTING or RUNNING box.',
  'GET /api/boxes/:profile/:instance/events': "A box's state, then each change of it, as server-sent events.",

  'GET /api/instance/list': "Laminoid controller: every box, as GCE's instance list.",
  'GET /api/instance/:zone/:instance_id/status': 'Laminoid controller: one box, as a GCE instance.',
  'GET /api/instance/:zone/:instance_id/start': 'Laminoid controller: start a box (a GET, as Laminoid has it); answers a GCE operation.',
  'GET /api/instance/:zone/:instance_id/stop': 'Laminoid controller: stop a box (a GET, as Laminoid has it); answers a GCE operation.',

  'GET /api/jobs': 'Jobs the key submitted (an admin: all), newest first, a page at a time.',
  'POST /api/jobs': "Queue a job: a service's task route and its input, with an optional webhook.",
  'GET /api/jobs/:id': "A job: its state, and its result once done.",
  'DELETE /api/jobs/:id': 'Cancel a queued job.',
  'GET /api/jobs/:id/events': "A job's state changes as server-sent events, until it ends.",
  'GET /api/workers': 'Worker processes and what they run.',

  'GET /api/events': 'Services, models, workers and jobs as they change, as server-sent events (Last-Event-ID resumes).',

  'GET /api/keys': 'API keys.',
  'POST /api/keys': 'Create an API key (its secret is shown only in this answer).',
  'GET /api/keys/:id': 'One API key.',
  'PATCH /api/keys/:id': "Change a key's name, scopes, models, rate limit or expiry.",
  'DELETE /api/keys/:id': 'Revoke a key.',
  'GET /api/audit': 'The audit log: key, model, service and profile changes and failed logins (?limit=&action=&key_id=).',

  'GET /api/session': 'Who the web UI is logged in as, or that it must log in.',
  'POST /api/session': 'Log in with an API key: sets the session cookie.',
  'DELETE /api/session': 'Log out.',

  'GET /metrics': 'Prometheus metrics.',
  'GET /api/metrics/series': 'Per-model metrics sampled over time (?window=15m|1h), for charts.',

  'GET /api/tags': 'Ollama: the running text-generation and embedding services, as models.',
  'POST /api/show': 'Ollama: one model\'s details, parameters and capabilities: {"model": "..."}.',
  'GET /api/ps': 'Ollama: the models loaded in a worker now, with their memory.',
  'GET /api/version': 'Ollama: the server version.',
  'POST /api/embed': 'Ollama: embeddings of {"model", "input": string | string[]}.',
  'POST /api/embeddings': 'Ollama (older form): the embedding of {"model", "prompt"}.',
  'POST /api/generate': 'Ollama: complete {"model", "prompt"}; newline-delimited JSON unless "stream": false.',
  'POST /api/chat': 'Ollama: answer {"model", "messages"}; newline-delimited JSON unless "stream": false.',
  'POST /api/pull': 'Ollama: start a service for {"model": "<hub id or path>"}.',
  'DELETE /api/delete': 'Ollama: delete the service of {"model": "..."}.',

  'POST /run': 'Neural Energy: run the service named by "SIGNATURE" on the other fields (SYSTEM_STATUS for memory).',
  'POST /list_servers': 'Neural Energy: the services this key may use, as AVAIL_SERVERS.',
  'GET /system_status': 'Neural Energy: memory of the machine, the gateway and each service\'s workers.',
  'POST /shutdown': 'Neural Energy: {"SIGNATURE": "SAFE_KILL_SERVER_CMD"} restarts every worker without dropping requests (admin).',

  'GET /ui': 'The web UI.',
  'GET /openapi.json': 'This OpenAPI 3 document.',
  'GET /docs': 'This document as an interactive page (Swagger UI).',
};
