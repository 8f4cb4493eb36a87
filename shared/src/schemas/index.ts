export * from './ticket.schema';
export * from './alert.schema';
export * from './v1.schema';
export * from './auth.schema';
export * from './learning.schema';
export * from './explain.schema';
export * from './agent.schema';
export * from './system.schema';
