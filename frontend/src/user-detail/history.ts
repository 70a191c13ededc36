import type { HistoryEntryFieldsFragment } from '../graphql/generated';
import { FIELD_LABELS, isFieldName } from '../user-form/formValues';

type Tone = 'blue' | 'green' | 'yellow' | 'red' | 'gray' | 'grape';

const EVENTS: Record<string, { title: string; tone: Tone }> = {
  UserCreated: { title: 'Created', tone: 'blue' },
  ClerkProfileChanged: { title: 'Clerk fields changed', tone: 'blue' },
  LocalProfileChanged: { title: 'Tandem fields changed', tone: 'blue' },
  ClerkProfileReceived: { title: 'Changed in Clerk', tone: 'grape' },
  UserDeleted: { title: 'Deleted', tone: 'gray' },
  ClerkSynced: { title: 'Synced to Clerk', tone: 'green' },
  ClerkSyncAttemptFailed: { title: 'Sync attempt failed, will retry', tone: 'yellow' },
  ClerkSyncFailed: { title: 'Sync failed', tone: 'red' },
};

/** Event types the server adds later still show, under their stored name. */
export const describeEvent = (entry: HistoryEntryFieldsFragment) => EVENTS[entry.type] ?? { title: entry.type, tone: 'gray' as Tone };

export const isSyncOutcome = (entry: HistoryEntryFieldsFragment) => entry.type.startsWith('ClerkSync');

export const fieldLabel = (field: string) => (isFieldName(field) ? FIELD_LABELS[field] : field === 'deletedAt' ? 'Deleted at' : field);

/** A change's JSON value as one readable line; null when there was none. */
export function formatValue(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    if (value.length === 0) return null;
    return value
      .map((item) =>
        item && typeof item === 'object' && 'platform' in item && 'url' in item
          ? `${String(item.platform)}: ${String(item.url)}`
          : typeof item === 'string'
            ? item
            : JSON.stringify(item),
      )
      .join(', ');
  }
  return JSON.stringify(value);
}
