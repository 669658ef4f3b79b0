// @ts-check
/**
 * The layer rules of docs/architecture.md, checked by dependency-cruiser (`npm run check:layers`).
 *
 * Rules are written by folder, never by file, so that splitting a file keeps them true.
 * packages/server/test/unit/tooling/layer-rules.test.ts builds the same rules for a fixture tree
 * (test/fixtures/layers) with one deliberate violation per rule, to show that each one bites.
 */

/** Files at the src root other than app.ts and main.ts (a shared base, such as an error family). */
const ROOT_BASE = '(?!app\\.ts$|main\\.ts$)[^/]+$';

/**
 * The layers, lowest first. A module imports its own folder and lower layers only: never a higher
 * layer, never a sibling folder of the same rank (sip/ and media/ do not know each other; db/,
 * storage/ and events/ are handed to recording/ by app.ts). `typesOf` names the sibling folders a
 * layer may name the types of (recording/ uses the repository's interface).
 * The CLI (main.ts and cli/) is one layer: main.ts dispatches to cli/.
 */
const LAYERS = [
  { rank: 0, name: 'protocol', folder: 'protocol/' },
  { rank: 1, name: 'model', folder: 'model/' },
  { rank: 1, name: 'config', folder: 'config/' },
  // A shared base file at the src root sits with model/.
  { rank: 1, name: 'root-base', folder: ROOT_BASE },
  { rank: 2, name: 'transport', folder: 'transport/' },
  { rank: 3, name: 'sip', folder: 'sip/' },
  { rank: 3, name: 'media', folder: 'media/' },
  { rank: 4, name: 'recording', folder: 'recording/', typesOf: ['db/'] },
  { rank: 4, name: 'db', folder: 'db/' },
  { rank: 4, name: 'storage', folder: 'storage/' },
  { rank: 4, name: 'events', folder: 'events/' },
  { rank: 5, name: 'playback', folder: 'playback/' },
  { rank: 6, name: 'api', folder: 'api/' },
  { rank: 7, name: 'app', folder: 'app\\.ts$' },
  { rank: 8, name: 'cli', folder: '(main\\.ts$|cli/)' },
];

/** The only npm packages protocol/ may use: pure parsers, no I/O. */
const PROTOCOL_PACKAGES = ['fast-xml-parser', 'sdp-transform', '@types/sdp-transform'];

/**
 * The rules for a source tree whose path (from where the cruise runs) matches the regular
 * expression `src`, which ends with a slash.
 * @param {string} src
 * @returns {import('dependency-cruiser').IForbiddenRuleType[]}
 */
function layerRules(src) {
  const pathOf = (/** @type {string} */ folder) => `${src}${folder}`;
  /** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
  const byLayer = LAYERS.map((layer) => {
    const lower = LAYERS.filter((other) => other.rank < layer.rank);
    return {
      name: `layer-${layer.name}`,
      comment:
        `${layer.name}/ imports only its own folder and the layers below it` +
        (lower.length > 0 ? ` (${lower.map((other) => other.name).join(', ')})` : ''),
      severity: 'error',
      from: { path: pathOf(layer.folder) },
      to: {
        path: src,
        pathNot: [layer.folder, ...(layer.typesOf ?? []), ...lower.map((other) => other.folder)].map(pathOf),
      },
    };
  });
  return [
    ...byLayer,
    {
      name: 'folder-has-a-layer',
      comment:
        'every folder of src/ has its place in LAYERS (.dependency-cruiser.cjs) and docs/architecture.md',
      severity: 'error',
      from: { path: src, pathNot: LAYERS.map((layer) => pathOf(layer.folder)) },
      to: { path: src },
    },
    {
      name: 'recording-sees-interfaces-only',
      comment:
        'recording/ is handed the repository and the media engine by app.ts: it imports db/ and media/ ' +
        'for their types only (`import type`), never an implementation',
      severity: 'error',
      from: { path: pathOf('recording/') },
      to: { path: pathOf('(db|media)/'), dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'protocol-no-node',
      comment: 'protocol/ is pure, bytes or text in and values out: it imports no node:* module',
      severity: 'error',
      from: { path: pathOf('protocol/') },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'protocol-pure-packages-only',
      comment: `protocol/ uses no npm package but the pure parsers (${PROTOCOL_PACKAGES.join(', ')})`,
      severity: 'error',
      from: { path: pathOf('protocol/') },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        pathNot: `(^|/)node_modules/(${PROTOCOL_PACKAGES.join('|')})/`,
      },
    },
    {
      name: 'media-worker-stays-small',
      comment:
        'the media worker thread (media/*worker.ts) loads, directly or not, media/, protocol/, model/, ' +
        'config/config.ts and the root base files only: never the database, the recording domain, the API',
      severity: 'error',
      from: { path: pathOf('media/[^/]*worker\\.ts$') },
      to: {
        path: src,
        pathNot: ['media/', 'protocol/', 'model/', 'config/config\\.ts$', ROOT_BASE].map(pathOf),
        reachable: true,
      },
    },
    {
      name: 'no-circular',
      comment: 'no import cycle, type-only imports included',
      severity: 'error',
      from: { path: src },
      to: { circular: true },
    },
    {
      name: 'src-not-to-test-code',
      comment: 'production code imports no file outside src/ (no test or bench code)',
      severity: 'error',
      from: { path: src },
      to: { dependencyTypes: ['local'], pathNot: src },
    },
    {
      name: 'src-not-to-dev-dependency',
      comment: 'production code uses runtime dependencies only (type-only imports of @types excepted)',
      severity: 'error',
      from: { path: src },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves',
      severity: 'error',
      from: { path: src },
      to: { couldNotResolve: true },
    },
  ];
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: layerRules('^packages/server/src/'),
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a layer that names a higher layer's types still depends on it.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};

// Not read by dependency-cruiser: the layer-rules test builds the same rules for its fixture tree.
Object.defineProperty(module.exports, 'layerRules', { value: layerRules, enumerable: false });
