/**
 * `npm run bench -- signer`: microseconds per signature for our `sign`, the official Node SDK's `AKSKSigner.sign`
 * and the crypto floor, in one process after warm-up. Fails (exit 1) when ours is above 1.5x the issue's floor.
 *
 * Two floors are printed. The gate uses the issue's definition: "two SHA-256 and one HMAC over the same
 * strings" — SHA-256 of the body (empty for a GET), SHA-256 of the canonical request, HMAC of the string to
 * sign. The strict floor, printed for information, is only the hashing our signer actually does:
 *   SHA-256 hex of the canonical request + HMAC-SHA256 hex of the string to sign (key = SK as a string),
 *   + SHA-256 hex of the body when there is one (an empty body's hash is a constant, so no-body requests
 *   have no body hash in the floor).
 * It uses the fastest primitives Node offers, the same ones our signer uses (`crypto.hash` one-shot SHA-256,
 * `createHmac` with a prepared KeyObject), so the ratio measures only our own string work. For reference the
 * bench also prints the "classic" floor (`createHash().update().digest()`, `createHmac` with the SK string),
 * which is what most code, and the official SDK, does.
 * Rounds are short and interleaved (ours, sdk, floor, classic floor, ours, ...), so drift on a busy machine hits
 * all alike. The figure used is the 10th percentile of the rounds: other processes on a shared 2-core box only
 * ever add time, so a low percentile estimates the undisturbed cost better than the median (also printed).
 */
import { createHash, createHmac, createSecretKey, hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { canonicalRequest, payloadHash, sign, stringToSign } from '../lib/huawei/signer.ts';

interface SdkSigner {
  sign(request: unknown, credential: { getAk(): string; getSk(): string }): Record<string, string>;
}
const require = createRequire(import.meta.url);
const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js') as {
  AKSKSigner: SdkSigner;
};

const TARGET_RATIO = 1.5;
const WARMUP = 30_000;
const ROUNDS = 60;
const PER_ROUND = 3_000;

const credentials = { ak: 'HPUAEXAMPLEAK0000001', sk: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc' };
const key = createSecretKey(Buffer.from(credentials.sk, 'utf8'));
const sdkCredential = { getAk: () => credentials.ak, getSk: () => credentials.sk };
const now = new Date('2026-11-27T01:02:03Z');
const sdkDate = '20261127T010203Z';
const host = 'cbr.eu-west-101.myhuaweicloud.eu';
const projectId = '77b6a44cba5143ab91d13ab9a8ff44fd';

interface Scenario {
  readonly name: string;
  readonly ours: () => string;
  readonly sdk: () => string;
  readonly floor: () => string;
  readonly issueFloor: () => string;
  readonly classicFloor: () => string;
  readonly floorParts: string;
}

function scenario(
  name: string,
  method: string,
  path: string,
  query: Record<string, string>,
  body: Record<string, unknown> | undefined,
): Scenario {
  const url = new URL(`https://${host}${path}`);
  for (const [key, value] of Object.entries(query)) url.searchParams.append(key, value);
  const headers = { 'content-type': 'application/json', host, 'X-Sdk-Date': sdkDate };
  const bodyText = body === undefined ? undefined : JSON.stringify(body);
  const request = { method, url, headers, body: bodyText };
  const sdkRequest = {
    endpoint: `https://${host}${path}`,
    method,
    headers,
    queryParams: query,
    data: body,
  };

  // The exact strings our signer hashes, computed once with its own steps.
  const canonical = canonicalRequest({
    method,
    pathname: url.pathname,
    query: url.searchParams,
    headers,
    payloadHash: payloadHash(headers, bodyText),
  }).text;
  const toSign = stringToSign(sdkDate, canonical);
  const ours = sign(request, credentials, now).Authorization;
  const official = AKSKSigner.sign(sdkRequest, sdkCredential).Authorization;
  if (ours !== official) throw new Error(`${name}: signers disagree\n  ours ${ours}\n  sdk  ${official}`);

  const hmac = () => createHmac('sha256', key).update(toSign).digest('hex');
  const floor =
    bodyText === undefined
      ? () => hash('sha256', canonical, 'hex') + hmac()
      : () => hash('sha256', bodyText, 'hex') + hash('sha256', canonical, 'hex') + hmac();
  const issueFloor = () => hash('sha256', bodyText ?? '', 'hex') + hash('sha256', canonical, 'hex') + hmac();
  const classicHmac = () => createHmac('sha256', credentials.sk).update(toSign).digest('hex');
  const classicFloor =
    bodyText === undefined
      ? () => createHash('sha256').update(canonical).digest('hex') + classicHmac()
      : () =>
          createHash('sha256').update(bodyText).digest('hex') +
          createHash('sha256').update(canonical).digest('hex') +
          classicHmac();
  return {
    name,
    ours: () => sign(request, credentials, now).Authorization,
    sdk: () => AKSKSigner.sign(sdkRequest, sdkCredential).Authorization as string,
    floor,
    issueFloor,
    classicFloor,
    floorParts:
      bodyText === undefined
        ? 'SHA-256(canonical request) + HMAC(string to sign)'
        : `SHA-256(body, ${bodyText.length} B) + SHA-256(canonical request) + HMAC(string to sign)`,
  };
}

let sink = 0;
function round(fn: () => string, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += fn().length;
  return Number(process.hrtime.bigint() - start) / 1000 / n; // µs per call
}

interface Timing {
  readonly p10: number;
  readonly median: number;
}
function timing(values: number[]): Timing {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.floor((sorted.length - 1) * p)] as number;
  return { p10: at(0.1), median: at(0.5) };
}

