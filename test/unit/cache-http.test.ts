import { etagOf } from '../../read-models/cache';
import { ifNoneMatchMatches } from '../../api/http/http-cache';

describe('read cache ETags', () => {
  it('are strong, quoted and follow the body', () => {
    const etag = etagOf('{"id":1}');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(etagOf('{"id":1}')).toBe(etag);
    expect(etagOf('{"id":2}')).not.toBe(etag);
  });
});

describe('If-None-Match (RFC 9110 13.1.2)', () => {
  const etag = '"abc"';

  it.each([
    ['the same tag', '"abc"'],
    ['any representation', '*'],
    ['a list holding the tag', '"x", "abc" ,"y"'],
    ['the weak form of the tag (weak comparison)', 'W/"abc"'],
    ['the tag in a list with a comma inside another tag', '"a,b", W/"abc"'],
  ])('matches %s', (_, header) => {
    expect(ifNoneMatchMatches(header, etag)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['another tag', '"abd"'],
    ['a list without the tag', '"x", W/"y"'],
    ['an unquoted tag', 'abc'],
    ['an empty header', ''],
    ['a tag that only contains it', '"abcd"'],
  ])('does not match %s', (_, header) => {
    expect(ifNoneMatchMatches(header, etag)).toBe(false);
  });
});
