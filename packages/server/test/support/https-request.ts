import { request as plainRequestOf, type IncomingMessage } from 'node:http';
import { request as secureRequestOf } from 'node:https';

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface HttpsRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

function answerOf(
  res: IncomingMessage,
  resolve: (answer: HttpsAnswer) => void,
  reject: (error: Error) => void,
): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => {
    resolve({
      status: res.statusCode ?? 0,
      headers: res.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
  });
  res.on('error', reject);
}

/**
 * One HTTPS request that trusts only `ca` (the node's own certificate), since the global fetch
 * cannot be given a CA.
 */
export function httpsRequest(
  url: string,
  ca: string,
  options: HttpsRequestOptions = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = secureRequestOf(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca },
      (res) => answerOf(res, resolve, reject),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** One plain HTTP request, with any Host header (fetch would not send some). */
export function plainHttpRequest(url: string, options: HttpsRequestOptions = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = plainRequestOf(url, { method: options.method ?? 'GET', headers: options.headers }, (res) =>
      answerOf(res, resolve, reject),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
