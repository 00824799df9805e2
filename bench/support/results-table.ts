import type { Figures } from './figures';

/**
 * A benchmark's figures as a table for the terminal: a row per label, a column per suffix the
 * figures carry (`_c8`, `_shards_2`). A row names its figure, or several joined by `|`, shown as
 * `a / b`; a figure the run did not produce shows as `-`.
 */

export type TableRow = readonly [label: string, figures: string];

export interface TableColumn {
  heading: string;
  suffix: string;
}

export function resultsTable(
  figures: Figures,
  rows: readonly TableRow[],
  columns: readonly TableColumn[],
  cellWidth: number,
): string {
  const cell = (spec: string, suffix: string) =>
    spec
      .split('|')
      .map((name) => String(figures[`${name}${suffix}`] ?? '-'))
      .join(' / ');
  const width = Math.max(...rows.map(([label]) => label.length));
  return (
    [
      ['', ...columns.map((c) => c.heading)],
      ...rows.map(([label, spec]) => [label, ...columns.map((c) => cell(spec, c.suffix))]),
    ]
      // A space between cells, so that one wider than its column stays apart from the next.
      .map(([label, ...cells]) => `  ${label!.padEnd(width)} ${cells.map((c) => c.padStart(cellWidth)).join(' ')}`)
      .join('\n')
  );
}
