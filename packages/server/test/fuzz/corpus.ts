/**
 * The seed corpus kept in the repository: test/fixtures/fuzz-corpus/<corpus>/ holds real inputs
 * (from the SIP, SIPREC and CUBE fixtures, which come from docs/intake-samples), and its
 * `regressions/` folder every input that ever broke a parser. Seeds feed the mutation generators;
 * regressions are replayed by every property of the corpus on each run.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_ROOT = fileURLToPath(new URL('../fixtures/fuzz-corpus/', import.meta.url));

export interface CorpusFile {
  /** Path from the repository root, for messages. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

function readFolder(folder: string): CorpusFile[] {
  if (!existsSync(folder)) {
    return [];
  }
  return readdirSync(folder)
    .sort()
    .map((name) => join(folder, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => ({ path: relative(process.cwd(), path), bytes: new Uint8Array(readFileSync(path)) }));
}

export function seedFiles(corpus: string): CorpusFile[] {
  return readFolder(join(CORPUS_ROOT, corpus));
}

export function regressionFiles(corpus: string): CorpusFile[] {
  return readFolder(join(CORPUS_ROOT, corpus, 'regressions'));
}

/**
 * The seeds, as the pool that mutations start from. Regressions are left out on purpose: a
 * finding written there must not change the pool, or its seed and path would replay another
 * input (they are replayed as they are by every run instead).
 */
export function seedInputs(corpus: string): Uint8Array[] {
  return seedFiles(corpus).map((file) => file.bytes);
}

/** Keeps a finding as a regression; the name is derived from the property and the seed. */
export function writeRegression(corpus: string, name: string, bytes: Uint8Array): string {
  const folder = join(CORPUS_ROOT, corpus, 'regressions');
  mkdirSync(folder, { recursive: true });
  const path = join(folder, name);
  writeFileSync(path, bytes);
  return relative(process.cwd(), path);
}
