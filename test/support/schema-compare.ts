/**
 * Compares Prisma's view of the database (the DMMF of prisma/schema.prisma) with the tables the
 * hand-written migrations really produced. Prisma's own diff needs the native schema engine, which
 * cannot run here (docs: ENVIRONMENT.md, "Prisma 7 without the schema engine"), so this is what keeps
 * schema.prisma and prisma/migrations from drifting apart. Pure: no I/O; live-schema.ts reads the
 * database side.
 */

import type { LiveIndex, LiveSchema, LiveTable } from './live-schema';

// ---------------------------------------------------------------------------------------------
// Inputs. Structural subsets of `DMMF.Datamodel` (from getDMMF) so that unit tests can hand-make them.
// ---------------------------------------------------------------------------------------------

export interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: string; // 'scalar' | 'enum' | 'object' | 'unsupported'
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType?: readonly [string, readonly string[]] | null;
  hasDefaultValue?: boolean;
  default?: unknown;
  relationFromFields?: readonly string[];
  relationToFields?: readonly string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}

export interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: readonly DmmfField[];
}

export interface DmmfIndex {
  model: string;
  type: string; // 'id' | 'unique' | 'normal' | 'fulltext'
  dbName?: string | null;
  fields: readonly { name: string }[];
}

export interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: readonly { name: string; dbName?: string | null }[];
}

export interface DmmfDatamodel {
  models: readonly DmmfModel[];
  enums: readonly DmmfEnum[];
  indexes: readonly DmmfIndex[];
}

// The database side is described in live-schema.ts, next to the queries that read it.
export type { LiveColumn, LiveForeignKey, LiveIndex, LiveSchema, LiveTable } from './live-schema';

/** Tables that belong to the migration machinery, not to any model. */
const ignoredTables = new Set(['_prisma_migrations']);

// ---------------------------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------------------------

/** Human-readable differences between the datamodel and the live schema; empty when they agree. */
export function compareSchema(datamodel: DmmfDatamodel, live: LiveSchema): string[] {
  const differences: string[] = [];
  const liveTables = new Map(live.tables.map((t) => [t.name, t]));
  for (const model of datamodel.models) {
    const table = liveTables.get(tableName(model));
    if (!table) {
      differences.push(`table ${tableName(model)}: missing in the database (model ${model.name})`);
      continue;
    }
    differences.push(
      ...compareColumns(datamodel, model, table),
      ...compareKeys(datamodel, model, table),
      ...compareForeignKeys(datamodel, model, table),
    );
  }
  differences.push(...strayTables(datamodel, live), ...compareEnums(datamodel, live));
  return differences;
}

function tableName(model: DmmfModel): string {
  return model.dbName ?? model.name;
}

function columnName(field: DmmfField): string {
  return field.dbName ?? field.name;
}

function scalarFields(model: DmmfModel): DmmfField[] {
  return model.fields.filter((f) => f.kind !== 'object');
}

function fieldByName(model: DmmfModel, name: string): DmmfField {
  const field = model.fields.find((f) => f.name === name);
  if (!field) throw new Error(`model ${model.name} has no field ${name}`);
  return field;
}

function modelByName(datamodel: DmmfDatamodel, name: string): DmmfModel {
  const model = datamodel.models.find((m) => m.name === name);
  if (!model) throw new Error(`datamodel has no model ${name}`);
  return model;
}

function strayTables(datamodel: DmmfDatamodel, live: LiveSchema): string[] {
  const described = new Set(datamodel.models.map(tableName));
  return live.tables
    .filter((t) => !described.has(t.name) && !ignoredTables.has(t.name))
    .map((t) => `table ${t.name}: exists in the database but no model describes it`);
}

// --- columns ---------------------------------------------------------------------------------