const gc = (globalThis as { gc?: () => void }).gc;
type Contender = 'ours' | 'sdk' | 'floor' | 'issueFloor' | 'classicFloor';
const contenders: readonly Contender[] = ['ours', 'sdk', 'floor', 'issueFloor', 'classicFloor'];

function measure(s: Scenario): Record<Contender, Timing> {
  gc?.(); // once per scenario: a forced full GC before every round shrinks the young generation and then
  // charges the next round for regrowing it, which punishes whichever contender allocates most
  for (const c of contenders) round(s[c], WARMUP);
  const times: Record<Contender, number[]> = {
    ours: [],
    sdk: [],
    floor: [],
    issueFloor: [],
    classicFloor: [],
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of contenders) times[c].push(round(s[c], PER_ROUND));
  }
  return {
    ours: timing(times.ours),
    sdk: timing(times.sdk),
    floor: timing(times.floor),
    issueFloor: timing(times.issueFloor),
    classicFloor: timing(times.classicFloor),
  };
}

const scenarios = [
  scenario(
    'CBR list (GET, 4 query params, no body)',
    'GET',
    `/v3/${projectId}/backups`,
    {
      limit: '100',
      offset: '0',
      resource_type: 'OS::Nova::Server',
      vault_id: '3b5816b5-f29c-4172-9d9a-76c719a659ce',
    },
    undefined,
  ),
  scenario(
    'CBR batch delete (POST, small JSON body)',
    'POST',
    `/v3/${projectId}/backups/batch-delete`,
    {},
    { backup_ids: ['6df2b54c-dd62-4059-a07c-1b8f24f2725d', '19c7dc8d-0b3a-4a6f-bd22-e8b0d4a4a8f1'] },
  ),
];

console.log(
  `node ${process.version}; ${WARMUP} warm-up calls each; ${ROUNDS} interleaved rounds x ${PER_ROUND} calls;` +
    ' µs per call as p10 (median) of the rounds',
);
const show = (t: Timing): string => `${t.p10.toFixed(2).padStart(6)} (${t.median.toFixed(2).padStart(6)})`;
let worst = 0;
for (const s of scenarios) {
  const m = measure(s);
  const ratio = m.ours.p10 / m.issueFloor.p10;
  const medianRatio = m.ours.median / m.issueFloor.median;
  const strictRatio = m.ours.p10 / m.floor.p10;
  worst = Math.max(worst, ratio);
  console.log(`\n${s.name}`);
  console.log(`  ours sign():          ${show(m.ours)} µs/signature`);
  console.log(`  official AKSKSigner:  ${show(m.sdk)} µs/signature`);
  console.log(
    `  issue's floor:        ${show(m.issueFloor)} µs  (SHA-256(body, empty for a GET) + SHA-256(canonical request) + HMAC)`,
  );
  console.log(`  strict floor:         ${show(m.floor)} µs  (${s.floorParts}; crypto.hash, KeyObject HMAC)`);
  console.log(
    `  classic floor:        ${show(m.classicFloor)} µs  (same via createHash and createHmac(SK string))`,
  );
  console.log(
    `  ratio ours/issue's:   ${ratio.toFixed(2).padStart(6)}x  (median ${medianRatio.toFixed(2)}x; target <= ${TARGET_RATIO}x)`,
  );
  console.log(`  ratio ours/strict:    ${strictRatio.toFixed(2).padStart(6)}x  (information)`);
  console.log(`  ratio official/ours:  ${(m.sdk.p10 / m.ours.p10).toFixed(2).padStart(6)}x`);
}
if (sink === 0) console.log('(sink)');
const ok = worst <= TARGET_RATIO;
console.log(
  `\nsigner: worst ours/issue's floor ${worst.toFixed(2)}x -> ${ok ? 'PASS' : 'FAIL'} (target <= ${TARGET_RATIO}x)`,
);
process.exit(ok ? 0 : 1);
