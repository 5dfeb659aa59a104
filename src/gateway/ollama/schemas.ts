import { Type } from 'typebox';
import { OllamaOptions } from './options.js';

// Ollama ignores fields it does not know (keep_alive, truncate, think, ...); so do these schemas.
const ModelRef = {
  model: Type.Optional(Type.String()),
  /** What older clients (and ollama-js's pull and delete) send instead of `model`. */
  name: Type.Optional(Type.String()),
};
const Unsupported = {
  images: Type.Optional(Type.Array(Type.String())),
  format: Type.Optional(Type.Unknown()),
};

export const ModelBody = Type.Object(ModelRef);

export const GenerateBody = Type.Object({
  ...ModelRef,
  ...Unsupported,
  prompt: Type.Optional(Type.String()),
  system: Type.Optional(Type.String()),
  suffix: Type.Optional(Type.String()),
  raw: Type.Optional(Type.Boolean()),
  stream: Type.Optional(Type.Boolean()),
  options: Type.Optional(OllamaOptions),
});

export const ChatBody = Type.Object({
  ...ModelRef,
  format: Unsupported.format,
  messages: Type.Optional(Type.Array(Type.Object({
    role: Type.String(),
    content: Type.String(),
    images: Type.Optional(Type.Array(Type.String())),
  }))),
  tools: Type.Optional(Type.Array(Type.Unknown())),
  stream: Type.Optional(Type.Boolean()),
  options: Type.Optional(OllamaOptions),
});

export const EmbedBody = Type.Object({ ...ModelRef, input: Type.Unknown() });
export const EmbeddingsBody = Type.Object({ ...ModelRef, prompt: Type.String() });

export const PullBody = Type.Object({
  ...ModelRef,
  insecure: Type.Optional(Type.Boolean()),
  stream: Type.Optional(Type.Boolean()),
  /** Corral extension: the task when the model's config.json cannot tell (default: from config.json, else text-generation). */
  task: Type.Optional(Type.String({ minLength: 1 })),
});
