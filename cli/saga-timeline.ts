import type { History } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { eventTypeName } from './divergence';

/**
 * One order's saga as a readable timeline, built from its history alone (so it works offline on
 * a file attached to a bug report): each step with its activity, attempts, duration and error,
 * each compensation, signals, updates, status changes and the outcome.
 */
type Payload = temporal.api.common.v1.IPayload;
/** Decodes payloads (through the payload codec when one is configured) to plain values. */
export type PayloadDecoder = (payloads: Payload[]) => Promise<unknown[]>;

export interface TimelineEntry {
  eventId: number;
  offsetMs: number;
  kind: 'step' | 'activity' | 'compensation' | 'status' | 'signal' | 'update' | 'timer' | 'cancel-request' | 'closed';
  /** Saga step (for steps, activities and compensations). */
  step?: string;
  /** Activity type, signal or update name. */
  name?: string;
  local?: boolean;
  outcome?: 'ok' | 'failed' | 'timed out' | 'cancelled' | 'running';
  attempts?: number;
  durationMs?: number;
  error?: string;
  detail?: string;
}

export interface SagaTimeline {
  workflowId?: string;
  runId?: string;
  workflowType?: string;
  startedAt?: string;
  summary?: string;
  closedAs: 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed out' | 'continued as new' | 'running';
  result?: unknown;
  entries: TimelineEntry[];
}

const compensationSteps: Record<string, string> = {
  releaseInventory: 'release-inventory',
  refundPayment: 'refund-payment',
  cancelShipments: 'cancel-shipments',
};

type Event = temporal.api.history.v1.IHistoryEvent;

const millis = (time: Event['eventTime']): number =>
  time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;

function failureText(failure: temporal.api.failure.v1.IFailure | null | undefined): string | undefined {
  if (!failure) return undefined;
  const inner = failure.cause && !failure.applicationFailureInfo ? failure.cause : failure;
  const type = inner.applicationFailureInfo?.type;
  return type ? `${type}: ${inner.message ?? ''}` : (inner.message ?? undefined) || undefined;
}

