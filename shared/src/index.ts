export * from './config';
export * from './schemas';
export * from './queues';
export * from './logger';
export * from './store';
export * from './model';
export * from './shutdown';
export * from './monitoring';
