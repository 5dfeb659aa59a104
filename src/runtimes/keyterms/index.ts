export {
  keytermsRuntime,
  createKeytermsRuntime,
  builtinEmbedderFactory,
  extractKeyterms,
  containsTerm,
  type KeytermOptions,
  type EmbedderFactory,
  type EmbedderHandle,
} from './keyterms-runtime.js';
export { extractCandidates, type Candidate, type CandidateSet, type WordStats } from './candidates.js';
export { statisticalScores } from './statistical-score.js';
export { specificity, GENERIC_NOUNS, type WordRank } from './specificity.js';
export { similarityScores, similarityScoresBatch } from './similarity-score.js';
export { ranksOf, reciprocalRankFusion, DEFAULT_RRF_K } from './rank-fusion.js';