function compareColumns(datamodel: DmmfDatamodel, model: DmmfModel, table: LiveTable): string[] {
  const differences: string[] = [];
  const fields = scalarFields(model);
  const liveColumns = new Map(table.columns.map((c) => [c.name, c]));
  for (const field of fields) {
    const where = `column ${table.name}.${columnName(field)} (${model.name}.${field.name})`;
    const column = liveColumns.get(columnName(field));
    if (!column) {
      differences.push(`${where}: missing in the database`);
      continue;
    }
    const type = expectedColumnType(datamodel, field);
    if (type !== column.type) differences.push(`${where}: type is ${column.type}, the schema says ${type}`);
    // Prisma creates scalar lists without NOT NULL whatever the DMMF says, so only non-lists are checked.
    if (!field.isList && field.isRequired === column.nullable) {
      differences.push(`${where}: is ${column.nullable ? 'nullable' : 'NOT NULL'}, the schema says the opposite`);
    }
    const defaultDifference = compareDefault(field, column.default);
    if (defaultDifference) differences.push(`${where}: ${defaultDifference}`);
  }
  const described = new Set(fields.map(columnName));
  for (const column of table.columns) {
    if (!described.has(column.name)) {
      differences.push(
        `column ${table.name}.${column.name}: exists in the database but no field of ${model.name} describes it`,
      );
    }
  }
  return differences;
}

/** Prisma's default PostgreSQL type of each scalar when no @db attribute is given. */
const defaultTypes: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** format_type() spelling of each @db native type; `$` stands for the arguments, e.g. `(200)`. */
const nativeTypes: Record<string, string> = {
  Text: 'text',
  VarChar: 'character varying$',
  Char: 'character$',
  Uuid: 'uuid',
  Integer: 'integer',
  SmallInt: 'smallint',
  BigInt: 'bigint',
  Oid: 'oid',
  Real: 'real',
  DoublePrecision: 'double precision',
  Decimal: 'numeric$',
  Money: 'money',
  Boolean: 'boolean',
  Timestamp: 'timestamp$ without time zone',
  Timestamptz: 'timestamp$ with time zone',
  Date: 'date',
  Time: 'time$ without time zone',
  Timetz: 'time$ with time zone',
  Json: 'json',
  JsonB: 'jsonb',
  ByteA: 'bytea',
  Xml: 'xml',
  Inet: 'inet',
  Citext: 'citext',
  Bit: 'bit$',
  VarBit: 'bit varying$',
};

export function expectedColumnType(datamodel: DmmfDatamodel, field: DmmfField): string {
  const base = expectedBaseType(datamodel, field);
  return field.isList ? `${base}[]` : base;
}

function expectedBaseType(datamodel: DmmfDatamodel, field: DmmfField): string {
  if (field.kind === 'enum') {
    const enumType = datamodel.enums.find((e) => e.name === field.type);
    return enumType?.dbName ?? field.type;
  }
  if (field.nativeType) {
    const [name, args] = field.nativeType;
    const pattern = nativeTypes[name];
    if (!pattern) return `unknown native type @db.${name}`;
    return pattern.replace('$', args.length ? `(${args.join(',')})` : '');
  }
  return defaultTypes[field.type] ?? `unknown Prisma type ${field.type}`;
}

/** Defaults Prisma computes in the client (uuid(), cuid() ...): the column has none. */
const clientSideDefaults = new Set(['uuid', 'cuid', 'nanoid', 'ulid']);

/** A difference in the column default, or null when they agree. */
function compareDefault(field: DmmfField, live: string | null): string | null {
  const expected = expectedDefault(field);
  if (expected === 'any') return null;
  if (expected === null) return live === null ? null : `has default ${live}, the schema has none`;
  if (live === null) return `has no default, the schema says ${describeExpected(expected)}`;
  return defaultMatches(expected, live) ? null : `has default ${live}, the schema says ${describeExpected(expected)}`;
}

type ExpectedDefault =
  | null // no database default
  | 'any' // cannot be checked (e.g. dbgenerated() without an expression)
  | { kind: 'now' }
  | { kind: 'autoincrement' }
  | { kind: 'expression'; sql: string }
  | { kind: 'literal'; value: string };

function expectedDefault(field: DmmfField): ExpectedDefault {
  const value = field.default;
  if (value === undefined || field.hasDefaultValue === false) return null;
  if (typeof value === 'object' && value !== null && 'name' in value) {
    const { name, args } = value as { name: string; args: unknown[] };
    if (name === 'now') return { kind: 'now' };
    if (name === 'autoincrement') return { kind: 'autoincrement' };
    if (name === 'dbgenerated') return typeof args[0] === 'string' ? { kind: 'expression', sql: args[0] } : 'any';
    if (clientSideDefaults.has(name)) return null;
    return 'any';
  }
  if (Array.isArray(value)) return 'any'; // list defaults: rare, and their SQL spelling varies
  // Strings (enum values, Json text) as they are; numbers and booleans print the same in JSON and SQL.
  return { kind: 'literal', value: typeof value === 'string' ? value : JSON.stringify(value) };
}

