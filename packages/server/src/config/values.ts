import { resolve } from 'node:path';
import type { DatabaseConfig } from './config.js';

/**
 * Readers for the raw values of options: the text of a flag or VERBATIM_* variable, or any value of
 * the YAML file (where `5060` is already a number and `true` a boolean).
 */

export function integerOf(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? value : undefined;
  }
  return typeof value === 'string' && /^\s*\d{1,5}\s*$/.test(value) ? Number(value) : undefined;
}

export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : undefined;
  }
  return typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : undefined;
}

export function booleanOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') {
    return value;
  }
  const text =
    typeof value === 'string' ? value.trim().toLowerCase() : typeof value === 'number' ? String(value) : '';
  if (['1', 'true', 'yes', 'on'].includes(text)) {
    return true;
  }
  if (['0', 'false', 'no', 'off'].includes(text)) {
    return false;
  }
  return undefined;
}

/** A value as it appears in messages: strings quoted, anything else as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    return `'${value}'`;
  }
  const json = JSON.stringify(value) as string | undefined;
  return json ?? String(value);
}

/**
 * `sqlite:PATH` (also `sqlite://PATH`, `sqlite::memory:`) or `postgres://…` / `postgresql://…`;
 * a string is the problem, for a message.
 */
export function parseDatabase(value: unknown, baseDir: string): DatabaseConfig | string {
  if (typeof value !== 'string') {
    return `${show(value)} is not a database URL (use sqlite:PATH or postgres://…)`;
  }
  const text = value.trim();
  if (text.startsWith('sqlite:')) {
    let path = text.slice('sqlite:'.length);
    if (path.startsWith('//')) {
      path = path.slice(2);
    }
    if (path === '') {
      return `'${text}' names no file (use sqlite:PATH)`;
    }
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(baseDir, path) };
  }
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) {
    try {
      new URL(text);
    } catch {
      // The URL class explains nothing useful here; the message below does.
      return `'${redactUrl(text)}' is not a valid URL`;
    }
    return { kind: 'postgres', url: text };
  }
  return `unsupported URL '${redactUrl(text)}' (use sqlite:PATH or postgres://…)`;
}

/** Hides the password of `scheme://user:password@host` in messages. */
function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
