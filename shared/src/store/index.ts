export * from './ticket-store';
export * from './worker-registry';
export * from './alert-log';
