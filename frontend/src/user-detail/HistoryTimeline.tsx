import { Code, Group, List, Stack, Text, Timeline } from '@mantine/core';

import type { HistoryEntryFieldsFragment } from '../graphql/generated';
import { OriginBadge } from '../ui/OriginBadge';
import { formatDateTime, formatRelative } from '../ui/time';
import { describeEvent, fieldLabel, formatValue, isSyncOutcome } from './history';
import classes from './HistoryTimeline.module.css';

function Value({ value }: { value: unknown }) {
  const text = formatValue(value);
  return text === null ? (
    <span className={classes.empty}>empty</span>
  ) : (
    <span className={classes.value}>{text}</span>
  );
}

function Entry({ entry }: { entry: HistoryEntryFieldsFragment }) {
  return (
    <Stack gap={6}>
      <Group gap="xs" wrap="wrap">
        <OriginBadge origin={entry.origin} />
        <Text size="sm">{entry.actor}</Text>
        <Text size="sm" c="dimmed" component="time" dateTime={entry.occurredAt} title={formatDateTime(entry.occurredAt)}>
          {formatDateTime(entry.occurredAt)} · {formatRelative(entry.occurredAt)}
        </Text>
      </Group>
      {entry.changes.length > 0 && (
        <List size="sm" spacing={2} className={classes.changes}>
          {entry.changes.map((change) => (
            <List.Item key={change.field}>
              <Text span fw={600} size="sm">
                {fieldLabel(change.field)}:
              </Text>{' '}
              <Value value={change.oldValue} /> <span aria-label="changed to">→</span> <Value value={change.newValue} />
            </List.Item>
          ))}
        </List>
      )}
      {entry.detail && (
        <Text size="sm" c={isSyncOutcome(entry) ? undefined : 'dimmed'} className={classes.detail}>
          {entry.detail}
        </Text>
      )}
      {entry.requestId && (
        <Text size="xs" c="dimmed">
          Request <Code fz="xs">{entry.requestId}</Code>
        </Text>
      )}
    </Stack>
  );
}

/** The audit log, newest first: what changed, from what, who, and how Clerk answered. */
export function HistoryTimeline({ history }: { history: HistoryEntryFieldsFragment[] }) {
  const newestFirst = [...history].reverse();
  return (
    <Timeline bulletSize={14} lineWidth={2} active={-1}>
      {newestFirst.map((entry) => {
        const { title, tone } = describeEvent(entry);
        return (
          <Timeline.Item
            key={entry.sequence}
            title={title}
            color={tone}
            bullet={<span className={classes.bullet} data-tone={tone} />}
            data-event-type={entry.type}
          >
            <Entry entry={entry} />
          </Timeline.Item>
        );
      })}
    </Timeline>
  );
}
