export * from './ticket-store';
export * from './worker-registry';
