import type { Command } from 'commander';
import {
  DEFAULT_STORAGE_POLICY,
  policyChangeDetail,
  type RetentionMode,
  type StoragePolicy,
  type StoragePolicyChange,
} from '../model/storage-policy.js';
import { changeStoragePolicy } from '../storage/retention.js';
import { cliAuditRecord } from './cli-output.js';
import { CommandFailure, EXIT_OK, UsageError, type RunAction } from './command-errors.js';
import { addDatabaseOptions, loadOrThrow } from './config-options.js';
import { withRepository } from './database.js';

/**
 * `verbatim storage policy show | set`: the retention policy (docs/api.md "Storage"), for an
 * administrator on the node itself; the API has the same (getStoragePolicy, setStoragePolicy).
 * Running nodes read the stored policy again within 30 s.
 */

export function registerStorage(program: Command, run: RunAction): void {
  const storage = program.command('storage').description('the retention policy of the media store');
  const policy = storage.command('policy').description('show or change the retention policy');
  const show = addDatabaseOptions(policy.command('show').description('print the retention policy'));
  show.action(() => run(() => policyShow(show)));
  const set = addDatabaseOptions(
    policy
      .command('set')
      .description('change the retention policy (what is not given stays as it is); the change is audited')
      .option(
        '--mode <MODE>',
        'recording (prune old sessions, and the oldest when the disk is critical) or retention (never prune; refuse calls when critical)',
      )
      .option('--max-age-days <N>', 'recording priority prunes sessions older than N days (1-3650)')
      .option('--delete-metadata <yes|no>', 'pruning also deletes the session metadata (a DELETED tombstone)')
      .option(
        '--legal-hold-tag <NAME>',
        'sessions carrying this tag (any case) are never pruned nor deleted',
      ),
  );
  set.action(() => run(() => policySet(set)));
}

function describe(policy: StoragePolicy): string {
  const lines: [string, string][] = [
    ['mode', policy.mode === 'RECORDING_PRIORITY' ? 'recording priority' : 'retention priority'],
    ['max age', `${policy.maxAgeDays} days`],
    ['delete metadata', policy.deleteMetadata ? 'yes' : 'no'],
    ['legal hold tag', policy.legalHoldTag],
    [
      'changed',
      policy.updatedAt === undefined
        ? 'never (defaults)'
        : `${new Date(policy.updatedAt).toISOString().replace(/\.\d{3}Z$/, 'Z')} by ${policy.updatedBy ?? '?'}`,
    ],
  ];
  return lines.map(([name, value]) => `${`${name}:`.padEnd(17)}${value}\n`).join('');
}

async function policyShow(command: Command): Promise<number> {
  const config = loadOrThrow(command);
  const policy = await withRepository(
    config,
    async (repository) => (await repository.getStoragePolicy()) ?? DEFAULT_STORAGE_POLICY,
  );
  process.stdout.write(describe(policy));
  return EXIT_OK;
}

/** The options given, as a policy change; usage errors for values that do not parse. */
export function policyChangeOf(options: Record<string, unknown>): StoragePolicyChange {
  const problems: string[] = [];
  const change: { -readonly [K in keyof StoragePolicyChange]: StoragePolicyChange[K] } = {};
  const mode = options.mode;
  if (typeof mode === 'string') {
    const modes: Record<string, RetentionMode> = {
      recording: 'RECORDING_PRIORITY',
      recording_priority: 'RECORDING_PRIORITY',
      retention: 'RETENTION_PRIORITY',
      retention_priority: 'RETENTION_PRIORITY',
    };
    const parsed = modes[mode.toLowerCase().replace('-', '_')];
    if (parsed === undefined) {
      problems.push(`--mode: '${mode}' is neither recording nor retention`);
    } else {
      change.mode = parsed;
    }
  }
  const days = options.maxAgeDays;
  if (typeof days === 'string') {
    const n = Number(days);
    if (!/^\d+$/.test(days.trim()) || n < 1 || n > 3650) {
      problems.push(`--max-age-days: '${days}' is not a whole number of days (1-3650)`);
    } else {
      change.maxAgeDays = n;
    }
  }
  const remove = options.deleteMetadata;
  if (typeof remove === 'string') {
    const yes = ['yes', 'true', 'on', '1'].includes(remove.toLowerCase());
    const no = ['no', 'false', 'off', '0'].includes(remove.toLowerCase());
    if (!yes && !no) {
      problems.push(`--delete-metadata: '${remove}' is neither yes nor no`);
    } else {
      change.deleteMetadata = yes;
    }
  }
  const tag = options.legalHoldTag;
  if (typeof tag === 'string') {
    change.legalHoldTag = tag;
  }
  if (problems.length > 0) {
    throw new UsageError(problems);
  }
  if (Object.keys(change).length === 0) {
    throw new UsageError([
      'nothing to change: give --mode, --max-age-days, --delete-metadata or --legal-hold-tag',
    ]);
  }
  return change;
}

async function policySet(command: Command): Promise<number> {
  const change = policyChangeOf(command.opts());
  const config = loadOrThrow(command);
  const policy = await withRepository(config, async (repository) => {
    const audit = cliAuditRecord('setStoragePolicy', 'storage policy', {});
    const result = await changeStoragePolicy(repository, change, `${audit.username} (cli)`, Date.now());
    if (!result.ok) {
      throw new CommandFailure(result.detail);
    }
    await repository.appendAudit({ ...audit, detail: policyChangeDetail(result.before, result.policy) });
    return result.policy;
  });
  process.stdout.write(describe(policy));
  return EXIT_OK;
}
