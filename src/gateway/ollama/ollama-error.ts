import type { CorralError } from '../../errors/index.js';

/** Ollama's error envelope: `{"error": "..."}` (its clients raise the message, with the status). */
export const ollamaError = (error: CorralError) => ({ error: error.message });
