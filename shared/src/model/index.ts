export { ModelLoadError } from './errors';
export { ticketText } from './text';
export { loadTriageModel, readModelConfig } from './triage-model';
export type { LoadTriageModelOptions, ModelConfig, QueueProbability, TriageModel, TriagePrediction } from './triage-model';
export { loadNgramModel, ngramModelFromJson } from './ngram-model';
export type { NgramModel } from './ngram-model';
export { loadFallbackModel } from './fallback-model';
export type { FallbackModel, FallbackPrediction } from './fallback-model';
