import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configDefaults, loadConfig } from '../../platform/config';
import { configProblems } from '../support/config-problems';

const problemsOf = configProblems;

describe('config', () => {
  it('gives the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBe(configDefaults.DATABASE_URL);
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.embeddedPostgres).toBe('auto');
  });

  it('treats an empty variable as unset, as compose files write `VAR=`', () => {
    expect(loadConfig({ PORT: '' }).http.port).toBe(3000);
  });

  it('coerces numbers and flags', () => {
    const config = loadConfig({ PORT: '8080', TRUST_PROXY: '1', DATABASE_POOL_SIZE: '3' });
    expect(config.http).toMatchObject({ port: 8080, trustProxy: 1 });
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).http.trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    expect(loadConfig({ TRUST_PROXY: 'false' }).http.trustProxy).toBe(false);
    expect(config.database.poolSize).toBe(3);
  });

  it.each([
    ['PORT', 'abc', 'PORT must be a port number'],
    ['PORT', '70000', 'PORT must be between 1 and 65535'],
    ['PORT', '80.5', 'PORT must be a whole number'],
    ['DATABASE_URL', 'nonsense', 'DATABASE_URL must be a postgres:// or postgresql:// URL with a host'],
    ['DATABASE_URL', 'mysql://db/x', 'DATABASE_URL must be a postgres:// or postgresql:// URL with a host'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a redis:// or rediss:// URL with a host'],
    ['TEMPORAL_ADDRESS', 'http://x', 'TEMPORAL_ADDRESS must be host:port, e.g. 127.0.0.1:7233'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent'],
    ...['yes', 'true'].map((value) => [
      'TRUST_PROXY',
      value,
      'TRUST_PROXY must be false, a number of proxy hops (e.g. 1), or trusted proxy addresses/subnets (e.g. loopback,10.0.0.0/8); true is refused: it would believe any client-written X-Forwarded-For',
    ]),
    ['HEALTH_TIMEOUT_MS', '-5', 'HEALTH_TIMEOUT_MS must be greater than 0'],
  ])('%s=%s is refused with "%s"', (variable, value, expected) => {
    expect(problemsOf({ [variable]: value })).toEqual([expected]);
  });

  it('names every bad variable at once', () => {
    expect(problemsOf({ PORT: 'abc', REDIS_URL: 'nope' })).toEqual([
      'PORT must be a port number',
      'REDIS_URL must be a redis:// or rediss:// URL with a host',
    ]);
  });

  it('never echoes a URL value, which may carry a password', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres//user:s3cret@host' });
    expect(problems.join()).not.toContain('s3cret');
  });

  it('.env.example lists exactly the variables config reads, each with its default', () => {
    const example = readFileSync(path.resolve(__dirname, '../../.env.example'), 'utf8');
    const documented = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const expected = Object.fromEntries(Object.entries(configDefaults).map(([name, value]) => [name, value ?? '']));
    expect(documented).toEqual(expected);
  });
});

describe('README configuration table', () => {
  it('documents every variable with its default', () => {
    const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    for (const [name, value] of Object.entries(configDefaults)) {
      // Prettier pads table cells, so a row is found by its first cell, whatever the spacing.
      const row = readme.split('\n').find((line) => new RegExp(`^\\|\\s*\`${name}\`\\s+\\|`).test(line));
      expect(row).toBeDefined();
      expect(row).toContain(value === undefined ? '(empty)' : `\`${value}\``);
    }
  });
});
