import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROLE_PERMISSIONS, type Permission } from '../../../src/api/permissions.js';
import { ROLES } from '../../../src/model/user.js';

/**
 * The roles table of docs/api.md is what administrators read to decide who gets which role, so it
 * must say exactly what api/permissions.ts enforces: each row is a permission, each role column
 * yes or no.
 */

const API_DOC = resolve(import.meta.dirname, '../../../../../docs/api.md');

/**
 * The table's lines between the markers. Markdown ends a table at the first line that is not a
 * row, so a blank line (left by a merge, say) would silently drop every row after it from the
 * rendered table: the block must be one run of `|` lines.
 */
function tableLines(): string[] {
  const text = readFileSync(API_DOC, 'utf8');
  const start = text.indexOf('<!-- roles-table');
  const end = text.indexOf('<!-- /roles-table -->');
  assert.ok(start >= 0 && end > start, 'docs/api.md has the roles table between its markers');
  // The first line is the opening marker itself; the block ends with the newline before the closing one.
  const lines = text.slice(start, end).split('\n').slice(1, -1);
  return lines;
}

function documentedTable(lines: string[]): Map<string, Map<string, boolean>> {
  const header = (lines[0] ?? '').split('|').map((cell) => cell.trim());
  const table = new Map<string, Map<string, boolean>>();
  for (const line of lines.slice(2)) {
    const cells = line.split('|').map((cell) => cell.trim());
    const key = cells[1] ?? '';
    assert.ok(!table.has(key), `the roles table has the row ${key} once`);
    const row = new Map<string, boolean>();
    header.forEach((name, column) => {
      if ((ROLES as readonly string[]).includes(name)) {
        row.set(name, cells[column] === 'yes');
      }
    });
    table.set(key, row);
  }
  return table;
}

void describe('docs/api.md roles table', () => {
  void it('is one unbroken Markdown table (no blank or stray line inside it)', () => {
    const lines = tableLines();
    assert.ok(lines.length > 2, 'the table has a header, a separator and rows');
    lines.forEach((line, index) => {
      assert.match(
        line,
        /^\|.*\|$/,
        `line ${index + 1} of the roles table is a table row: ${JSON.stringify(line)}`,
      );
    });
  });

  void it('lists every permission a role can hold, once, with exactly the roles that hold it', () => {
    const table = documentedTable(tableLines());
    const permissions = new Set<Permission>(Object.values(ROLE_PERMISSIONS).flatMap((set) => [...set]));
    // Everyone holds these two; the doc says so in prose.
    permissions.delete('public');
    permissions.delete('signed-in');
    assert.deepEqual([...table.keys()].sort(), [...permissions].sort());
    for (const permission of permissions) {
      for (const role of ROLES) {
        assert.equal(
          table.get(permission)?.get(role),
          ROLE_PERMISSIONS[role].has(permission),
          `${role} / ${permission}`,
        );
      }
    }
  });
});
