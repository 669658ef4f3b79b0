import { readFileSync } from 'node:fs';

/** The package's version (package.json), for `--version`, getAPIVersion and the OpenAPI document. */
export function productVersion(): string {
  // src/version.ts and dist/version.js both sit one level below the package's package.json.
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0.0.0';
}
