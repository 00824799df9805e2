import type { z } from 'zod';
import { HttpProblem, problemTypes } from './problem';

/** Parses a request part with its schema; bad input becomes a 400 naming every bad field. */
export function parseOrProblem<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: 'body' | 'query' | 'path',
): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => ({
    field: [part, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new HttpProblem(
    400,
    problemTypes.validation,
    'Request validation failed',
    `${errors.length} field${errors.length === 1 ? '' : 's'} of the ${part} ${errors.length === 1 ? 'is' : 'are'} invalid`,
    errors,
  );
}
