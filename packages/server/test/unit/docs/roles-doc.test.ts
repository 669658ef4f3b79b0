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

function documentedTable(): Map<string, Map<string, boolean>> {
  const text = readFileSync(API_DOC, 'utf8');
  const start = text.indexOf('<!-- roles-table');
  const end = text.indexOf('<!-- /roles-table -->');
  assert.ok(start >= 0 && end > start, 'docs/api.md has the roles table between its markers');
  const lines = text
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'));
  const header = (lines[0] ?? '').split('|').map((cell) => cell.trim());
  const table = new Map<string, Map<string, boolean>>();
  for (const line of lines.slice(2)) {
    const cells = line.split('|').map((cell) => cell.trim());
    const row = new Map<string, boolean>();
    header.forEach((name, column) => {
      if ((ROLES as readonly string[]).includes(name)) {
        row.set(name, cells[column] === 'yes');
      }
    });
    table.set(cells[1] ?? '', row);
  }
  return table;
}

void describe('docs/api.md roles table', () => {
  void it('lists every permission a role can hold, with exactly the roles that hold it', () => {
    const table = documentedTable();
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
