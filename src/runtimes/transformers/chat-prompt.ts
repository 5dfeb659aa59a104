// Turns chat messages into the prompt text a causal LM continues.

import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { InvalidInputError } from '../input-error.js';
import type { ChatMessage } from '../task-io.js';

const ROLES = new Set(['system', 'user', 'assistant']);

export function readMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new InvalidInputError('text-generation: messages must be a non-empty array');
  messages.forEach((m: unknown, i) => {
    const { role, content } = (m ?? {}) as Partial<ChatMessage>;
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw new InvalidInputError(`text-generation: messages[${i}].role must be one of system, user, assistant`);
    }
    if (typeof content !== 'string') throw new InvalidInputError(`text-generation: messages[${i}].content must be a string`);
  });
  return messages as ChatMessage[];
}

/** Whether the tokenizer ships a chat template (tokenizer_config.json chat_template). */
export function hasChatTemplate(tokenizer: PreTrainedTokenizer): boolean {
  return Boolean(tokenizer.chat_template);
}

/**
 * The tokenizer's chat template with the generation prompt appended, or, for models
 * without one, plain "role: content" lines ending with "assistant:".
 */
export function chatPrompt(tokenizer: PreTrainedTokenizer, messages: ChatMessage[]): string {
  if (hasChatTemplate(tokenizer)) {
    return tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true });
  }
  return messages.map((m) => `${m.role}: ${m.content}\n`).join('') + 'assistant:';
}
