import { routeClass } from '../../api/access/rate-limit';
import { clientBucketId, emissionIntervalUs } from '../../access/rate-limit';

describe('route classes', () => {
  it.each([
    ['POST', '/v1/orders', 'orderWrite'],
    ['POST', '/v1/orders/', 'orderWrite'],
    ['POST', '/V1/Orders', 'orderWrite'],
    ['POST', '/v1/orders/abc/cancel', 'orderWrite'],
    ['POST', '/v1/orders/abc/cancel/', 'orderWrite'],
    ['PATCH', '/v1/orders', 'write'],
    ['POST', '/v1/orders/abc/events', 'write'],
    ['POST', '/v1/products', 'write'],
    ['PATCH', '/v1/products/abc', 'write'],
    ['DELETE', '/v1/orders/abc', 'write'],
    ['GET', '/v1/orders/abc', 'read'],
    ['HEAD', '/v1/products/search', 'read'],
    ['GET', '/v1', 'read'],
    ['GET', '/health/ready', undefined],
    ['GET', '/metrics', undefined],
    ['GET', '/openapi.json', undefined],
    ['GET', '/docs', undefined],
    ['POST', '/v1orders', undefined],
  ])('%s %s is %s', (method, path, expected) => {
    expect(routeClass(method, path)).toBe(expected);
  });
});

describe('IP buckets', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::9', '2001:db8:1:2::/64'],
    ['2001:DB8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s counts as %s', (ip, expected) => {
    expect(clientBucketId(ip)).toBe(expected);
  });
});

describe('refill rates', () => {
  it('turns a rate into whole microseconds between tokens, fractions included', () => {
    expect(emissionIntervalUs(1)).toBe(1_000_000);
    expect(emissionIntervalUs(0.5)).toBe(2_000_000);
    expect(emissionIntervalUs(3)).toBe(333_333);
    expect(emissionIntervalUs(10_000_000)).toBe(1);
  });
});
