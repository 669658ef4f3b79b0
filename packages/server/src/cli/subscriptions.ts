import type { Command } from 'commander';
import { SubscriptionService } from '../events/subscriptions.js';
import { cliAuditRecord, formatTable } from './cli-output.js';
import { CommandFailure, EXIT_OK, type RunAction } from './command-errors.js';
import { addDatabaseOptions, loadOrThrow } from './config-options.js';
import { withRepository } from './database.js';

/**
 * `verbatim subscriptions list | remove`: the event subscriptions of the node, for an
 * administrator on the node itself (the API has the same: getSubscriptions, removeSubscription).
 */

export function registerSubscriptions(program: Command, run: RunAction): void {
  const subscriptions = program
    .command('subscriptions')
    .description('list and remove event subscriptions (webhooks)');
  const list = addDatabaseOptions(
    subscriptions
      .command('list')
      .description('list subscriptions: id, state, backlog, receiver URL, event types, created'),
  );
  list.action(() => run(() => subscriptionsList(list)));
  const remove = addDatabaseOptions(
    subscriptions
      .command('remove')
      .description('remove a subscription and its undelivered events')
      .argument('<id>', 'subscription id (see: verbatim subscriptions list)'),
  );
  remove.action((id: string) => run(() => subscriptionsRemove(id, remove)));
}

async function subscriptionsList(command: Command): Promise<number> {
  const config = loadOrThrow(command);
  const all = await withRepository(config, (repository) =>
    new SubscriptionService({ store: repository }).list(),
  );
  const rows = all.map((s) => [
    s.subscriptionId,
    s.state,
    String(s.backlog),
    s.subscriptionUri,
    s.eventTypes.join(','),
    `${new Date(s.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z')} by ${s.createdBy}`,
  ]);
  process.stdout.write(formatTable(['ID', 'STATE', 'BACKLOG', 'URI', 'EVENTS', 'CREATED'], rows));
  return EXIT_OK;
}

async function subscriptionsRemove(id: string, command: Command): Promise<number> {
  const config = loadOrThrow(command);
  await withRepository(config, async (repository) => {
    const outcome = await new SubscriptionService({ store: repository }).unsubscribe(id);
    if (outcome.kind === 'not-found') {
      throw new CommandFailure(`no subscription '${id}' (see: verbatim subscriptions list)`);
    }
    await repository.appendAudit(cliAuditRecord('removeSubscription', `subscription ${id}`, {}));
  });
  process.stdout.write(`removed subscription ${id}\n`);
  return EXIT_OK;
}
