/**
 * Where the integration tests find the machine's services. Tests never use the developer's
 * databases: they create their own on this server. Redis database 13 keeps test keys apart.
 */
export const testServices = {
  postgresUrl: process.env['TEST_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/13',
};
