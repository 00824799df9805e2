/**
 * What a benchmark reports: one flat object of named figures, units in the names
 * (`cpu_ms_per_order_api`, `submit_p99_ms`), as writeResults writes it to bench/results/<script>.json.
 */
export type Figures = Record<string, number | string>;
