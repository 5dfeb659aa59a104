import type { CorralError } from '../../errors/index.js';

/** OpenAI's error envelope, so the official clients raise their usual exceptions. */
export function openaiError(error: CorralError) {
  const type = error.status === 429 ? 'rate_limit_error' : error.status >= 500 ? 'server_error' : error.status === 404 ? 'not_found_error'
    : error.status === 401 ? 'authentication_error' : error.status === 403 ? 'permission_error' : 'invalid_request_error';
  return { error: { message: error.message, type, param: null, code: error.code.toLowerCase() } };
}
