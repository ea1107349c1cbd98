import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Secret } from '../lib/config.ts';
import { createLogger, isSecretKey, REDACTED } from '../lib/logger.ts';

const SECRET = 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc';

/** Captures every line the logger writes to stdout/stderr and parses it as JSON. */
function captureLines(): { lines: () => Record<string, unknown>[]; raw: () => string } {
  const chunks: string[] = [];
  const record = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(record);
  vi.spyOn(process.stderr, 'write').mockImplementation(record);
  const raw = () => chunks.join('');
  return {
    raw,
    lines: () =>
      raw()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createLogger', () => {
  it('writes one JSON line with the fixed keys', () => {
    const out = captureLines();
    const log = createLogger({ serviceName: 'test-service', logLevel: 'INFO' });
    log.appendKeys({ request_id: 'req-1' });
    log.info('deleted', { backup_id: 'b-1' });
    const [line] = out.lines();
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'deleted',
      service: 'test-service',
      request_id: 'req-1',
      backup_id: 'b-1',
    });
    expect(typeof line?.timestamp).toBe('string');
  });

  it('redacts secret-looking keys at any depth', () => {
    const out = captureLines();
    const log = createLogger({ logLevel: 'DEBUG' });
    log.info('outgoing request', {
      sk: SECRET,
      request: {
        headers: {
          Authorization: `SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=${SECRET}`,
          'X-Auth-Token': SECRET,
          'x-security-token': SECRET,
          host: 'cbr.eu-de.example',
        },
        body: { auth: { identity: { password: { user: { name: 'u', password: SECRET } } } } },
      },
      credentials: [{ ak: 'AK', secret_key: SECRET }],
      nested: [[{ securityToken: SECRET, accessKeySecret: SECRET }]],
    });
    log.debug('config', { config: { sk: new Secret(SECRET) } });
    expect(out.raw()).not.toContain(SECRET);
    const [first] = out.lines();
    const request = first?.request as { headers: Record<string, unknown>; body: unknown };
    expect(request.headers.Authorization).toBe(REDACTED);
    expect(request.headers['X-Auth-Token']).toBe(REDACTED);
    expect(request.headers.host).toBe('cbr.eu-de.example');
    expect(first?.sk).toBe(REDACTED);
  });

  it('never prints a secret stored under any secret-looking key (property)', () => {
    const secretKeys = fc.constantFrom(
      'sk',
      'SK',
      'secret',
      'client_secret',
      'password',
      'Password',
      'token',
      'x-auth-token',
      'X-Security-Token',
      'x-subject-token',
      'authorization',
      'security_token',
      'credentials',
      'apiKey',
    );
    const plainKey = fc.constantFrom('id', 'name', 'project_id', 'items', 'meta');
    const secretValue = fc
      .string({ minLength: 12, maxLength: 24 })
      .map((s) => `S3CR3T-${s.replace(/\W/g, 'x')}`);
    fc.assert(
      fc.property(fc.array(plainKey, { maxLength: 4 }), secretKeys, secretValue, (path, key, value) => {
        let payload: Record<string, unknown> = { [key]: value };
        for (const segment of path.reverse()) payload = { [segment]: [payload] };
        const out = captureLines();
        createLogger({ logLevel: 'INFO' }).info('payload', { payload });
        const printed = out.raw();
        vi.restoreAllMocks();
        return printed.includes(REDACTED) && !printed.includes(value);
      }),
      { numRuns: 100 },
    );
  });

  it('scrubs signatures and auth headers quoted inside messages and error text', () => {
    const out = captureLines();
    const log = createLogger({ logLevel: 'INFO' });
    const signature = 'a'.repeat(64);
    log.error(`request failed: Authorization: SDK-HMAC-SHA256 Access=AK, Signature=${signature}`, {
      error: new Error(`upstream said X-Auth-Token: ${SECRET}`),
    });
    const printed = out.raw();
    expect(printed).not.toContain(signature);
    expect(printed).not.toContain(SECRET);
    expect(out.lines()[0]?.message).toContain(REDACTED);
  });

  it('keeps ordinary keys', () => {
    for (const key of ['request_id', 'project_id', 'backup_id', 'ak', 'message', 'status', 'host']) {
      expect(isSecretKey(key)).toBe(false);
    }
  });
});
