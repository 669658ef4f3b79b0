import { Option, type Command } from 'commander';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/load.js';
import { helpTextOf } from '../config/option-docs.js';
import {
  CONFIG_OPTION_NAMES,
  camelNameOf,
  flagOf,
  optionSpec,
  type ConfigOptionName,
} from '../config/options.js';
import { UsageError } from './command-errors.js';

/** The schema's options as commander flags, and back from commander into loadConfig. */

type Flags = Partial<Record<ConfigOptionName, string | boolean>>;

export function configOption(name: ConfigOptionName): Option {
  if (!optionSpec(name).isFlag) {
    throw new Error(`no flag for config option ${name}`);
  }
  return new Option(flagOf(name), helpTextOf(name));
}

/** The configuration options the user typed on this command's line, as loadConfig wants them. */
function flagsOf(command: Command): Flags {
  const flags: Flags = {};
  for (const name of CONFIG_OPTION_NAMES) {
    // Commander stores `--no-tls` as `tls: false`.
    const attribute = name === 'no-tls' ? 'tls' : camelNameOf(name);
    if (optionSpec(name).isFlag && command.getOptionValueSource(attribute) === 'cli') {
      const value: unknown = command.getOptionValue(attribute);
      if (name === 'no-tls') {
        flags['no-tls'] = true;
      } else if (typeof value === 'string') {
        flags[name] = value;
      }
    }
  }
  return flags;
}

export function loadOrThrow(command: Command): Config {
  const loaded = loadConfig({ flags: flagsOf(command), env: process.env, cwd: process.cwd() });
  if (!loaded.ok) {
    throw new UsageError(loaded.error.map((p) => p.message));
  }
  return loaded.value;
}

/** The options of the commands that only open the database (`user …`, `migrate`). */
export function addDatabaseOptions(command: Command): Command {
  return command
    .addOption(configOption('config'))
    .addOption(configOption('data-dir'))
    .addOption(configOption('db'));
}
