export * from './env';
export * from './alerts.config';
export * from './gateway.config';
export * from './worker.config';
export * from './launcher.config';
export * from './agents.config';
export * from './drift.config';