function describeExpected(expected: Exclude<ExpectedDefault, null | 'any'>): string {
  switch (expected.kind) {
    case 'now':
      return 'now()';
    case 'autoincrement':
      return 'autoincrement()';
    case 'expression':
      return expected.sql;
    case 'literal':
      return JSON.stringify(expected.value);
  }
}

function defaultMatches(expected: Exclude<ExpectedDefault, null | 'any'>, live: string): boolean {
  switch (expected.kind) {
    case 'now':
      return /^(CURRENT_TIMESTAMP|now\(\))$/i.test(live);
    case 'autoincrement':
      return /^nextval\(/.test(live);
    case 'expression':
      return squeeze(expected.sql) === squeeze(live);
    case 'literal':
      return liveLiteral(live) === expected.value;
  }
}

function squeeze(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The value of a default like `'abc'::character varying`, `(-1)` or `true`, without casts and quotes. */
export function liveLiteral(expression: string): string {
  let text = expression.trim();
  // PostgreSQL prints casts after the literal; strip them one by one (`'1'::text::integer`).
  for (let cast = /::[\w\s."]+(\(\d+(,\d+)?\))?(\[\])?$/; cast.test(text);) text = text.replace(cast, '').trim();
  if (/^\(.*\)$/.test(text)) text = text.slice(1, -1).trim(); // negative numbers come as (-1)
  const quoted = /^'(.*)'$/s.exec(text);
  return quoted?.[1] !== undefined ? quoted[1].replace(/''/g, "'") : text;
}

// --- keys and indexes ------------------------------------------------------------------------

function compareKeys(datamodel: DmmfDatamodel, model: DmmfModel, table: LiveTable): string[] {
  const differences: string[] = [];
  const indexes = datamodel.indexes.filter((i) => i.model === model.name);
  const columnsOf = (index: DmmfIndex) => index.fields.map((f) => columnName(fieldByName(model, f.name)));

  const id = indexes.find((i) => i.type === 'id');
  const livePk = table.primaryKey;
  if (id && !livePk)
    differences.push(`table ${table.name}: has no primary key, the schema says (${columnsOf(id).join(', ')})`);
  if (!id && livePk) differences.push(`table ${table.name}: has primary key ${describe(livePk)} that the schema lacks`);
  if (id && livePk) differences.push(...compareIndex(table.name, 'primary key', id, columnsOf(id), livePk, 'pkey'));

  differences.push(
    ...compareIndexSet(
      table,
      'unique',
      indexes.filter((i) => i.type === 'unique'),
      columnsOf,
      table.uniques,
      'key',
    ),
  );
  differences.push(
    ...compareIndexSet(
      table,
      'index',
      indexes.filter((i) => i.type === 'normal'),
      columnsOf,
      table.indexes,
      'idx',
    ),
  );
  return differences;
}

/** Matches expected and live indexes by their columns (in order); reports missing and extra ones. */
function compareIndexSet(
  table: LiveTable,
  kind: 'unique' | 'index',
  expected: DmmfIndex[],
  columnsOf: (index: DmmfIndex) => string[],
  live: LiveIndex[],
  suffix: string,
): string[] {
  const differences: string[] = [];
  const unmatched = [...live];
  for (const index of expected) {
    const columns = columnsOf(index);
    const at = unmatched.findIndex((l) => sameColumns(l.columns, columns));
    if (at < 0) {
      differences.push(`${kind} on ${table.name}(${columns.join(', ')}): missing in the database`);
      continue;
    }
    const [match] = unmatched.splice(at, 1);
    if (match) differences.push(...compareIndex(table.name, kind, index, columns, match, suffix));
  }
  for (const extra of unmatched) {
    differences.push(`${kind} ${describe(extra)} on ${table.name}: exists in the database but the schema lacks it`);
  }
  return differences;
}

/** Same columns; then the name, which `prisma migrate` derives and would otherwise see as drift. */
function compareIndex(
  table: string,
  kind: string,
  expected: DmmfIndex,
  columns: string[],
  live: LiveIndex,
  suffix: string,
): string[] {
  if (!sameColumns(columns, live.columns)) {
    return [`${kind} of ${table}: is (${live.columns.join(', ')}), the schema says (${columns.join(', ')})`];
  }
  const name = expected.dbName ?? prismaConstraintName(table, columns, suffix);
  if (name !== null && name !== live.name)
    return [`${kind} ${describe(live)} on ${table}: Prisma would name it ${name}`];
  return [];
}

/** Prisma's default name, e.g. `products_seller_id_sku_key`; null when it would be truncated (rules vary). */
function prismaConstraintName(table: string, columns: string[], suffix: string): string | null {
  const name = suffix === 'pkey' ? `${table}_pkey` : `${table}_${columns.join('_')}_${suffix}`;
  return name.length <= 63 ? name : null;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

function describe(index: LiveIndex): string {
  return `${index.name} (${index.columns.join(', ')})`;
}

// --- foreign keys ----------------------------------------------------------------------------

interface ExpectedForeignKey {
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}

/** The foreign keys a model's relation fields imply (the side with `fields:` owns the key). */
export function expectedForeignKeys(datamodel: DmmfDatamodel, model: DmmfModel): ExpectedForeignKey[] {
  return model.fields
    .filter((f) => f.kind === 'object' && (f.relationFromFields?.length ?? 0) > 0)
    .map((relation) => {
      const target = modelByName(datamodel, relation.type);
      const from = (relation.relationFromFields ?? []).map((name) => fieldByName(model, name));
      return {
        columns: from.map(columnName),
        referencedTable: tableName(target),
        referencedColumns: (relation.relationToFields ?? []).map((name) => columnName(fieldByName(target, name))),
        // Prisma's defaults: Restrict when the relation is required, SetNull when optional; updates cascade.
        onDelete: relation.relationOnDelete ?? (from.every((f) => f.isRequired) ? 'Restrict' : 'SetNull'),
        onUpdate: relation.relationOnUpdate ?? 'Cascade',
      };
    });
}

// FK names are not compared: the DMMF does not expose a relation's `map:`, so any check would guess.
function compareForeignKeys(datamodel: DmmfDatamodel, model: DmmfModel, table: LiveTable): string[] {
  const differences: string[] = [];
  const unmatched = [...table.foreignKeys];
  for (const fk of expectedForeignKeys(datamodel, model)) {
    const where = `foreign key ${table.name}(${fk.columns.join(', ')})`;
    const at = unmatched.findIndex((l) => sameColumns(l.columns, fk.columns));
    const live = at < 0 ? undefined : unmatched.splice(at, 1)[0];
    if (!live) {
      differences.push(
        `${where}: missing in the database (→ ${fk.referencedTable}(${fk.referencedColumns.join(', ')}))`,
      );
      continue;
    }
    const expectedTarget = `${fk.referencedTable}(${fk.referencedColumns.join(', ')})`;
    const liveTarget = `${live.referencedTable}(${live.referencedColumns.join(', ')})`;
    if (expectedTarget !== liveTarget)
      differences.push(`${where}: references ${liveTarget}, the schema says ${expectedTarget}`);
    if (fk.onDelete !== live.onDelete)
      differences.push(`${where}: ON DELETE ${live.onDelete}, the schema says ${fk.onDelete}`);
    if (fk.onUpdate !== live.onUpdate)
      differences.push(`${where}: ON UPDATE ${live.onUpdate}, the schema says ${fk.onUpdate}`);
  }
  for (const extra of unmatched) {
    differences.push(
      `foreign key ${extra.name} on ${table.name}(${extra.columns.join(', ')}): exists in the database but no relation describes it`,
    );
  }
  return differences;
}

// --- enums -----------------------------------------------------------------------------------

function compareEnums(datamodel: DmmfDatamodel, live: LiveSchema): string[] {
  const differences: string[] = [];
  const liveEnums = new Map(live.enums.map((e) => [e.name, e.values]));
  for (const enumType of datamodel.enums) {
    const name = enumType.dbName ?? enumType.name;
    const values = enumType.values.map((v) => v.dbName ?? v.name);
    const liveValues = liveEnums.get(name);
    liveEnums.delete(name);
    if (!liveValues) differences.push(`enum ${name}: missing in the database`);
    else if (!sameColumns(values, liveValues)) {
      differences.push(`enum ${name}: has values (${liveValues.join(', ')}), the schema says (${values.join(', ')})`);
    }
  }
  for (const name of liveEnums.keys()) differences.push(`enum ${name}: exists in the database but the schema lacks it`);
  return differences;
}