export async function sagaTimeline(history: History, decode: PayloadDecoder): Promise<SagaTimeline> {
  const events = history.events ?? [];
  const first = events[0];
  const started = first?.workflowExecutionStartedEventAttributes;
  const t0 = millis(first?.eventTime);
  const timeline: SagaTimeline = {
    workflowType: started?.workflowType?.name ?? undefined,
    runId: started?.originalExecutionRunId ?? undefined,
    startedAt: first?.eventTime ? new Date(t0).toISOString() : undefined,
    closedAs: 'running',
    entries: [],
  };
  const summaryPayload = first?.userMetadata?.summary;
  if (summaryPayload) timeline.summary = String((await decode([summaryPayload]))[0]);

  let step: string | undefined;
  const scheduled = new Map<number, TimelineEntry>();
  const add = (event: Event, entry: Omit<TimelineEntry, 'eventId' | 'offsetMs'>): TimelineEntry => {
    const full = { eventId: Number(event.eventId), offsetMs: millis(event.eventTime) - t0, ...entry };
    timeline.entries.push(full);
    return full;
  };
  const activityKind = (type: string): 'compensation' | 'activity' =>
    step === 'compensating' && compensationSteps[type] ? 'compensation' : 'activity';

  for (const event of events) {
    const a = event;
    if (a.upsertWorkflowSearchAttributesEventAttributes) {
      const fields = a.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
      for (const [key, payload] of Object.entries(fields)) {
        const [value] = await decode([payload]);
        if (key === 'SagaStep') {
          step = String(value);
          add(event, { kind: 'step', step });
        } else if (key === 'OrderStatus') add(event, { kind: 'status', detail: String(value) });
      }
    } else if (a.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      const marker = a.markerRecordedEventAttributes;
      const [data] = (await decode(marker.details?.['data']?.payloads ?? [])) as [LocalActivityMarker | undefined];
      const type = data?.activity_type ?? '?';
      const failed = failureText(marker.failure);
      add(event, {
        kind: activityKind(type),
        step: activityKind(type) === 'compensation' ? compensationSteps[type] : step,
        name: type,
        local: true,
        outcome: failed ? 'failed' : 'ok',
        attempts: data?.attempt,
        durationMs: localDuration(data),
        error: failed,
      });
    } else if (a.activityTaskScheduledEventAttributes) {
      const type = a.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
      const entry = add(event, {
        kind: activityKind(type),
        step: activityKind(type) === 'compensation' ? compensationSteps[type] : step,
        name: type,
        outcome: 'running',
      });
      scheduled.set(Number(event.eventId), entry);
    } else if (a.activityTaskStartedEventAttributes) {
      const entry = scheduled.get(Number(a.activityTaskStartedEventAttributes.scheduledEventId));
      if (entry) {
        entry.attempts = a.activityTaskStartedEventAttributes.attempt ?? 1;
        const last = failureText(a.activityTaskStartedEventAttributes.lastFailure);
        if (last) entry.detail = `earlier attempts failed: ${last}`;
      }
    } else if (
      a.activityTaskCompletedEventAttributes ||
      a.activityTaskFailedEventAttributes ||
      a.activityTaskTimedOutEventAttributes ||
      a.activityTaskCanceledEventAttributes
    ) {
      const closed =
        a.activityTaskCompletedEventAttributes ??
        a.activityTaskFailedEventAttributes ??
        a.activityTaskTimedOutEventAttributes ??
        a.activityTaskCanceledEventAttributes!;
      const entry = scheduled.get(Number(closed.scheduledEventId));
      if (!entry) continue;
      entry.durationMs = millis(event.eventTime) - t0 - entry.offsetMs;
      entry.outcome = a.activityTaskCompletedEventAttributes
        ? 'ok'
        : a.activityTaskFailedEventAttributes
          ? 'failed'
          : a.activityTaskTimedOutEventAttributes
            ? 'timed out'
            : 'cancelled';
      entry.error = failureText(
        a.activityTaskFailedEventAttributes?.failure ?? a.activityTaskTimedOutEventAttributes?.failure,
      );
    } else if (a.workflowExecutionSignaledEventAttributes) {
      const signal = a.workflowExecutionSignaledEventAttributes;
      add(event, {
        kind: 'signal',
        name: signal.signalName ?? '?',
        detail: JSON.stringify(await decode(signal.input?.payloads ?? [])),
      });
    } else if (a.workflowExecutionUpdateAcceptedEventAttributes) {
      const request = a.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
      add(event, {
        kind: 'update',
        name: request?.input?.name ?? '?',
        detail: JSON.stringify(await decode(request?.input?.args?.payloads ?? [])),
      });
    } else if (a.workflowExecutionUpdateCompletedEventAttributes) {
      const outcome = a.workflowExecutionUpdateCompletedEventAttributes.outcome;
      const answer = outcome?.success?.payloads ? await decode(outcome.success.payloads) : undefined;
      add(event, {
        kind: 'update',
        name: 'answered',
        detail: JSON.stringify(answer?.[0] ?? failureText(outcome?.failure)),
      });
    } else if (a.timerStartedEventAttributes) {
      add(event, { kind: 'timer', detail: `timer ${a.timerStartedEventAttributes.timerId} started` });
    } else if (a.timerFiredEventAttributes) {
      add(event, { kind: 'timer', detail: `timer ${a.timerFiredEventAttributes.timerId} fired` });
    } else if (a.workflowExecutionCancelRequestedEventAttributes) {
      add(event, {
        kind: 'cancel-request',
        detail: a.workflowExecutionCancelRequestedEventAttributes.cause || 'cancel requested',
      });
    } else {
      await closeWith(event, timeline, decode, add);
    }
  }
  return timeline;
}

interface LocalActivityMarker {
  activity_type?: string;
  attempt?: number;
  complete_time?: { seconds: number; nanos: number };
  original_schedule_time?: { seconds: number; nanos: number };
}

/** From the marker's own clock readings; left out when they do not make sense (clocks of two machines). */
function localDuration(data: LocalActivityMarker | undefined): number | undefined {
  if (!data?.complete_time || !data.original_schedule_time) return undefined;
  const ms = timestampMs(data.complete_time) - timestampMs(data.original_schedule_time);
  return ms >= 0 ? ms : undefined;
}

function timestampMs(t: { seconds: number; nanos: number }): number {
  return t.seconds * 1000 + Math.floor(t.nanos / 1e6);
}

async function closeWith(
  event: Event,
  timeline: SagaTimeline,
  decode: PayloadDecoder,
  add: (event: Event, entry: Omit<TimelineEntry, 'eventId' | 'offsetMs'>) => TimelineEntry,
): Promise<void> {
  if (event.workflowExecutionCompletedEventAttributes) {
    timeline.closedAs = 'completed';
    [timeline.result] = await decode(event.workflowExecutionCompletedEventAttributes.result?.payloads ?? []);
  } else if (event.workflowExecutionFailedEventAttributes) {
    timeline.closedAs = 'failed';
    timeline.result = failureText(event.workflowExecutionFailedEventAttributes.failure);
  } else if (event.workflowExecutionCanceledEventAttributes) timeline.closedAs = 'cancelled';
  else if (event.workflowExecutionTerminatedEventAttributes) {
    timeline.closedAs = 'terminated';
    timeline.result = event.workflowExecutionTerminatedEventAttributes.reason;
  } else if (event.workflowExecutionTimedOutEventAttributes) timeline.closedAs = 'timed out';
  else if (event.workflowExecutionContinuedAsNewEventAttributes) timeline.closedAs = 'continued as new';
  else return;
  add(event, { kind: 'closed', detail: `${eventTypeName(event.eventType)}` });
}
