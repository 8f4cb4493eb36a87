import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from './logger';

describe('createLogger', () => {
  it('drops entries below its level before they are formatted, and formats the rest as JSON lines', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('test', 'info');
    logger.clear();
    // A transport that would take everything: only the logger's own level can keep entries from it.
    logger.add(new winston.transports.Stream({ stream: sink, level: 'silly' }));
    logger.child({ request_id: 'r1' }).http('request', { status: 202 });
    logger.debug('detail');
    logger.warn('slow', { ms: 12 });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'warn', message: 'slow', ms: 12, service: 'test', timestamp: expect.any(String) }),
    ]);
  });
});
