import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from '../config/config.js';

/**
 * The logger of `verbatim serve`: readable lines (pino-pretty) for a person at a terminal, one JSON
 * object a line for a log collector. `--log-format auto` picks by whether stdout is a terminal, so
 * `journalctl`, docker and the tests, which read a pipe, keep getting JSON.
 */

const REDACT = [
  'password',
  '*.password',
  'adminPassword',
  '*.adminPassword',
  'passwordHash',
  '*.passwordHash',
  'digestHa1',
  '*.digestHa1',
];

function usesPrettyLogs(format: Config['logFormat'], stdoutIsTerminal: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTerminal);
}

export async function createLogger(config: Config): Promise<Logger> {
  const options: LoggerOptions = { level: config.logLevel, base: { node: config.nodeId }, redact: REDACT };
  const terminal = process.stdout.isTTY;
  if (!usesPrettyLogs(config.logFormat, terminal)) {
    return pino(options);
  }
  // Loaded only when used. Synchronous, like pino's own stdout, so the line of a fatal error is
  // written before process.exit; in the main thread, as a terminal's log rate is a person's.
  const { default: pretty } = await import('pino-pretty');
  return pino(
    options,
    pretty({
      sync: true,
      destination: 1,
      colorize: terminal,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,node',
    }),
  );
}
