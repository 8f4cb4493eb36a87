// Pure TypeScript only: the gateway imports this. The ONNX encoder lives in the worker (services/worker/src/inference).
export { ModelLoadError } from './errors';
export { ticketText, toWellFormed } from './text';
export { blendConfigSchema, modelConfigSchema, readModelConfig } from './model-config';
export type { BlendConfig, ConfidenceMap, ModelConfig } from './model-config';
export { rankQueues } from './prediction';
export type { QueueProbability, TriageModel, TriagePrediction } from './prediction';
export { loadNgramModel, ngramModelFromJson } from './ngram-model';
export type { NgramAttribution, NgramModel } from './ngram-model';
export { loadFallbackModel } from './fallback-model';
export type { FallbackModel, FallbackPrediction } from './fallback-model';
export { followActiveModel } from './model-follower';
export type { ModelFollower, ModelFollowerOptions } from './model-follower';
export { ComparisonUnavailableError, SwitchFailedError, TRAINING_ROOT, activeOrDefault, compareModels, findModel, listModels, modelCardOf, nameUnder, switchModel } from './model-versions';
export type { ComparisonOutput, ModelBundle } from './model-versions';
