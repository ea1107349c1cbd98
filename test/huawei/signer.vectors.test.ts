import { describe, expect, it } from 'vitest';
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  payloadHash,
  sha256Hex,
  sign,
} from '../../lib/huawei/signer.ts';

const docCredentials = { ak: 'QTWAOYTTINDUT2QVKYUC', sk: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc' };
const sdkCredentials = { ak: 'AccessKey', sk: 'SecretKey' };
const anyTime = new Date('2030-01-01T00:00:00Z'); // every vector carries its own X-Sdk-Date

function signatureOf(authorization: string): string {
  return /Signature=([0-9a-f]{64})$/.exec(authorization)?.[1] ?? '';
}

describe('signer against the published vectors (API.md)', () => {
  it('matches the documentation example: canonical request hash, signed headers and signature', () => {
    const url = new URL(
      'https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
    );
    const headers = {
      'content-type': 'application/json',
      host: 'service.region.example.com',
      'x-sdk-date': '20191115T033655Z',
    };
    const canonical = canonicalRequest({
      method: 'GET',
      pathname: url.pathname,
      query: url.searchParams,
      headers,
      payloadHash: payloadHash(headers, ''),
    });
    expect(sha256Hex(canonical.text)).toBe(
      'b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a',
    );
    const signed = sign({ method: 'GET', url, headers, body: '' }, docCredentials, anyTime);
    expect(signed.Authorization).toBe(
      'SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
    );
  });

  it('matches the Python SDK GET and POST vectors', () => {
    const url = new URL('https://service.endpoint.myhuaweicloud.com/resources?size=1');
    const headers = { 'X-Sdk-Date': '20200608T023900Z' };
    const get = sign({ method: 'GET', url, headers }, sdkCredentials, anyTime);
    expect(get.Authorization).toContain('SignedHeaders=host;x-sdk-date,');
    expect(signatureOf(get.Authorization)).toBe(
      'cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842',
    );
    const post = sign(
      { method: 'POST', url, headers, body: '{"name":"test","id":1}' },
      sdkCredentials,
      anyTime,
    );
    expect(signatureOf(post.Authorization)).toBe(
      '436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f',
    );
  });

  it('matches the Go SDK GET and POST vectors, where only x-sdk-date is signed', () => {
    const headers = { 'X-Sdk-Date': '20060102T150405Z' };
    const getUrl = new URL('https://example.huaweicloud.com/path?limit=1');
    const getCanonical = canonicalRequest({
      method: 'GET',
      pathname: getUrl.pathname,
      query: getUrl.searchParams,
      headers,
      payloadHash: payloadHash(headers, undefined),
    });
    expect(signatureOf(signFromCanonical(getCanonical.text, '20060102T150405Z'))).toBe(
      '5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    );
    const postUrl = new URL('https://example.huaweicloud.com/path?key=value');
    const body = '{"Name":"test","Id":1}\n';
    const postCanonical = canonicalRequest({
      method: 'POST',
      pathname: postUrl.pathname,
      query: postUrl.searchParams,
      headers,
      payloadHash: payloadHash(headers, body),
    });
    expect(signatureOf(signFromCanonical(postCanonical.text, '20060102T150405Z'))).toBe(
      'cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59',
    );
  });

  it('builds the canonical query of the published example', () => {
    const params: [string, string][] = [
      ['limit', '1'],
      ['enable', 'true'],
      ['test', '一 (&=?!#%.*)'],
      ['path', '/tmp/123'],
      ['multi', '3'],
      ['multi', '1'],
      ['multi', '2'],
    ];
    expect(canonicalQuery(params)).toBe(
      'enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29',
    );
  });

  it("escapes !'()* in path segments as Go and Python do, and always ends the URI in a slash", () => {
    expect(canonicalUri("/v1/a!b'c(d)e*f")).toBe('/v1/a%21b%27c%28d%29e%2Af/');
    expect(canonicalUri('/v1/x/')).toBe('/v1/x/');
    expect(canonicalUri('/v1/%E4%B8%80')).toBe('/v1/%E4%B8%80/');
    expect(canonicalUri('/')).toBe('/');
  });

  it('adds the security token of temporary credentials to the signed headers', () => {
    const url = new URL('https://cbr.ap-southeast-1.myhuaweicloud.com/v3/p/backups');
    const signed = sign(
      { method: 'GET', url, headers: {} },
      { ...sdkCredentials, securityToken: 'tok' },
      anyTime,
    );
    expect(signed['X-Security-Token']).toBe('tok');
    expect(signed.Authorization).toContain('SignedHeaders=host;x-sdk-date;x-security-token,');
    expect(signed['X-Sdk-Date']).toBe('20300101T000000Z');
  });
});

import { signature, stringToSign } from '../../lib/huawei/signer.ts';

function signFromCanonical(text: string, date: string): string {
  return `Signature=${signature(sdkCredentials.sk, stringToSign(date, text))}`;
}
