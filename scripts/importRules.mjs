// The one-way rule of docs/architecture.md ("Folders and the one-way rule"), as data: which top-level folders
// of src/ each folder may import. eslint.config.js turns each row into a no-restricted-imports block, so
// lint fails on a forbidden import in any folder; test/unit/importRules.test.ts checks that the table in
// docs/architecture.md says the same.

/** Every top-level folder of src/. */
export const FOLDERS = [
  'cli',
  'conditions',
  'config',
  'daemon',
  'dashboard',
  'engine',
  'protocol',
  'sdk',
  'service',
  'shared',
  'store',
  'testing',
  'triggers',
];

/**
 * folder: the folders it may import (besides itself); `typesFrom`: folders it may take types from only;
 * `node`: whether node:* modules and npm packages are allowed (false: only `packages`).
 */
export const FOLDER_RULES = [
  // croner: calendar arithmetic (cron patterns, time zones, DST), pure JS; the engine passes it every time.
  {
    folder: 'engine',
    may: ['protocol/vocabulary'],
    typesFrom: ['shared'],
    node: false,
    packages: ['croner'],
    why: 'src/engine is pure: it takes I/O, time and the app vocabulary as input.',
  },
  {
    folder: 'protocol',
    may: [],
    node: false,
    packages: ['zod'],
    why: 'src/protocol is the wire: zod schemas and framing, importing nothing of ours.',
  },
  {
    folder: 'protocol/control',
    may: ['protocol'],
    typesFrom: ['engine', 'store', 'daemon'],
    node: false,
    packages: ['zod'],
    why: "src/protocol/control describes the control commands: their results are the system's types, types only.",
  },
  {
    folder: 'protocol/vocabulary',
    may: [],
    node: false,
    packages: [],
    why: 'src/protocol/vocabulary is plain words the engine shares with apps: no imports at all.',
  },
  {
    folder: 'shared',
    may: [],
    node: true,
    why: 'src/shared is the bottom layer: paths, disposables, time sources; it imports nothing of ours.',
  },
  {
    folder: 'store',
    may: ['engine', 'protocol', 'shared'],
    node: true,
    why: "src/store keeps the engine's records; it knows nothing of the daemon above it.",
  },
  {
    folder: 'conditions',
    may: ['engine', 'shared'],
    node: true,
    why: "src/conditions reads sensors into the engine's types; it knows nothing of the daemon.",
  },
  {
    folder: 'service',
    may: ['shared'],
    node: true,
    why: 'src/service writes service files for the CLI; it knows nothing of the daemon it installs.',
  },
  {
    folder: 'triggers',
    may: ['engine', 'store', 'shared'],
    node: true,
    why: 'src/triggers watches files for the daemon; it knows nothing of the daemon itself.',
  },
  {
    folder: 'daemon',
    may: ['engine', 'protocol', 'store', 'conditions', 'triggers', 'shared'],
    node: true,
    why: 'src/daemon is the I/O shell: the CLI, the SDK, the kit and the config sit above it.',
  },
  {
    folder: 'config',
    may: ['engine', 'daemon', 'store', 'shared'],
    node: true,
    why: 'src/config gives the daemon its options; the CLI sits above it.',
  },
  {
    folder: 'sdk',
    may: ['protocol', 'shared'],
    node: true,
    why: 'src/sdk is what apps import: it speaks the protocol and never loads the system side.',
  },
  {
    folder: 'cli',
    may: ['config', 'daemon', 'engine', 'protocol', 'store', 'conditions', 'service', 'shared'],
    node: true,
    why: "src/cli is the person's command; the SDK and the testing kit are not its to load.",
  },
  {
    folder: 'testing',
    may: ['engine', 'daemon', 'store', 'sdk', 'conditions', 'protocol', 'shared'],
    node: true,
    why: 'src/testing is the kit; nothing of the CLI, the config or the service installers.',
  },
  {
    folder: 'dashboard',
    may: [],
    node: false,
    packages: [],
    why: "src/dashboard is the browser page: plain ES modules of its own, nothing of the server's.",
  },
];

/** A relative import that climbs out of its folder into `folder` (one level deep or many). */
function reaching(folder) {
  return `^(\\.\\./)+${folder}(/|$)`;
}

/** The eslint config block of one row. */
export function fence(rule) {
  const { folder, may, typesFrom = [], node, packages = [], why } = rule;
  const message = `${why} (docs/architecture.md)`;
  const top = folder.split('/')[0];
  const allowed = new Set([top, ...may.map((name) => name.split('/')[0]), ...typesFrom]);
  const patterns = FOLDERS.filter((other) => !allowed.has(other)).map((other) => ({ regex: reaching(other), message }));
  // A part of a folder with its own row (protocol/vocabulary) may not climb out of itself at all.
  if (folder.includes('/') && may.length === 0) patterns.push({ regex: '^\\.\\./', message });
  for (const partial of may.filter((name) => name.includes('/'))) {
    // Only the named part of a folder (protocol/vocabulary), not the rest of it.
    const [parent, part] = partial.split('/');
    patterns.push({ regex: `^(\\.\\./)+${parent}(/(?!${part}(/|$))|$)`, message });
  }
  for (const name of typesFrom)
    patterns.push({
      regex: reaching(name),
      allowTypeImports: true,
      message: `${why} Types only. (docs/architecture.md)`,
    });
  if (!node) {
    // Anything not relative is a node module or a package: only the listed packages.
    const listed = packages.map((name) => `(?!${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/|$))`).join('');
    patterns.push({
      regex: `^(?!\\.)${listed}`,
      message:
        `${why} No node modules or packages${packages.length ? ` but ${packages.join(', ')}` : ''}. ` +
        `(docs/architecture.md)`,
    });
  }
  return {
    files: [`src/${folder}/**/*.{ts,js,mjs}`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}
