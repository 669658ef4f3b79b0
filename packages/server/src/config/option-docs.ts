import {
  CONFIG_OPTION_NAMES,
  defaultTextOf,
  envNameOf,
  optionSpec,
  type ConfigOptionName,
} from './options.js';

/**
 * The documentation of the options, derived from the schema in options.ts: the --help line of each
 * flag and the README's option table (test/unit/config/readme-options.test.ts compares the README
 * with `optionTableMarkdown()`, so editing one without the other fails the tests).
 */

/** `--sip-port N`, as the README writes it; the options without a flag are named by their key. */
function optionCell(name: ConfigOptionName): string {
  const spec = optionSpec(name);
  if (!spec.isFlag) {
    return `\`${name}\` (no flag)`;
  }
  return spec.argument === undefined ? `\`--${name}\`` : `\`--${name} ${spec.argument}\``;
}

/** The text after the flag in `verbatim serve --help`: meaning, default and variable. */
export function helpTextOf(name: ConfigOptionName): string {
  const spec = optionSpec(name);
  const plain = (text: string): string => text.replaceAll('`', '');
  return `${plain(spec.description)} (default: ${plain(defaultTextOf(name))}) [${envNameOf(name)}]`;
}

/** The Markdown table of every option, one row each in schema order. */
export function optionTableMarkdown(): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  const rows = CONFIG_OPTION_NAMES.map((name) => {
    const spec = optionSpec(name);
    const variable = `\`${envNameOf(name)}\``;
    return `| ${optionCell(name)} | ${variable} | ${cell(defaultTextOf(name))} | ${cell(spec.description)} |`;
  });
  return ['| option | variable | default | meaning |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The README lines that enclose the generated table. */
export const README_TABLE_START =
  '<!-- serve options: generated from packages/server/src/config/options.ts -->';
export const README_TABLE_END = '<!-- end of serve options -->';
