/**
 * `npm run fuzz -- --minutes N`: runs every fuzz property (test/fuzz/properties) with random seeds
 * and inputs grown to the parsers' size caps, a few seconds each in turn, until the time is up, then prints a table of runs and
 * failures per property. Each finding is printed with its seed and path (fast-check's replay), the
 * shrunk input, the corpus file it was written to (a new regression, replayed by `npm test` from
 * then on) and the command that reproduces it.
 *
 * Options:
 *   --minutes N        how long to run (default 1; fractions allowed)
 *   --property TEXT    only the properties whose name contains TEXT
 *   --seed S --path P  replay one run exactly (with --property naming one property); what a
 *                      finding's reproduce command does
 *   --no-write         do not write findings into the corpus
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { regressionFiles, seedFiles, writeRegression } from './corpus.js';
import { LONG_SCALE, latin1Text, type AnyFuzzProperty } from './fuzz-property.js';
import { ALL_PROPERTIES, ALL_REPLAYS } from './properties/index.js';

/**
 * Time per property per round: each property gets the same time (their speeds differ a
 * thousandfold), and a round is short enough to rotate through all of them every couple of
 * minutes.
 */
const SLICE_MS = 5000;
/** Findings kept per property and distinct message: one bug found a hundred times is one finding. */
const MAX_FINDINGS_PER_PROPERTY = 5;

const FILE_EXTENSIONS: Readonly<Record<string, string>> = {
  'sip-message': 'sip',
  sdp: 'sdp',
  'siprec-metadata': 'xml',
  multipart: 'txt',
  'sip-header': 'txt',
  sdes: 'txt',
  'byte-range': 'txt',
};

interface Tally {
  runs: number;
  failures: number;
  milliseconds: number;
}

interface Finding {
  readonly property: string;
  readonly seed: number;
  readonly path: string;
  readonly message: string;
  readonly input: string;
  readonly file: string | undefined;
}

function preview(value: unknown): string {
  // Bytes are shown as text (one character per byte), which is how most of them read best.
  const text = value instanceof Uint8Array ? JSON.stringify(latin1Text(value)) : fc.stringify(value);
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0] ?? text;
}

function reproduceCommand(property: string, seed: number, path: string): string {
  return `npm run fuzz -- --property '${property}' --seed ${seed} --path '${path}'`;
}

function replayOne(property: AnyFuzzProperty, seed: number, path: string): number {
  const details = fc.check(fc.property(property.arbitrary(LONG_SCALE), property.check), {
    seed,
    path,
    numRuns: 1,
  });
  if (!details.failed) {
    console.log(`${property.name}: seed ${seed} path ${path} passes now.`);
    return 0;
  }
  console.log(`${property.name}: seed ${seed} path ${path} fails:`);
  console.log(`  input: ${preview(details.counterexample?.[0])}`);
  console.log(
    `  error: ${details.errorInstance instanceof Error ? details.errorInstance.stack : String(details.errorInstance)}`,
  );
  return 1;
}

