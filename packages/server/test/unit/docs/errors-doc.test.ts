import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * docs/errors.md is the registry of every error code (protocol/result.ts points readers to it), so
 * it must list exactly the codes the server can raise: a new code without a row, or a row for a
 * code that was removed, fails here.
 */

const SRC_DIR = resolve(import.meta.dirname, '../../../src');
const ERRORS_DOC = resolve(import.meta.dirname, '../../../../../docs/errors.md');

/** A code as a whole token: `VERBATIM_ERR_<AREA>_<WHAT>`, never ending on an underscore. */
const CODE = 'VERBATIM_ERR_[A-Z0-9]+(?:_[A-Z0-9]+)+';
/** A code written as a complete string literal in TypeScript: '…', "…" or `…`. */
const CODE_LITERAL = new RegExp(`(['"\`])(${CODE})\\1`, 'g');
const CODE_ANYWHERE = new RegExp(`\\b${CODE}\\b`, 'g');
/** A registry row: a Markdown table row whose first cell is the code in backticks. */
const REGISTRY_ROW = new RegExp(`^\\|\\s*\`(${CODE})\`\\s*\\|`, 'gm');

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

/** Every code literal in src, with the files it appears in (for the failure message). */
function codesInSource(): Map<string, string[]> {
  const codes = new Map<string, string[]>();
  for (const file of typeScriptFiles(SRC_DIR)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(CODE_LITERAL)) {
      const code = match[2]!;
      const files = codes.get(code) ?? [];
      const relative = file.slice(SRC_DIR.length + 1);
      if (!files.includes(relative)) {
        files.push(relative);
      }
      codes.set(code, files);
    }
  }
  return codes;
}

const doc = readFileSync(ERRORS_DOC, 'utf8');
const sourceCodes = codesInSource();
const documentedRows = [...doc.matchAll(REGISTRY_ROW)].map((match) => match[1]!);
const mentioned = new Set([...doc.matchAll(CODE_ANYWHERE)].map((match) => match[0]));

describe('docs/errors.md', () => {
  it('the scan finds the codes of several areas in src', () => {
    // Guards the scanner itself: a broken path or pattern would make the checks below vacuous.
    for (const code of [
      'VERBATIM_ERR_SIP_TOO_LARGE',
      'VERBATIM_ERR_RTP_VERSION',
      'VERBATIM_ERR_DB_NOT_FOUND',
      'VERBATIM_ERR_API_QUERY_PAGING',
    ]) {
      assert.ok(sourceCodes.has(code), `${code} not found under ${SRC_DIR}`);
    }
  });

  it('has a table row for every code defined in packages/server/src', () => {
    const documented = new Set(documentedRows);
    const missing = [...sourceCodes]
      .filter(([code]) => !documented.has(code))
      .map(([code, files]) => `${code} (${files.join(', ')})`);
    assert.deepEqual(missing, [], `codes without a row in docs/errors.md:\n${missing.join('\n')}`);
  });

  it('names no code that no longer exists in packages/server/src', () => {
    const stale = [...mentioned].filter((code) => !sourceCodes.has(code)).sort();
    assert.deepEqual(stale, [], `docs/errors.md names codes absent from src:\n${stale.join('\n')}`);
  });

  it('documents each code in one row only', () => {
    const duplicates = documentedRows.filter((code, index) => documentedRows.indexOf(code) !== index);
    assert.deepEqual(duplicates, []);
  });

  it('every error class in src belongs to the one family (extends VerbatimError)', () => {
    // Callers branch on `code`; a class extending Error directly would carry none.
    const strays: string[] = [];
    for (const file of typeScriptFiles(SRC_DIR)) {
      const relative = file.slice(SRC_DIR.length + 1);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(
        /^\s*(?:export\s+)?(?:abstract\s+)?class\s+(\w+)[^{]*\bextends\s+(?:Error|TypeError|RangeError)\b/gm,
      )) {
        if (!(relative === join('model', 'errors.ts') && match[1] === 'VerbatimError')) {
          strays.push(`${relative}: ${match[1]}`);
        }
      }
    }
    assert.deepEqual(strays, [], `error classes outside the family:\n${strays.join('\n')}`);
  });
});
