import type { SagaTimeline, TimelineEntry } from './saga-timeline';

/** The timeline as text for a terminal: one line per thing that happened, offsets from the start. */
export function renderTimeline(workflowId: string, timeline: SagaTimeline): string {
  const lines = [
    `${workflowId}  (${timeline.workflowType ?? 'workflow'}, run ${timeline.runId ?? '?'})`,
    ...(timeline.summary ? [timeline.summary] : []),
    `started ${timeline.startedAt ?? '?'}`,
    '',
  ];
  for (const entry of timeline.entries) {
    const line = renderEntry(entry);
    if (line) lines.push(`${`+${entry.offsetMs} ms`.padStart(10)}  ${line}`);
  }
  lines.push('', outcomeLine(timeline));
  return `${lines.join('\n')}\n`;
}

function renderEntry(entry: TimelineEntry): string | undefined {
  switch (entry.kind) {
    case 'step':
      return entry.step === 'compensating' ? 'compensating (undoing in reverse order)' : `step ${entry.step}`;
    case 'status':
      return `status ${entry.detail}`;
    case 'activity':
    case 'compensation': {
      const indent = entry.kind === 'compensation' ? '  ↩ ' : '  ';
      const what = `${entry.name}${entry.local ? ' (local)' : ''}`;
      const parts = [
        `${indent}${entry.kind === 'compensation' ? (entry.step ?? '') : ''}${entry.kind === 'compensation' ? ': ' : ''}${what}`,
        (entry.outcome ?? '').toUpperCase() === 'OK' ? 'ok' : (entry.outcome ?? '').toUpperCase(),
        entry.durationMs !== undefined ? `${entry.durationMs} ms` : undefined,
        entry.attempts !== undefined ? `${entry.attempts} attempt${entry.attempts === 1 ? '' : 's'}` : undefined,
        entry.error,
        entry.detail,
      ];
      return parts.filter(Boolean).join('  ');
    }
    case 'signal':
      return `signal ${entry.name} ${entry.detail ?? ''}`;
    case 'update':
      return entry.name === 'answered'
        ? `  update answered ${entry.detail ?? ''}`
        : `update ${entry.name} ${entry.detail ?? ''}`;
    case 'timer':
    case 'cancel-request':
      return entry.detail;
    case 'closed':
      return `closed: ${entry.detail}`;
  }
}

function outcomeLine(timeline: SagaTimeline): string {
  const result = timeline.result as
    | {
        status?: string;
        failure?: { step: string; type: string; message: string };
        compensations?: { name: string; outcome: string }[];
      }
    | string
    | undefined;
  if (timeline.closedAs === 'running') return 'still running';
  if (typeof result !== 'object' || result === null) return `${timeline.closedAs}${result ? `: ${result}` : ''}`;
  const failure = result.failure
    ? ` after ${result.failure.type} at ${result.failure.step} (${result.failure.message})`
    : '';
  const compensations = result.compensations?.length
    ? `; compensations: ${result.compensations.map((c) => `${c.name} ${c.outcome}`).join(', ')}`
    : '';
  return `${timeline.closedAs}: order ${result.status ?? '?'}${failure}${compensations}`;
}
