import { z } from 'zod';

/**
 * How a setting is declared: once, in its area's schema. The key it sits under is where it lands in
 * `Config`; the environment variable's name, default and meaning are registered with its schema, and
 * loadConfig, `.env.example` and docs/configuration.md all read them from there.
 */

export interface VariableMeta {
  /** The environment variable. */
  name: string;
  /** What it does, in markdown: one line of the configuration table. */
  description: string;
  /** The value used while the variable is unset or empty, written as in the environment. */
  default?: string;
  /** A credential, or a value that may carry one (a password in a URL): its default must be public. */
  secret?: boolean;
}

/** A group of settings: one table in docs/configuration.md, one block of `.env.example`. */
export interface AreaMeta {
  title: string;
  /** What the settings have in common, in markdown; shown above them. */
  intro?: string;
}

export const variables = z.registry<VariableMeta>();
export const areas = z.registry<AreaMeta>();

declare const variableName: unique symbol;
/** A variable's schema, with its name in its type so that ConfigVariable can list every name. */
export type Variable<N extends string, S extends z.ZodType> = S & { readonly [variableName]: N };

type Doc = Omit<VariableMeta, 'name' | 'default'>;

/**
 * Declares the variable `name`, read with `schema`. With a default, an unset variable reads as if it
 * were set to the default; without one, it reads as `undefined`.
 */
export function variable<const N extends string, S extends z.ZodType>(
  name: N,
  schema: S,
  doc: Doc & { default: z.input<S> & string },
): Variable<N, z.ZodPrefault<S>>;
export function variable<const N extends string, S extends z.ZodType>(
  name: N,
  schema: S,
  doc: Doc,
): Variable<N, z.ZodOptional<S>>;
export function variable(name: string, schema: z.ZodType, doc: Doc & { default?: string }): z.ZodType {
  const declared = doc.default === undefined ? schema.optional() : schema.prefault(doc.default);
  return declared.register(variables, { name, ...doc });
}

/** An area's schema: an object of variables (or of objects of them), under a title for the docs. */
export function area<Shape extends z.ZodRawShape>(meta: AreaMeta, shape: Shape) {
  return z.object(shape).register(areas, meta);
}

/** The names of every variable a schema reads, as a type. */
export type VariableNames<S> = S extends { readonly [variableName]: infer N }
  ? N
  : S extends z.ZodObject<infer Shape>
    ? { [K in keyof Shape]: VariableNames<Shape[K]> }[keyof Shape]
    : never;

export interface DeclaredVariable extends VariableMeta {
  /** Where its value sits in the parsed object, e.g. `['rateLimit', 'limits', 'read', 'key', 'burst']`. */
  path: string[];
}

/** Every variable a schema reads, in declaration order. */
export function variablesOf(schema: z.ZodType, path: string[] = []): DeclaredVariable[] {
  const meta = variables.get(schema);
  if (meta) return [{ ...meta, path }];
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape as z.ZodRawShape).flatMap(([key, field]) =>
      variablesOf(field as z.ZodType, [...path, key]),
    );
  }
  throw new Error(`config: ${path.join('.')} is neither a variable() nor an object of them`);
}
