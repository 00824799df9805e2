// Every workflow the worker registers. Imported only by Temporal's workflow bundler.
export { orderWorkflow } from './orders/order';
export { platformProbeWorkflow } from './probe';
export { dashboardRecalculationWorkflow } from './dashboard-recalculation';
export { rebalanceWorkflow } from './rebalance/rebalance';
