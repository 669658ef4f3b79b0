import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Filling the SIPp scenario files of test/fixtures/sipp: a name in double braces is a placeholder
 * this fills; [square brackets] are SIPp's own keywords and are left alone. A placeholder without
 * a value fails at once, naming it, instead of reaching SIPp as text.
 */

export const SIPP_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'sipp');

export type TemplateValues = Readonly<Record<string, string | number>>;

const PLACEHOLDER = /\{\{([a-z0-9_]+)\}\}/g;

/**
 * The file `name` (relative to test/fixtures/sipp, e.g. `cucm-leg.xml` or `parts/play-pcap.xml`)
 * with every placeholder replaced by its value; its last line break is left out, so a part fills a
 * placeholder in the middle of a line. Values are inserted as they are, not searched again.
 */
export function fillSippTemplate(name: string, values: TemplateValues): string {
  const text = readFileSync(join(SIPP_FIXTURES, name), 'utf8').replace(/\n$/, '');
  const missing = new Set<string>();
  const filled = text.replace(PLACEHOLDER, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) {
      missing.add(key);
      return whole;
    }
    return String(value);
  });
  if (missing.size > 0) {
    throw new Error(`sipp template ${name}: no value for ${[...missing].map((k) => `{{${k}}}`).join(', ')}`);
  }
  return filled;
}
