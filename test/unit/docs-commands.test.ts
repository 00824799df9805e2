import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from '../../api/openapi/document';
import { loadConfig } from '../../platform/config';

/**
 * The docs cannot rot: every command in a shell block of README.md and docs/*.md is checked
 * against what it names. `npx shopflow …` runs with `--help` (the subcommand exists and takes every
 * option the docs pass it), `npm run x` is a script of package.json, `curl` names a route the API
 * serves, with the method it serves it with. Blocks fenced as ```sh runnable are run for real and
 * must exit 0. A command of a kind this test does not know fails it: teach it here.
 */

const repoRoot = path.resolve(__dirname, '..', '..');
const docFiles = ['README.md', ...readdirSync(path.join(repoRoot, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

interface DocCommand {
  file: string;
  line: string;
  runnable: boolean;
}

/** Each command of each shell block: continuation lines joined, comments and blank lines dropped. */
function docCommands(): DocCommand[] {
  const commands: DocCommand[] = [];
  for (const file of docFiles) {
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    for (const block of text.matchAll(/^```(?:sh|bash|shell)([^\n]*)\n([\s\S]*?)^```/gm)) {
      const runnable = /\brunnable\b/.test(block[1]!);
      const joined = block[2]!.replace(/\\\n\s*/g, ' ');
      let open = '';
      for (const raw of joined.split('\n')) {
        // A quoted argument that spans lines (a JSON body) belongs to the line that opened it.
        const line = open ? `${open} ${raw.trim()}` : raw;
        if ((line.match(/'/g) ?? []).length % 2 === 1) {
          open = line;
          continue;
        }
        open = '';
        const command = stripComment(line).trim();
        if (command) commands.push({ file, line: command, runnable });
      }
    }
  }
  return commands;
}

/** Drops a trailing `# comment` outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

/** Splits a command line into words, honouring quotes (enough for the docs' commands). */
function words(line: string): string[] {
  return [...line.matchAll(/'[^']*'|"(?:[^"\\]|\\.)*"|\S+/g)].map((m) => m[0].replace(/^['"]|['"]$/g, ''));
}

/** The `npx shopflow …` commands inside a line, including those inside `$(…)`. */
function shopflowInvocations(line: string): string[][] {
  return [...line.matchAll(/npx shopflow ([^)|;&]*)/g)].map((m) => words(m[1]!));
}

const commands = docCommands();
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('the docs name only what exists', () => {
  it('finds the shell blocks of the README and every docs page', () => {
    expect(commands.length).toBeGreaterThan(30);
    expect(new Set(commands.map((c) => c.file)).size).toBeGreaterThanOrEqual(6);
    expect(commands.filter((c) => c.runnable).length).toBeGreaterThan(0);
  });

  const helpOf = new Map<string, string>();
  function help(subcommand: string[]): { status: number | null; output: string } {
    const key = subcommand.join(' ');
    const cached = helpOf.get(key);
    if (cached !== undefined) return { status: 0, output: cached };
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'cli', 'bin.js'), ...subcommand, '--help'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    if (result.status === 0) helpOf.set(key, result.stdout);
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it.each(commands.filter((c) => c.line.includes('npx shopflow')).map((c) => [c.file, c.line]))(
    '%s: `%s` is a shopflow command with those options',
    (_, line) => {
      for (const args of shopflowInvocations(line)) {
        const firstNonWord = args.findIndex((w) => w.startsWith('-') || /[<$[]/.test(w));
        const subcommand = firstNonWord < 0 ? args : args.slice(0, firstNonWord);
        // Positional arguments (`orders_read`, `order-<id>`) follow the command words: find the longest that has help.
        let found: { words: string[]; output: string } | undefined;
        for (let n = subcommand.length; n > 0 && !found; n -= 1) {
          const { status, output } = help(subcommand.slice(0, n));
          if (status === 0 && !/^error:/m.test(output)) found = { words: subcommand.slice(0, n), output };
        }
        expect({ line, known: found !== undefined }).toEqual({ line, known: true });
        for (const option of args.filter((w) => /^--[a-z]/.test(w)).map((w) => w.split('=')[0]!)) {
          expect({ line, option, offered: found!.output.includes(option) }).toEqual({ line, option, offered: true });
        }
      }
    },
  );

  it.each(commands.filter((c) => /^npm (run|test|start|install|ci)\b/.test(c.line)).map((c) => [c.file, c.line]))(
    '%s: `%s` is an npm command of this project',
    (_, line) => {
      const [, verb, script] = words(line);
      if (verb === 'run')
        expect({ script, defined: script! in packageJson.scripts }).toEqual({ script, defined: true });
      else if (verb === 'test' || verb === 'start') expect(packageJson.scripts[verb]).toBeDefined();
    },
  );

  const document = buildOpenApiDocument(loadConfig({}));
  /** The API's routes beside its OpenAPI paths (`/v1/orders/{orderId}` as a pattern). */
  const routes = Object.entries(document.paths ?? {}).map(([template, item]) => ({
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    methods: Object.keys(item ?? {}).map((m) => m.toUpperCase()),
  }));
  const plainRoutes = ['/health/ready', '/health/live', '/metrics', '/openapi.json', '/docs'];

  it.each(commands.filter((c) => /\bcurl\b/.test(c.line)).map((c) => [c.file, c.line]))(
    '%s: `%s` names a route the API serves',
    (_, line) => {
      const args = words(line.replace(/<[^>]+>/g, 'x'));
      const explicit = args.indexOf('-X');
      const method = explicit >= 0 ? args[explicit + 1]!.toUpperCase() : 'GET';
      const url = args.find((w) => /^(https?:\/\/)?(localhost|127\.0\.0\.1):3000\//.test(w))!;
      expect(url).toBeDefined();
      const pathname = url.replace(/^(https?:\/\/)?[^/]+/, '').replace(/\?.*$/, '');
      if (plainRoutes.includes(pathname)) return;
      const route = routes.find((r) => r.pattern.test(pathname));
      expect({ line, path: pathname, served: route !== undefined }).toEqual({ line, path: pathname, served: true });
      expect({ line, method, allowed: route!.methods.includes(method) }).toEqual({ line, method, allowed: true });
    },
  );

  /** Commands that need no checking here: shell built-ins, and tools described where they are used. */
  const outsideTools = /^(export|open|psql|docker compose|uuidgen|npx shopflow|curl|npm (run|test|start|install|ci))\b/;

  it('knows every kind of command the docs contain', () => {
    const unknown = commands.filter((c) => !outsideTools.test(c.line.replace(/^[A-Z_]+=\S+\s+/, '')));
    expect(unknown).toEqual([]);
  });

  it.each(commands.filter((c) => c.runnable).map((c) => [c.file, c.line]))(
    '%s: `%s` runs and exits 0',
    (_, line) => {
      const result = spawnSync('bash', ['-c', line.replace(/^npx shopflow /, `node cli/bin.js `)], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect({ line, status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
        line,
        status: 0,
        stderr: '',
      });
    },
    120_000,
  );
});
