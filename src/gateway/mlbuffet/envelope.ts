import { STATUS_CODES } from 'node:http';
import type { CorralError } from '../../errors/index.js';

/** MLBuffet's response wrapper: every body carries `http_status`. */
export function envelope(code: number, description: string, body: Record<string, unknown> = {}) {
  return { http_status: { code, description, name: STATUS_CODES[code] ?? 'Unknown' }, ...body };
}

export const mlbuffetError = (error: CorralError) => envelope(error.status, error.message, { error: error.code });
