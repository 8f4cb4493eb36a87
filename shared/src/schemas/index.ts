export * from './ticket.schema';
