/**
 * The one structured logger: Powertools Logger (JSON lines with level, message, timestamp, service and the
 * request ids the HTTP middleware appends), plus redaction by construction — the JSON replacer that every log
 * line goes through replaces the value of any secret-looking key, at any depth, before it is serialised.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from './config.ts';

export const REDACTED = '[REDACTED]';
export const SERVICE_NAME = 'hwc-retention';

/** Exact key names (normalised: lower case, letters and digits only) that always hold secrets. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'sk',
  'ak_sk',
  'password',
  'passwd',
  'pwd',
  'authorization',
  'proxyauthorization',
  'xauthtoken',
  'xsecuritytoken',
  'xsubjecttoken',
  'cookie',
  'setcookie',
  'signature',
  'credentials',
  'privatekey',
  'apikey',
]);
/** Substrings that make a key secret-looking wherever they appear (`secret_key`, `securityToken`, ...). */
const SECRET_FRAGMENTS = [
  'secret',
  'password',
  'token',
  'authorization',
  'credential',
  'privatekey',
  'apikey',
];

/** True for keys whose value must never be logged. */
export function isSecretKey(key: string): boolean {
  const normalised = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (normalised === '') return false;
  if (SECRET_KEYS.has(normalised)) return true;
  return SECRET_FRAGMENTS.some((fragment) => normalised.includes(fragment));
}

/**
 * Secrets that can hide inside free text (an error message quoting a header): signatures and auth headers.
 * Key-based redaction is the rule; this is the safety net for strings.
 */
const SECRET_IN_TEXT: readonly RegExp[] = [
  /(Signature=)[0-9a-fA-F]{16,}/g,
  /((?:X-Auth-Token|X-Security-Token|X-Subject-Token|Authorization)\s*[:=]\s*)[^\s,;"']+/gi,
];

function scrubText(text: string): string {
  let scrubbed = text;
  for (const pattern of SECRET_IN_TEXT) scrubbed = scrubbed.replace(pattern, `$1${REDACTED}`);
  return scrubbed;
}

/** The replacer every log line is serialised with: secret-looking keys lose their value, at any depth. */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (key !== '' && isSecretKey(key) && value !== undefined && value !== null) return REDACTED;
  if (typeof value === 'string') return scrubText(value);
  return value;
}

export interface CreateLoggerOptions {
  readonly serviceName?: string;
  /** Defaults to Powertools' own resolution (POWERTOOLS_LOG_LEVEL / LOG_LEVEL / AWS_LAMBDA_LOG_LEVEL, else INFO). */
  readonly logLevel?: LogLevel;
  readonly persistentKeys?: Record<string, unknown>;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  return new Logger({
    serviceName: options.serviceName ?? SERVICE_NAME,
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
    ...(options.persistentKeys === undefined ? {} : { persistentKeys: options.persistentKeys }),
    jsonReplacerFn: redactingReplacer,
  });
}

/** The process-wide logger; the HTTP middleware appends per-invocation keys and resets them afterwards. */
export const logger: Logger = createLogger();

export type { Logger };
