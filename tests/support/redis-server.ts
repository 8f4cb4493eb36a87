export { type RedisServerHandle, freePort, startRedisServer } from '../../scripts/src/embedded-redis';
