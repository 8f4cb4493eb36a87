export * from './ticket.schema';
export * from './alert.schema';
