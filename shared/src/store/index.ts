export * from './ticket-store';
export * from './worker-registry';
export * from './alert-log';
export * from './api-key-store';
export * from './stats-store';
export * from './feedback-reader';
export * from './queue-policy';
export { DeadlinePassedError } from './deadline';
export * from './model-registry';
