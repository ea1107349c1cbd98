import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHuaweiClient, type HuaweiClient, type HuaweiClientOptions } from '../../lib/huawei/client.ts';
import { NO_AUTH } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver } from '../../lib/huawei/endpoints.ts';

/** What the loopback server saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** The client's port: equal ports mean one reused keep-alive connection. */
  readonly remotePort: number | undefined;
}

export type Responder = (request: SeenRequest, res: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1:0 that records requests and answers with `respond`. */
export interface Loopback {
  readonly baseUrl: string;
  readonly seen: SeenRequest[];
  respond: Responder;
  close(): Promise<void>;
}

export async function startLoopback(respond: Responder = json(200, {})): Promise<Loopback> {
  const seen: SeenRequest[] = [];
  const state: { respond: Responder } = { respond };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort,
      };
      seen.push(request);
      state.respond(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    seen,
    get respond() {
      return state.respond;
    },
    set respond(next: Responder) {
      state.respond = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Responder {
  return (_request, res) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  };
}

/** Answers each request with the next responder; the last one repeats. */
export function sequence(...responders: Responder[]): Responder {
  let index = 0;
  return (request, res) => {
    const responder = responders[Math.min(index, responders.length - 1)] as Responder;
    index++;
    responder(request, res);
  };
}

/** A client whose every service in region `test-1` points at the loopback, with instant sleeps recorded. */
export function loopbackClient(
  baseUrl: string,
  options: Partial<HuaweiClientOptions> = {},
): { client: HuaweiClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam']) {
    overrides[`HUAWEICLOUD_SDK_REGION_${service.toUpperCase()}_TEST_1`] = `${baseUrl}/${service}`;
  }
  const client = createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: NO_AUTH,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { client, sleeps };
}
