import { createProbeActivities, type ProbeActivityDeps } from './probe';

/** What the worker needs to build every activity; each area takes the part it uses. */
export type ActivityDeps = ProbeActivityDeps;

/** All activities the worker registers, one factory per business area. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createProbeActivities(deps),
  };
}
