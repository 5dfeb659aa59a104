/**
 * Every error Corral reports to a client, with its HTTP status.
 * One table, so a code always maps to the same status on every API (MLBuffet,
 * KServe v2, later OpenAI) and docs/errors can be checked against it.
 */
export const ERROR_CATALOG = {
  BAD_REQUEST: { status: 400, summary: 'The request body or parameters are malformed.' },
  INVALID_JSON: { status: 400, summary: 'The body is not valid JSON.' },
  INVALID_INPUT: { status: 400, summary: 'Input tensors do not match what the model expects (name, dtype, shape or length).' },
  INVALID_MODEL_NAME: { status: 400, summary: 'A model name may use letters, digits, ".", "_" and "-" only, 1-128 characters, not starting with "." .' },
  INVALID_MODEL_FILE: { status: 400, summary: 'The uploaded file is not a model onnxruntime can load.' },
  EMPTY_UPLOAD: { status: 400, summary: 'The upload carried no file or an empty file.' },
  INVALID_IMAGE: { status: 400, summary: 'The uploaded image could not be decoded.' },
  INVALID_SERVICE: { status: 400, summary: 'The service definition is invalid (unknown task or runtime, model not found, bad options).' },
  INFERENCE_REJECTED: { status: 400, summary: 'The model rejected the input at run time.' },
  UNAUTHENTICATED: { status: 401, summary: 'The route needs an API key: send Authorization: Bearer <key>, X-API-Key, or HTTP Basic with the key as password.' },
  INVALID_API_KEY: { status: 401, summary: 'The credential sent is not a known API key.' },
  API_KEY_EXPIRED: { status: 401, summary: 'The API key is past its expires_at; an admin can issue a new one.' },
  API_KEY_REVOKED: { status: 401, summary: 'The API key was revoked.' },
  FORBIDDEN: { status: 403, summary: 'The API key lacks the scope this route needs (the message names it), or a browser request came from another origin.' },
  MODEL_NOT_ALLOWED: { status: 403, summary: 'The API key may not use this model or service (its `models` globs exclude it).' },
  NOT_FOUND: { status: 404, summary: 'No such route.' },
  MODEL_NOT_FOUND: { status: 404, summary: 'No model with that name (or version) is in the repository.' },
  PROFILE_NOT_FOUND: { status: 404, summary: 'No profile with that name in profiles.cfg.' },
  JOB_NOT_FOUND: { status: 404, summary: 'No job with that id (finished jobs are kept for CORRAL_JOB_TTL_S seconds).' },
  SERVICE_NOT_FOUND: { status: 404, summary: 'No service with that name or id.' },
  KEY_NOT_FOUND: { status: 404, summary: 'No API key with that id.' },
  METHOD_NOT_ALLOWED: { status: 405, summary: 'The route exists but not for this HTTP method.' },
  ALREADY_EXISTS: { status: 409, summary: 'A service, model or profile with that name already exists.' },
  JOB_NOT_CANCELLABLE: { status: 409, summary: 'Only queued jobs can be cancelled; this one is running or finished.' },
  PAYLOAD_TOO_LARGE: { status: 413, summary: 'The body or uploaded file is larger than the configured limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'The Content-Type is not one this route accepts.' },
  MISDIRECTED_REQUEST: { status: 421, summary: 'The Host header names neither this gateway nor an allowed host (CORRAL_ALLOWED_HOSTS); a guard against DNS rebinding.' },
  QUEUE_FULL: { status: 429, summary: 'Too much work is queued; retry after the Retry-After delay.' },
  RATE_LIMITED: { status: 429, summary: 'The API key used up its requests per minute (or this address failed authentication too often); retry after Retry-After seconds.' },
  CONCURRENCY_LIMITED: { status: 429, summary: 'The API key already has as many requests in flight as its concurrency limit allows.' },
  INTERNAL: { status: 500, summary: 'An unexpected error; the server log has the details.' },
  NO_WORKERS: { status: 503, summary: 'No worker process is available to run the model.' },
  SERVICE_NOT_READY: { status: 503, summary: 'The service exists but is not RUNNING; the message gives its state.' },
  INFERENCE_FAILED: { status: 503, summary: 'The model could not be run after retrying on other workers.' },
  TIMEOUT: { status: 504, summary: 'The model (or service) did not answer within its time limit (CORRAL_REQUEST_TIMEOUT_MS, or its own timeout_ms); the worker stuck on it was restarted.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
