/**
 * `sign` reads the query straight from `url.search` (a fast path); these properties hold it to the generic
 * route through `url.searchParams` for raw, hand-written queries that URLSearchParams would never serialise:
 * lower-case and malformed escapes, escapes of unreserved characters, `+`, UTF-8 and broken UTF-8.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRequest, sign, signature, stringToSign } from '../../lib/huawei/signer.ts';

const credentials = { ak: 'AK', sk: 'SK' };
const date = '20261127T010203Z';
const headers = { host: 'h.example.com', 'X-Sdk-Date': date };

function viaSearchParams(url: URL): string {
  const canonical = canonicalRequest({
    method: 'GET',
    pathname: url.pathname,
    query: url.searchParams,
    headers,
    payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  });
  return `SDK-HMAC-SHA256 Access=AK, SignedHeaders=${canonical.signedNames}, Signature=${signature('SK', stringToSign(date, canonical.text))}`;
}

const rawPiece = fc.oneof(
  fc.constantFrom(...'aZ09-_.~+=&!*:/@'),
  fc.constantFrom(
    '%41',
    '%7e',
    '%7E',
    '%2D',
    '%3A',
    '%3a',
    '%2B',
    '%20',
    '%25',
    '%',
    '%G1',
    '%E4%B8%80',
    '%C3',
    '%FF',
    '%00',
    '%7F',
  ),
  fc.constantFrom('é', '中', '😀', ' '),
);
const rawQuery = fc.array(rawPiece, { maxLength: 30 }).map((pieces) => pieces.join(''));

describe('sign reads the query as URLSearchParams does', () => {
  it('gives the same Authorization as canonicalQuery(url.searchParams) for raw queries', () => {
    fc.assert(
      fc.property(rawQuery, (query) => {
        const url = new URL(`https://h.example.com/v1/x?${query}`);
        expect(sign({ method: 'GET', url, headers }, credentials, new Date()).Authorization).toBe(
          viaSearchParams(url),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees on near-canonical queries, where the already-canonical shortcut is most often taken', () => {
    const piece = fc.constantFrom('a', 'b', 'a', '=', '&', '%3A', '%41', '%2B', '+', '%3a');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }), (pieces) => {
        const url = new URL(`https://h.example.com/v1/x?${pieces.join('')}`);
        expect(sign({ method: 'GET', url, headers }, credentials, new Date()).Authorization).toBe(
          viaSearchParams(url),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['a=b=c', 'a=b%3Dc'],
    ['b=1&a=2', 'a=2&b=1'],
    ['a=2&a=1', 'a=1&a=2'],
    ['a=1&a=1', 'a=1&a=1'],
    ['a&b=', 'a=&b='],
    ['a=1&&b=2&', 'a=1&b=2'],
    ['%41=1&B=2', 'A=1&B=2'],
  ])('canonicalises the raw query %s as %s', (raw, expected) => {
    const url = new URL(`https://h.example.com/v1/x?${raw}`);
    const canonical = canonicalRequest({
      method: 'GET',
      pathname: url.pathname,
      query: url.searchParams,
      headers,
      payloadHash: '-',
    }).text;
    expect(canonical.split('\n')[2]).toBe(expected);
    expect(sign({ method: 'GET', url, headers }, credentials, new Date()).Authorization).toBe(
      viaSearchParams(url),
    );
  });

  it('re-encodes an escaped unreserved character and upper-cases lower-case escapes', () => {
    const url = new URL('https://h.example.com/v1/x?k=%41%7e%3a&b=%2B+x');
    const canonical = canonicalRequest({
      method: 'GET',
      pathname: url.pathname,
      query: url.searchParams,
      headers,
      payloadHash: '-',
    }).text;
    expect(canonical.split('\n')[2]).toBe('b=%2B%20x&k=A~%3A');
    expect(sign({ method: 'GET', url, headers }, credentials, new Date()).Authorization).toBe(
      viaSearchParams(url),
    );
  });
});
