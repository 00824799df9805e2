import type { Database } from '../../platform/database';

/**
 * Typo tolerance for the product search: each word of the query that the catalogue does not know
 * (its english stem is in no product) is replaced by the nearest word the catalogue does know,
 * before the query reaches the full-text index: "chiar" searches for "chair", "keybord" for
 * "keyboard". Known words are never touched, so a correct query is a plain full-text query.
 *
 * Why a vocabulary (read_models.product_search_words) and not trigram similarity on product names:
 * the vocabulary is small (thousands of words, not 100,000 names), so finding candidates is a
 * scan of a small table, and it also covers descriptions, categories and seller names. Trigram
 * similarity alone misses short transposed words ("chiar"/"chair" share two trigrams of ten, 0.2,
 * under pg_trgm's 0.3), so candidates are the words of about the same length and first letter
 * within Levenshtein distance 2 (fuzzystrmatch; an index range, not a scan of the vocabulary) and
 * the trigram-similar words (GIN; catches a wrong first letter in longer words), and the pick is by
 * Damerau distance (a swap counts once), then frequency.
 */

export interface Correction {
  from: string;
  to: string;
}

export interface CorrectedQuery {
  /** The query with unknown words replaced; the same text when nothing was corrected. */
  text: string;
  corrections: Correction[];
  /** False when no word of the query has a stem (only stop words): there is nothing to match on. */
  searchable: boolean;
}

type Reader = Pick<Database, '$queryRawUnsafe'>;

const WORD = /[\p{L}\p{N}]+/gu;

/** How far a word may be from its correction: none for short words, where almost anything is near. */
export function allowedDistance(word: string): number {
  if (word.length <= 3) return 0;
  return word.length === 4 ? 1 : 2;
}

interface TokenRow {
  token: string;
  stems: number;
  known: boolean;
  candidates: { word: string; occurrences: number }[] | null;
}

export async function correctQuery(db: Reader, q: string, wordsTable: string): Promise<CorrectedQuery> {
  const tokens = [...new Set((q.toLowerCase().match(WORD) ?? []).filter((t) => t.length <= 100))];
  if (tokens.length === 0) return { text: q, corrections: [], searchable: false };
  const rows = await db.$queryRawUnsafe<TokenRow[]>(
    `SELECT t.token, cardinality(s.stems) AS stems, k.known,
       CASE WHEN NOT k.known AND length(t.token) > 3 AND t.token ~ '^[[:alpha:]]+$' THEN (
         SELECT json_agg(json_build_object('word', c.word, 'occurrences', c.occurrences))
         FROM (
           SELECT u.word, u.occurrences FROM (
             SELECT w.word, w.occurrences FROM ${wordsTable} w
             WHERE left(w.word, 1) = left(t.token, 1)
               AND length(w.word) BETWEEN length(t.token) - 2 AND length(t.token) + 2
               AND levenshtein_less_equal(w.word, t.token, 2) <= 2
             UNION
             SELECT w.word, w.occurrences FROM ${wordsTable} w WHERE w.word % t.token
           ) u
           ORDER BY levenshtein_less_equal(u.word, t.token, 3), similarity(u.word, t.token) DESC, u.word
           LIMIT 20
         ) c
       ) END AS candidates
     FROM unnest($1::text[]) AS t(token)
     CROSS JOIN LATERAL (SELECT tsvector_to_array(to_tsvector('english', t.token)) AS stems) s
     CROSS JOIN LATERAL (
       SELECT NOT EXISTS (SELECT 1 FROM unnest(s.stems) AS l(lexeme)
                          WHERE NOT EXISTS (SELECT 1 FROM ${wordsTable} w WHERE w.lexeme = l.lexeme)) AS known
     ) k`,
    tokens,
  );
  const replacements = new Map<string, string>();
  for (const row of rows) {
    if (row.known || Number(row.stems) === 0) continue;
    const best = bestCorrection(row.token, row.candidates ?? []);
    if (best) replacements.set(row.token, best);
  }
  const searchable = rows.some((row) => Number(row.stems) > 0);
  if (replacements.size === 0) return { text: q, corrections: [], searchable };
  const text = q.replace(WORD, (word) => replacements.get(word.toLowerCase()) ?? word);
  return {
    text,
    corrections: [...replacements].map(([from, to]) => ({ from, to })),
    searchable,
  };
}

/** The nearest candidate by Damerau distance within the allowed one; ties go to the commoner word. */
export function bestCorrection(
  token: string,
  candidates: readonly { word: string; occurrences: number }[],
): string | undefined {
  const limit = allowedDistance(token);
  let best: { word: string; distance: number; occurrences: number } | undefined;
  for (const { word, occurrences } of candidates) {
    const distance = damerauDistance(token, word);
    if (distance > limit || distance === 0) continue;
    if (!best || distance < best.distance || (distance === best.distance && occurrences > best.occurrences)) {
      best = { word, distance, occurrences };
    }
  }
  return best?.word;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
export function damerauDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, d[i - 2]![j - 2]! + 1);
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}
