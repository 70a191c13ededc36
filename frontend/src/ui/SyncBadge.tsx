import { Badge, Tooltip } from '@mantine/core';

import type { SyncStatus } from '../graphql/generated';
import { formatMoment } from './time';

export interface SyncState {
  syncStatus: SyncStatus;
  syncError: string | null;
  syncAttempts: number;
  nextRetryAt: string | null;
}

// Text colours a shade darker than Mantine's `light` defaults, for contrast;
// the label and glyph carry the meaning without the colour.
const LOOK = {
  SYNCED: { color: 'green', c: 'green.9', glyph: '✓', label: 'Synced' },
  PENDING: { color: 'yellow', c: 'yellow.9', glyph: '◷', label: 'Pending' },
  FAILED: { color: 'red', c: 'red.9', glyph: '!', label: 'Failed' },
} as const;

/** Why the badge says what it says: Clerk's error, the next retry. */
export function syncExplanation(state: SyncState, paused = false): string | null {
  switch (state.syncStatus) {
    case 'SYNCED':
      return null;
    case 'FAILED':
      return state.syncError ?? 'Clerk refused the last change.';
    case 'PENDING': {
      const parts: string[] = [];
      if (state.syncError) parts.push(`Attempt ${state.syncAttempts} failed: ${state.syncError}`);
      if (paused) parts.push('Clerk sync is paused.');
      else if (state.nextRetryAt) parts.push(`Next attempt at ${formatMoment(state.nextRetryAt)}.`);
      return parts.length ? parts.join(' ') : null;
    }
  }
}

export function SyncBadge({ state, paused = false }: { state: SyncState; paused?: boolean }) {
  const look = LOOK[state.syncStatus];
  const retry = state.syncStatus === 'PENDING' && state.nextRetryAt && !paused;
  const text = retry ? `${look.label} · retry ${formatMoment(state.nextRetryAt!)}` : look.label;
  const why = syncExplanation(state, paused);
  const badge = (
    <Badge
      color={look.color}
      c={look.c}
      variant="light"
      radius="sm"
      tt="none"
      leftSection={<span aria-hidden="true">{look.glyph}</span>}
      // Focusable only when there is more to read, so the tooltip opens from the keyboard too.
      tabIndex={why ? 0 : undefined}
      aria-label={why ? `${look.label}: ${why}` : undefined}
      data-sync-status={state.syncStatus}
      style={why ? { cursor: 'help' } : undefined}
    >
      {text}
    </Badge>
  );
  if (!why) return badge;
  return (
    <Tooltip label={why} multiline maw={320} withArrow events={{ hover: true, focus: true, touch: true }}>
      {badge}
    </Tooltip>
  );
}
