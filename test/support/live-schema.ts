import type { Client } from 'pg';

/**
 * Reads what the migrations really produced from pg_catalog, in the shape schema-compare.ts
 * compares with the DMMF. pg_catalog rather than information_schema because only it has
 * indexes, index column order and format_type()'s exact spelling of types.
 */

/** A column as read from pg_catalog; `type` is what format_type() prints, e.g. `character varying(200)`. */
export interface LiveColumn {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

export interface LiveIndex {
  name: string;
  columns: string[];
}

export interface LiveForeignKey {
  name: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  /** Prisma's spelling: Cascade, Restrict, NoAction, SetNull, SetDefault. */
  onDelete: string;
  onUpdate: string;
}

export interface LiveTable {
  name: string;
  columns: LiveColumn[];
  primaryKey: LiveIndex | null;
  /** Unique constraints and unique indexes alike: Prisma's @unique may be either in the database. */
  uniques: LiveIndex[];
  /** Plain (non-unique) indexes. */
  indexes: LiveIndex[];
  foreignKeys: LiveForeignKey[];
}

export interface LiveSchema {
  tables: LiveTable[];
  enums: { name: string; values: string[] }[];
}

interface ColumnRow {
  table: string;
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

interface IndexRow {
  table: string;
  name: string;
  columns: string[];
  primary: boolean;
  unique: boolean;
}

interface ForeignKeyRow {
  table: string;
  name: string;
  columns: string[];
  referenced_table: string;
  referenced_columns: string[];
  on_delete: string;
  on_update: string;
}

/** pg_constraint's one-letter actions in Prisma's spelling. */
const referentialActions: Record<string, string> = {
  a: 'NoAction',
  r: 'Restrict',
  c: 'Cascade',
  n: 'SetNull',
  d: 'SetDefault',
};

export async function readLiveSchema(client: Client, schema = 'public'): Promise<LiveSchema> {
  const tableNames = await readTableNames(client, schema);
  // One after another: a pg Client runs one query at a time anyway.
  const columns = await readColumns(client, schema);
  const indexes = await readIndexes(client, schema);
  const foreignKeys = await readForeignKeys(client, schema);
  const enums = await readEnums(client, schema);
  const tables = tableNames.map((name): LiveTable => {
    const own = indexes.filter((i) => i.table === name);
    return {
      name,
      columns: columns.filter((c) => c.table === name).map(({ table: _table, ...column }) => column),
      primaryKey: own.filter((i) => i.primary).map(toIndex)[0] ?? null,
      uniques: own.filter((i) => i.unique && !i.primary).map(toIndex),
      indexes: own.filter((i) => !i.unique).map(toIndex),
      foreignKeys: foreignKeys.filter((f) => f.table === name).map(toForeignKey),
    };
  });
  return { tables, enums };
}

function toIndex(row: IndexRow): LiveIndex {
  return { name: row.name, columns: row.columns };
}

function toForeignKey(row: ForeignKeyRow): LiveForeignKey {
  return {
    name: row.name,
    columns: row.columns,
    referencedTable: row.referenced_table,
    referencedColumns: row.referenced_columns,
    onDelete: referentialActions[row.on_delete] ?? row.on_delete,
    onUpdate: referentialActions[row.on_update] ?? row.on_update,
  };
}

async function readTableNames(client: Client, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS "name" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
    [schema],
  );
  return rows.map((r) => r.name);
}

async function readColumns(client: Client, schema: string): Promise<ColumnRow[]> {
  // format_type() quotes identifiers that need it ("OrderStatus"); the DMMF names them bare.
  const { rows } = await client.query<ColumnRow>(
    `SELECT c.relname AS "table", a.attname AS "name",
            replace(format_type(a.atttypid, a.atttypmod), '"', '') AS "type",
            NOT a.attnotnull AS "nullable", pg_get_expr(d.adbin, d.adrelid) AS "default"
     FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`,
    [schema],
  );
  return rows;
}

async function readIndexes(client: Client, schema: string): Promise<IndexRow[]> {
  // Unique constraints are backed by unique indexes, so this one query sees both kinds.
  // An expression index has key 0 for its expression; it shows up as `(expression)`.
  const { rows } = await client.query<IndexRow>(
    `SELECT t.relname AS "table", i.relname AS "name", x.indisprimary AS "primary", x.indisunique AS "unique",
            array(SELECT coalesce(a.attname, '(expression)') FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, pos)
                  LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                  ORDER BY k.pos)::text[] AS "columns"
     FROM pg_index x
     JOIN pg_class i ON i.oid = x.indexrelid
     JOIN pg_class t ON t.oid = x.indrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = $1 AND t.relkind IN ('r', 'p')
     ORDER BY t.relname, i.relname`,
    [schema],
  );
  return rows;
}

async function readForeignKeys(client: Client, schema: string): Promise<ForeignKeyRow[]> {
  const { rows } = await client.query<ForeignKeyRow>(
    `SELECT t.relname AS "table", c.conname AS "name", r.relname AS referenced_table,
            c.confdeltype AS on_delete, c.confupdtype AS on_update,
            array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(attnum, pos)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                  ORDER BY k.pos)::text[] AS "columns",
            array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, pos)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.pos)::text[]
              AS referenced_columns
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_class r ON r.oid = c.confrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = $1 AND c.contype = 'f'
     ORDER BY t.relname, c.conname`,
    [schema],
  );
  return rows;
}

async function readEnums(client: Client, schema: string): Promise<LiveSchema['enums']> {
  const { rows } = await client.query<{ name: string; values: string[] }>(
    `SELECT t.typname AS "name", array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS "values"
     FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = $1 GROUP BY t.typname ORDER BY t.typname`,
    [schema],
  );
  return rows;
}
