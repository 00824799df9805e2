import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';

/**
 * Turns the SDK core's determinism error into what a developer needs: the event of the history
 * where the code went another way, and what the code did instead, in plain words.
 *
 * The core's message says what differs but not always where. We find where by replaying
 * prefixes of the history that end at a workflow task boundary: the first prefix that fails
 * tells which workflow task's commands disagree with the history, and the first event those
 * commands recorded is the divergence.
 */
export interface Divergence {
  eventId?: number;
  eventType?: string;
  explanation: string;
}

const EventType = temporal.api.enums.v1.EventType;

export function eventTypeName(type: temporal.api.enums.v1.EventType | null | undefined): string {
  const name = EventType[type ?? 0] ?? 'EVENT_TYPE_UNSPECIFIED';
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _sep: string, c: string) => c.toUpperCase());
}

/** The core's message without its code prefix, rephrased where we know the pattern. */
export function explainDeterminismError(message: string): string {
  const activity =
    /Activity type of scheduled event '([^']+)' does not match activity type of activity command '([^']+)'/.exec(
      message,
    );
  if (activity) return `the history scheduled activity ${activity[1]} here, but the code now schedules ${activity[2]}`;
  const machine = /(\w+) machine does not handle this event: HistoryEvent\(id: (\d+), (\w+)\)/.exec(message);
  if (machine) {
    const did = machineActions[machine[1]!] ?? `issues a ${machine[1]!.toLowerCase()} command`;
    return `the code now ${did} here, where the history recorded ${machine[3]} (event ${machine[2]})`;
  }
  // The core wraps its own message in a debug rendering; keep only the message itself.
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1]?.replace(/\\"/g, '"') ?? message;
  return inner
    .replace(/^\s*\[TMPRL\d+\]\s*/, '')
    .replace(/^Nondeterminism error:\s*/i, '')
    .replace(/^Workflow activation completion failed:\s*/i, '');
}

/** What a command of each of the core's state machines means, said as what the code does. */
const machineActions: Record<string, string> = {
  Timer: 'starts a timer',
  Activity: 'schedules an activity',
  LocalActivity: 'runs a local activity',
  ChildWorkflow: 'starts a child workflow',
  Signal: 'signals another workflow',
  UpsertSearchAttributes: 'upserts search attributes',
  Patch: 'records a patch marker',
};

/** Event indexes just after each completed workflow task: the ends of replayable prefixes. */
function taskBoundaries(history: History): number[] {
  const events = history.events ?? [];
  const ends: number[] = [];
  events.forEach((event, index) => {
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) ends.push(index + 1);
  });
  return ends;
}

/**
 * Finds the first event whose recording the current code does not reproduce.
 * `replays(prefix)` answers whether a prefix of the history replays without a determinism error.
 */
export async function locateDivergence(
  history: History,
  message: string,
  replays: (prefix: History) => Promise<boolean>,
): Promise<Divergence> {
  const events = history.events ?? [];
  const ends = taskBoundaries(history);
  const explanation = explainDeterminismError(message);
  const named = /HistoryEvent\(id: (\d+), (\w+)\)/.exec(message);
  if (named) return { eventId: Number(named[1]), eventType: named[2]!, explanation };
  // Smallest k with prefix(ends[k]) failing; prefix(ends[k]) checks the commands of tasks before k.
  let low = 0;
  let high = ends.length; // `ends.length` stands for the whole history, known to fail.
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (await replays({ events: events.slice(0, ends[mid]) })) low = mid + 1;
    else high = mid;
  }
  // Commands of the task completed at ends[low - 1] disagree; of the events they recorded, the one
  // the core's message names (e.g. an activity type) is the divergence, else the first of them.
  const start = low === 0 ? 0 : ends[low - 1]!;
  const next = events.findIndex((e, i) => i >= start && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  const recordedByTask = events
    .slice(start, next === -1 ? undefined : next)
    .filter((e) => !isWorkflowTaskEvent(e.eventType));
  const quoted = [...message.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  const recorded =
    recordedByTask.find((e) => quoted.some((name) => JSON.stringify(e).includes(`"${name}"`))) ??
    recordedByTask[0] ??
    events.slice(start).find((e) => !isWorkflowTaskEvent(e.eventType));
  if (!recorded) return { explanation };
  return { eventId: Number(recorded.eventId), eventType: eventTypeName(recorded.eventType), explanation };
}

function isWorkflowTaskEvent(type: temporal.api.enums.v1.EventType | null | undefined): boolean {
  return (
    type === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED ||
    type === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED ||
    type === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
  );
}
