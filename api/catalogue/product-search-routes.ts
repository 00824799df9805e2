import { Router } from 'express';
import { searchProducts } from '../../read-models/product-search/search';
import { searchCacheKey, searchQuerySchema } from '../../read-models/product-search/params';
import { cacheTags } from '../../read-models/projections/projection';
import { PRODUCT_SEARCH_VIEW, productSearchProjection } from '../../read-models/projections/product-search';
import type { AppDeps } from '../deps';
import { sendEntry } from '../http/http-cache';
import { awaitMinPositions, markFreshness, readEntry } from '../http/read-consistency';
import { parseOrProblem } from '../http/validation';

/**
 * GET /v1/products/search: hits, facets and the next page's cursor, from the product search read
 * model (read-models/product-search/search.ts), through the read cache. Every search entry carries the
 * projection's tag: facets count every product, so any change a search could show invalidates all
 * of them, and a rebuild's swap too.
 */
export function productSearchRoutes({
  db,
  cache,
  config,
  positionWatcher,
}: Pick<AppDeps, 'db' | 'cache' | 'config' | 'positionWatcher'>): Router {
  const router = Router();

  router.get('/v1/products/search', async (req, res) => {
    const params = parseOrProblem(searchQuerySchema, req.query, 'query');
    // Read-your-writes: a seller that just changed a product sees the change in the next search.
    const consistency = await awaitMinPositions(req, { db, config, positionWatcher }, productSearchProjection);
    markFreshness(res, consistency);
    const entry = await readEntry(cache, consistency, {
      kind: 'search',
      key: searchCacheKey(params),
      tags: [cacheTags.projection(PRODUCT_SEARCH_VIEW)],
      load: () => searchProducts(db, params),
    });
    // A search always answers (an empty page at worst); undefined would mean a cache that lost the load.
    if (!entry) throw new Error('the read cache returned no search result');
    sendEntry(req, res, entry);
  });

  return router;
}
