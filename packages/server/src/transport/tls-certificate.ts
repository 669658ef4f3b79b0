import type { Stats } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { generate } from 'selfsigned';
import { VerbatimError } from '../model/errors.js';

/**
 * The node's TLS key and certificate, shared by HTTPS and SIP over TLS (DESIGN.md §1.3: one
 * certificate). An operator may drop their own pair into `<data-dir>/tls/`; otherwise the first
 * start generates a self-signed one (the `selfsigned` package, in process: no openssl to install or
 * spawn), so `npm start` serves HTTPS with no set-up.
 */

export interface CertificatePair {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate. */
  readonly cert: string;
}

export interface CertificateOptions {
  /** Subject CN and first DNS name; defaults to the host name. */
  readonly commonName?: string;
  /** Extra subjectAltName entries, e.g. the advertised address. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

export type CertificateErrorCode =
  /** Only one of server.key and server.crt exists. */
  'VERBATIM_ERR_TLS_INCOMPLETE_PAIR';

export class CertificateError extends VerbatimError<CertificateErrorCode> {}

/** 825 days: the longest validity Apple platforms accept for a TLS server certificate. */
const VALIDITY_DAYS = 825;
const DAY_MS = 86_400_000;

export function certificatePaths(dataDir: string): { dir: string; keyPath: string; certPath: string } {
  const dir = join(dataDir, 'tls');
  return { dir, keyPath: join(dir, 'server.key'), certPath: join(dir, 'server.crt') };
}

export async function ensureCertificate(
  dataDir: string,
  logger: Logger,
  options: CertificateOptions = {},
): Promise<CertificatePair> {
  const { dir, keyPath, certPath } = certificatePaths(dataDir);
  const [keyStat, certStat] = await Promise.all([statOrUndefined(keyPath), statOrUndefined(certPath)]);
  if (keyStat !== undefined && certStat !== undefined) {
    // Like LiveKit, refuse nothing but say so: a key readable by others is a leak waiting to happen.
    if ((keyStat.mode & 0o077) !== 0) {
      logger.warn(
        { keyPath, mode: (keyStat.mode & 0o777).toString(8) },
        'TLS key is readable by other users; chmod 600 it',
      );
    }
    const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    logger.debug({ keyPath, certPath }, 'using existing TLS certificate');
    return { key, cert };
  }
  if (keyStat !== undefined || certStat !== undefined) {
    const [present, missing] = keyStat !== undefined ? [keyPath, certPath] : [certPath, keyPath];
    throw new CertificateError(
      'VERBATIM_ERR_TLS_INCOMPLETE_PAIR',
      `${present} exists but ${missing} does not: supply both, or remove it to have a self-signed pair generated`,
    );
  }

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const commonName = options.commonName ?? (os.hostname() || 'localhost');
  const dnsNames = unique([commonName, 'localhost', ...(options.dnsNames ?? [])]);
  const ipAddresses = unique(['127.0.0.1', '::1', ...(options.ipAddresses ?? [])]);
  const subjectAltName = [...dnsNames.map((n) => `DNS:${n}`), ...ipAddresses.map((a) => `IP:${a}`)].join(',');
  const notBeforeDate = new Date();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALIDITY_DAYS * DAY_MS),
    // The extensions `openssl req -x509` wrote before: a self-signed root that clients may pin.
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...dnsNames.map((value) => ({ type: 2 as const, value })),
          ...ipAddresses.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  // Written under temporary names and renamed, so a crash mid-way never leaves a half pair behind
  // that the next start would take for the operator's own.
  const suffix = `.tmp-${process.pid}`;
  const tmpKey = keyPath + suffix;
  const tmpCert = certPath + suffix;
  try {
    await writeFile(tmpKey, pems.private, { mode: 0o600 });
    await writeFile(tmpCert, pems.cert);
    await rename(tmpKey, keyPath);
    await rename(tmpCert, certPath);
  } finally {
    await Promise.all([rm(tmpKey, { force: true }), rm(tmpCert, { force: true })]);
  }
  const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
  logger.info(
    { certPath, commonName, subjectAltName, validityDays: VALIDITY_DAYS },
    'generated a self-signed TLS certificate; replace server.key and server.crt to use your own',
  );
  return { key, cert };
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}
