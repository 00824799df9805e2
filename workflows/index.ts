// Every workflow the worker registers. Imported only by Temporal's workflow bundler.
export { platformProbeWorkflow } from './probe';