/** Replays the seeds and regressions of the given corpus folders; gives the number that fail. */
function replayCorpus(corpora: ReadonlySet<string>): number {
  let failures = 0;
  for (const corpus of corpora) {
    for (const file of [...seedFiles(corpus), ...regressionFiles(corpus)]) {
      for (const replay of ALL_REPLAYS.get(corpus) ?? []) {
        try {
          replay(file.bytes);
        } catch (error) {
          failures += 1;
          console.log(`CORPUS ${file.path}: ${firstLine(error)}`);
          console.log(`  reproduce: node --import tsx --test packages/server/test/unit/fuzz/*.fuzz.test.ts`);
        }
      }
    }
  }
  return failures;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '1' },
      property: { type: 'string' },
      seed: { type: 'string' },
      path: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const minutes = Number(values.minutes);
  if (!Number.isFinite(minutes) || minutes <= 0) {
    console.error('--minutes must be a positive number');
    return 2;
  }
  const selected = ALL_PROPERTIES.filter(
    (p) => values.property === undefined || p.name.includes(values.property),
  );
  if (selected.length === 0) {
    console.error(
      `no property matches "${values.property ?? ''}"; there are:\n  ${ALL_PROPERTIES.map((p) => p.name).join('\n  ')}`,
    );
    return 2;
  }
  if (values.seed !== undefined) {
    const [property] = selected;
    if (selected.length !== 1 || property === undefined || values.path === undefined) {
      console.error('--seed needs --path and a --property naming exactly one property');
      return 2;
    }
    return replayOne(property, Number(values.seed), values.path);
  }

  const corpusFailures = replayCorpus(new Set(selected.map((p) => p.corpus)));
  const deadline = performance.now() + minutes * 60_000;
  const tallies = new Map<string, Tally>(
    selected.map((p) => [p.name, { runs: 0, failures: 0, milliseconds: 0 }]),
  );
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const arbitraries = new Map(selected.map((p) => [p.name, fc.property(p.arbitrary(LONG_SCALE), p.check)]));
  console.log(
    `fuzzing ${selected.length} properties for ${minutes} min (inputs up to ${LONG_SCALE.maxBytes} bytes)`,
  );
  let lastReport = performance.now();
  while (performance.now() < deadline) {
    for (const property of selected) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        break;
      }
      const tally = tallies.get(property.name);
      const check = arbitraries.get(property.name);
      if (tally === undefined || check === undefined) {
        continue;
      }
      const seed = Math.floor(Math.random() * 0x7fffffff);
      const started = performance.now();
      const details = fc.check(check, {
        seed,
        // As many runs as fit in the slice (the interrupt ends the run, not a failure).
        numRuns: Number.MAX_SAFE_INTEGER,
        interruptAfterTimeLimit: Math.max(1000, Math.min(SLICE_MS, remaining)),
        markInterruptAsFailure: false,
      });
      tally.milliseconds += performance.now() - started;
      tally.runs += details.numRuns;
      if (!details.failed) {
        continue;
      }
      tally.failures += 1;
      const message = firstLine(details.errorInstance);
      const key = `${property.name}\n${message}`;
      const known = findings.filter((f) => f.property === property.name).length;
      if (seen.has(key) || known >= MAX_FINDINGS_PER_PROPERTY) {
        continue;
      }
      seen.add(key);
      const input: unknown = details.counterexample?.[0];
      const extension = FILE_EXTENSIONS[property.corpus] ?? 'bin';
      const file = values['no-write']
        ? undefined
        : writeRegression(property.corpus, `${property.name}-${seed}.${extension}`, property.toFile(input));
      const finding: Finding = {
        property: property.name,
        seed,
        path: details.counterexamplePath ?? '',
        message,
        input: preview(input),
        file,
      };
      findings.push(finding);
      console.log(`\nFINDING ${finding.property}: ${finding.message}`);
      console.log(`  seed ${finding.seed}, path ${finding.path}`);
      console.log(`  shrunk input: ${finding.input}`);
      if (finding.file !== undefined) {
        console.log(`  written to ${finding.file}`);
      }
      console.log(`  reproduce: ${reproduceCommand(finding.property, finding.seed, finding.path)}`);
    }
    if (performance.now() - lastReport > 60_000) {
      lastReport = performance.now();
      const runs = [...tallies.values()].reduce((n, t) => n + t.runs, 0);
      console.log(
        `… ${runs} runs, ${findings.length} findings, ${Math.max(0, (deadline - lastReport) / 1000).toFixed(0)} s left`,
      );
    }
  }

  console.log('');
  console.table(
    [...tallies].map(([property, tally]) => ({
      property,
      runs: tally.runs,
      failures: tally.failures,
      'runs/s': tally.milliseconds > 0 ? Math.round((tally.runs * 1000) / tally.milliseconds) : 0,
    })),
  );
  if (findings.length === 0) {
    console.log(
      corpusFailures === 0 ? 'no findings' : `no new findings; ${corpusFailures} corpus file(s) fail`,
    );
    return corpusFailures === 0 ? 0 : 1;
  }
  console.log(`\n${findings.length} finding(s):`);
  for (const finding of findings) {
    console.log(`- ${finding.property}: ${finding.message}`);
    console.log(`    ${reproduceCommand(finding.property, finding.seed, finding.path)}`);
    if (finding.file !== undefined) {
      console.log(`    kept as ${finding.file} (replayed by npm test; fix the parser, keep the file)`);
    }
  }
  return 1;
}

process.exitCode = main();
