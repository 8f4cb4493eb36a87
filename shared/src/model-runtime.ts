/**
 * What the worker's inference thread takes from shared, and nothing more. A worker_thread is its own
 * V8 isolate: every module it loads costs that isolate its own copy, and the package's main entry
 * brings zod, ioredis and winston (~20 MB of RSS per worker) that the thread never uses.
 */
export { errorMessage } from './error-message';
export { ModelLoadError } from './model/errors';
export { toWellFormed } from './model/text';
export type { ModelConfig } from './model/model-config';
