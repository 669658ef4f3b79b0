import { Readable } from 'node:stream';
import type { Logger } from 'pino';

export interface VideoFlvOptions {
  readonly filePath: string;
  readonly payloadType: number;
  readonly clockRateHz: number;
  readonly sessionStartMs: number;
  readonly durationMs: number;
  readonly logger?: Logger;
}

export function openVideoFlv(_options: VideoFlvOptions): Readable {
  return Readable.from([]);
}
