// A second reporter for node's test runner: prints every failed test once more, after the whole
// run, with its file and error. The TAP stream above it can be thousands of lines long, and a log
// that keeps only its tail (as CI's does) would otherwise show "# fail 1" and not which test.
import { relative } from 'node:path';

function describeError(error) {
  // The runner wraps the test's own error (failureType testCodeFailure) in `cause`.
  const cause = error?.cause ?? error;
  if (cause instanceof Error) {
    // Node's own frames say nothing about the test.
    return (cause.stack ?? String(cause))
      .split('\n')
      .filter((line) => !/\(?node:(internal|async_hooks)/.test(line))
      .slice(0, 12)
      .join('\n');
  }
  return String(cause);
}

export default async function* failureSummary(source) {
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { data } = event;
    // A suite fails because a test in it failed; that test is listed itself.
    if (data.details?.type === 'suite' && data.details?.error?.failureType === 'subtestsFailed') {
      continue;
    }
    failures.push(data);
  }
  if (failures.length === 0) return;
  yield `\n# ${failures.length} failed test${failures.length === 1 ? '' : 's'}:\n`;
  for (const failure of failures) {
    const where = failure.file ? relative(process.cwd(), failure.file) : '(unknown file)';
    yield `\n## ${where}: ${failure.name}\n`;
    const seconds = ((failure.details?.duration_ms ?? 0) / 1000).toFixed(1);
    yield `after ${seconds} s\n${describeError(failure.details?.error)}\n`;
  }
}
