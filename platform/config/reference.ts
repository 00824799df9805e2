import { configAreas } from './schema';
import { areas, variablesOf, type AreaMeta, type DeclaredVariable } from './variable';

/**
 * `.env.example` and docs/configuration.md, rendered from the schemas: the only places a setting is
 * written down besides its declaration. scripts/generate-config-docs.ts writes them; a unit test fails
 * while a committed copy differs. Only declarations are read, never the environment, so no value a
 * process runs with can end up in either file.
 */

const regenerate = 'npx tsx scripts/generate-config-docs.ts';

interface AreaReference extends AreaMeta {
  variables: DeclaredVariable[];
}

/** Every area with its variables, in the order of `configAreas`. */
export function configReference(): AreaReference[] {
  return Object.entries(configAreas.shape).map(([key, schema]) => {
    const meta = areas.get(schema);
    if (!meta) throw new Error(`config: area ${key} is not declared with area()`);
    return { ...meta, variables: variablesOf(schema, [key]) };
  });
}

export function renderEnvExample(): string {
  const lines = [
    ...comment(
      'Every setting of shopflow, with its default. Copy to .env (git-ignored) or export the variables; ' +
        'platform/config validates them at start-up and stops with one line naming each bad one. ' +
        `Generated from the schemas in platform/config/ by \`${regenerate}\`: edit those, not this file.`,
    ),
  ];
  for (const area of configReference()) {
    lines.push('', `# == ${area.title} ==`);
    if (area.intro) lines.push(...comment(area.intro));
    for (const variable of area.variables) {
      lines.push(...comment(variable.description), `${variable.name}=${variable.default ?? ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderConfigurationPage(): string {
  const lines = [
    '# Configuration',
    '',
    'Every setting comes from the environment and is validated once at start-up (`platform/config/`). A bad',
    'value stops the process with one line naming each bad variable, and exit code 78, e.g.',
    '`shopflow: invalid configuration: PORT must be a port number`. An empty variable counts as unset, as',
    'compose files write `VAR=`. The defaults suit local development; `.env.example` lists every variable with',
    'its default.',
    '',
    'This page is generated from the schemas in `platform/config/`, one per area, where each variable is',
    `declared once with its default and meaning. To add or change a setting, edit its schema and run \`${regenerate}\`;`,
    'a unit test fails while this page or `.env.example` is stale.',
  ];
  for (const area of configReference()) {
    lines.push('', `## ${area.title}`, '');
    if (area.intro) lines.push(area.intro, '');
    lines.push(
      ...table(
        ['Variable', 'Default', 'Meaning'],
        area.variables.map((v) => [
          `\`${v.name}\``,
          v.default === undefined ? '(empty)' : `\`${v.default}\``,
          v.description,
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The generated files, relative to the repository root, and how each is rendered. */
export const generatedFiles = [
  { path: '.env.example', render: renderEnvExample },
  { path: 'docs/configuration.md', render: renderConfigurationPage },
] as const;

/** Markdown as a `#` comment wrapped at 100 columns, never inside a code span; code spans lose their backticks. */
function comment(markdown: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of (markdown.match(/(?:`[^`]*`|[^\s`])+/g) ?? []).map((token) => token.replaceAll('`', ''))) {
    if (line.length + 1 + word.length > 100 && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

/** A markdown table padded as Prettier pads it, so that the committed page passes `prettier --check`. */
function table(header: string[], rows: string[][]): string[] {
  const cells = [header, ...rows].map((row) => row.map((cell) => cell.replaceAll('|', '\\|')));
  const widths = header.map((_, column) => Math.max(3, ...cells.map((row) => [...row[column]!].length)));
  const pad = (cell: string, column: number) => cell + ' '.repeat(widths[column]! - [...cell].length);
  const line = (row: string[]) => `| ${row.map(pad).join(' | ')} |`;
  const [head, ...body] = cells;
  return [line(head!), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)];
}
