import type { z } from 'zod';
import { HttpProblem, problemTypes, type FieldProblem } from './problem';

/**
 * Parses a request part with its schema; bad input becomes a 400 naming every bad field,
 * together with `alsoWrong` (problems found outside the schema, e.g. a field only some callers may omit).
 */
export function parseOrProblem<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: 'body' | 'query' | 'path',
  alsoWrong: FieldProblem[] = [],
): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success && alsoWrong.length === 0) return parsed.data;
  const errors = [
    ...alsoWrong,
    ...(parsed.error?.issues ?? []).map((issue) => ({
      field: [part, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  ];
  throw new HttpProblem(
    400,
    problemTypes.validation,
    'Request validation failed',
    `${errors.length} field${errors.length === 1 ? '' : 's'} of the ${part} ${errors.length === 1 ? 'is' : 'are'} invalid`,
    errors,
  );
}
