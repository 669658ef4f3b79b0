import { spawn } from 'node:child_process';
import type { Stats } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * The node's TLS key and certificate, shared by HTTPS and SIP over TLS (DESIGN.md §1.3: one
 * certificate). An operator may drop their own pair into `<data-dir>/tls/`; otherwise the first
 * start generates a self-signed one with openssl, so `npm start` serves HTTPS with no set-up.
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
  /** The openssl executable; tests point it elsewhere. */
  readonly opensslCommand?: string;
}

export type CertificateErrorCode =
  /** openssl is not installed or not on PATH. */
  | 'VERBATIM_ERR_TLS_OPENSSL_MISSING'
  /** openssl ran and failed. */
  | 'VERBATIM_ERR_TLS_GENERATE_FAILED'
  /** Only one of server.key and server.crt exists. */
  | 'VERBATIM_ERR_TLS_INCOMPLETE_PAIR';

export class CertificateError extends Error {
  readonly code: CertificateErrorCode;

  constructor(code: CertificateErrorCode, message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'CertificateError';
    this.code = code;
  }
}

/** 825 days: the longest validity Apple platforms accept for a TLS server certificate. */
const VALIDITY_DAYS = 825;
const OPENSSL_TIMEOUT_MS = 30_000;

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
  // Written under temporary names and renamed, so a crash mid-way never leaves a half pair behind
  // that the next start would take for the operator's own.
  const suffix = `.tmp-${process.pid}`;
  const tmpKey = keyPath + suffix;
  const tmpCert = certPath + suffix;
  try {
    await runOpenssl(options.opensslCommand ?? 'openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      String(VALIDITY_DAYS),
      '-subj',
      `/CN=${commonName.replace(/[/\\]/g, '_')}`,
      '-addext',
      `subjectAltName=${subjectAltName}`,
      '-keyout',
      tmpKey,
      '-out',
      tmpCert,
    ]);
    await chmod(tmpKey, 0o600);
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

function runOpenssl(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, OPENSSL_TIMEOUT_MS);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT'
          ? new CertificateError(
              'VERBATIM_ERR_TLS_OPENSSL_MISSING',
              `cannot generate a TLS certificate: '${command}' is not installed (apt-get install openssl), ` +
                'or put server.key and server.crt into <data-dir>/tls, or run with --no-tls --sip-tls-port 0',
              { cause: error },
            )
          : new CertificateError(
              'VERBATIM_ERR_TLS_GENERATE_FAILED',
              `cannot run '${command}': ${error.message}`,
              {
                cause: error,
              },
            ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
      } else {
        const reason = signal !== null ? `killed by ${signal}` : `exit code ${String(code)}`;
        reject(
          new CertificateError(
            'VERBATIM_ERR_TLS_GENERATE_FAILED',
            `openssl failed to generate a TLS certificate (${reason}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`,
          ),
        );
      }
    });
  });
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
