export { embedRuntime, acquireBuiltinEmbedder, releaseBuiltinEmbedder } from './embed-runtime.js';
export { WordVectorEmbedder, type SentenceEmbedder } from './sentence-embedder.js';
export { WordVectors, acquireWordVectors, releaseWordVectors, loadWordVectors, type LoadVectorsOptions } from './word-vectors.js';
export { cosine, normalized } from './vector-math.js';
