export { RemoteWorker, type RemoteWorkerOptions } from './remote-worker.js';
export { RedisNames } from './redis-names.js';
export { connectRedis } from './redis-connection.js';
