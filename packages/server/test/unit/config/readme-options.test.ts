import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  README_TABLE_END,
  README_TABLE_START,
  helpTextOf,
  optionTableMarkdown,
} from '../../../src/config/option-docs.js';
import { CONFIG_OPTION_NAMES, defaultTextOf, envNameOf } from '../../../src/config/options.js';

/**
 * The README's table of `serve` options is generated from the schema (config/options.ts): a new
 * option, a changed default or description in one and not the other fails here.
 */

const README = resolve(import.meta.dirname, '../../../../../README.md');

function readmeTable(): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(README_TABLE_START);
  const end = text.indexOf(README_TABLE_END);
  assert.ok(
    start >= 0 && end > start,
    `README.md has no ${README_TABLE_START} … ${README_TABLE_END} section`,
  );
  return text.slice(start + README_TABLE_START.length, end).trim() + '\n';
}

void describe('README option table', () => {
  void it('is the table generated from the option schema', () => {
    const expected = optionTableMarkdown();
    assert.equal(
      readmeTable(),
      expected,
      `README.md's option table differs from the schema; replace it with:\n\n${expected}`,
    );
  });

  void it('lists every contract option of DESIGN.md §1.1 with its default', () => {
    const contract: [string, string][] = [
      ['data-dir', '`./data`'],
      ['bind', '`0.0.0.0`'],
      ['sip-port', '5060'],
      ['sip-tls-port', '5061'],
      ['http-port', '8440'],
      ['rtsp-port', '8554'],
      ['rtp-ports', '32768-61000'],
      ['db', '`sqlite:<data-dir>/verbatim.db`'],
      ['no-tls', 'off'],
      ['trusted-peers', 'loopback + RFC 1918 ranges'],
      ['node-id', 'host name'],
    ];
    const names: readonly string[] = CONFIG_OPTION_NAMES;
    for (const [name] of contract) {
      assert.ok(names.includes(name), name);
    }
    assert.ok(names.includes('advertise'));
    const table = optionTableMarkdown();
    for (const [name, defaultText] of contract) {
      assert.match(table, new RegExp(`\\| \`--${name}[ \`].*\\| ${escape(defaultText)} \\|`), name);
    }
  });

  void it('gives --help the same default and variable', () => {
    for (const name of CONFIG_OPTION_NAMES) {
      const help = helpTextOf(name);
      assert.ok(help.includes(`[${envNameOf(name)}]`), name);
      assert.ok(help.includes(`(default: ${defaultTextOf(name).replaceAll('`', '')})`), name);
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
