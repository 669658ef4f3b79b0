/**
 * `npm run fuzz -- --minutes N`: runs every fuzz property (test/fuzz/properties, and the API's in
 * test/unit/fuzz/api-properties.ts) with random seeds
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
import {
  API_FUZZ_PROPERTIES,
  type ApiFuzzProperty,
  type BuiltProperty,
} from '../unit/fuzz/api-properties.js';

/** The API properties (test/unit/fuzz/api-properties.ts) keep their findings in this corpus. */
const API_CORPUS = 'api-get-sessions';

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

/** An API property's input as a corpus file: the request body text as it was sent. */
function apiInputFile(input: unknown): Uint8Array {
  return new TextEncoder().encode(typeof input === 'string' ? input : JSON.stringify(input));
}

/** Prints what replaying one run showed; gives the exit status (1 when it still fails). */
function reportReplay(name: string, seed: number, path: string, details: fc.RunDetails<[unknown]>): number {
  if (!details.failed) {
    console.log(`${name}: seed ${seed} path ${path} passes now.`);
    return 0;
  }
  console.log(`${name}: seed ${seed} path ${path} fails:`);
  console.log(`  input: ${preview(details.counterexample?.[0])}`);
  console.log(
    `  error: ${details.errorInstance instanceof Error ? details.errorInstance.stack : String(details.errorInstance)}`,
  );
  return 1;
}

async function replayApi(property: ApiFuzzProperty, seed: number, path: string): Promise<number> {
  const built = await property.build();
  try {
    return reportReplay(
      property.name,
      seed,
      path,
      await fc.check(built.property, { seed, path, numRuns: 1 }),
    );
  } finally {
    await built.close();
  }
}

function replayOne(property: AnyFuzzProperty, seed: number, path: string): number {
  const check = fc.property(property.arbitrary(LONG_SCALE), property.check);
  return reportReplay(property.name, seed, path, fc.check(check, { seed, path, numRuns: 1 }));
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

async function main(): Promise<number> {
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
  const matches = (name: string): boolean => values.property === undefined || name.includes(values.property);
  const selected = ALL_PROPERTIES.filter((p) => matches(p.name));
  const selectedApi = API_FUZZ_PROPERTIES.filter((p) => matches(p.name));
  if (selected.length + selectedApi.length === 0) {
    console.error(
      `no property matches "${values.property ?? ''}"; there are:\n  ${[...ALL_PROPERTIES, ...API_FUZZ_PROPERTIES].map((p) => p.name).join('\n  ')}`,
    );
    return 2;
  }
  if (values.seed !== undefined) {
    if (selected.length + selectedApi.length !== 1 || values.path === undefined) {
      console.error('--seed needs --path and a --property naming exactly one property');
      return 2;
    }
    const [property] = selected;
    const [apiProperty] = selectedApi;
    return property !== undefined
      ? replayOne(property, Number(values.seed), values.path)
      : apiProperty !== undefined
        ? replayApi(apiProperty, Number(values.seed), values.path)
        : 2;
  }

  const corpusFailures = replayCorpus(new Set(selected.map((p) => p.corpus)));
  const deadline = performance.now() + minutes * 60_000;
  const tallies = new Map<string, Tally>(
    [...selected, ...selectedApi].map((p) => [p.name, { runs: 0, failures: 0, milliseconds: 0 }]),
  );
  // The API properties hold an in-memory database and an API instance: built once, closed at the end.
  const builtApi = new Map<string, BuiltProperty>();
  for (const property of selectedApi) {
    builtApi.set(property.name, await property.build());
  }
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const arbitraries = new Map(selected.map((p) => [p.name, fc.property(p.arbitrary(LONG_SCALE), p.check)]));
  console.log(
    `fuzzing ${selected.length + selectedApi.length} properties for ${minutes} min (inputs up to ${LONG_SCALE.maxBytes} bytes)`,
  );
  /** Tallies one slice of a property and records its finding, if it is a new one. */
  const noteSlice = (
    name: string,
    seed: number,
    details: fc.RunDetails<[unknown]>,
    startedMs: number,
    keep: (input: unknown) => string | undefined,
  ): void => {
    const tally = tallies.get(name);
    if (tally === undefined) {
      return;
    }
    tally.milliseconds += performance.now() - startedMs;
    tally.runs += details.numRuns;
    if (!details.failed) {
      return;
    }
    tally.failures += 1;
    const message = firstLine(details.errorInstance);
    const key = `${name}\n${message}`;
    const known = findings.filter((f) => f.property === name).length;
    if (seen.has(key) || known >= MAX_FINDINGS_PER_PROPERTY) {
      return;
    }
    seen.add(key);
    const input: unknown = details.counterexample?.[0];
    const finding: Finding = {
      property: name,
      seed,
      path: details.counterexamplePath ?? '',
      message,
      input: preview(input),
      file: values['no-write'] ? undefined : keep(input),
    };
    findings.push(finding);
    console.log(`\nFINDING ${finding.property}: ${finding.message}`);
    console.log(`  seed ${finding.seed}, path ${finding.path}`);
    console.log(`  shrunk input: ${finding.input}`);
    if (finding.file !== undefined) {
      console.log(`  written to ${finding.file}`);
    }
    console.log(`  reproduce: ${reproduceCommand(finding.property, finding.seed, finding.path)}`);
  };
  let lastReport = performance.now();
  while (performance.now() < deadline) {
    for (const property of selected) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        break;
      }
      const check = arbitraries.get(property.name);
      if (check === undefined) {
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
      noteSlice(property.name, seed, details, started, (input) =>
        writeRegression(
          property.corpus,
          `${property.name}-${seed}.${FILE_EXTENSIONS[property.corpus] ?? 'bin'}`,
          property.toFile(input),
        ),
      );
    }
    for (const property of selectedApi) {
      const remaining = deadline - performance.now();
      const built = builtApi.get(property.name);
      if (remaining <= 0 || built === undefined) {
        break;
      }
      const seed = Math.floor(Math.random() * 0x7fffffff);
      const started = performance.now();
      const details = await fc.check(built.property, {
        seed,
        numRuns: Number.MAX_SAFE_INTEGER,
        interruptAfterTimeLimit: Math.max(1000, Math.min(SLICE_MS, remaining)),
        markInterruptAsFailure: false,
      });
      noteSlice(property.name, seed, details, started, (input) =>
        writeRegression(API_CORPUS, `fuzz-${seed}.json`, apiInputFile(input)),
      );
    }
    if (performance.now() - lastReport > 60_000) {
      lastReport = performance.now();
      const runs = [...tallies.values()].reduce((n, t) => n + t.runs, 0);
      console.log(
        `… ${runs} runs, ${findings.length} findings, ${Math.max(0, (deadline - lastReport) / 1000).toFixed(0)} s left`,
      );
    }
  }

  for (const built of builtApi.values()) {
    await built.close();
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

process.exitCode = await main();
