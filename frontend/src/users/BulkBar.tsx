import { Button, Group, Paper, Text } from '@mantine/core';
import { useState } from 'react';

import { describeError } from '../api/errors';
import type { UserFieldsFragment } from '../graphql/generated';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { IconRefresh, IconTrash } from '../ui/Icons';
import { toastError, toastSuccess, toastWarning } from '../ui/toast';
import { useUserActions } from './actions';

interface Props {
  selected: UserFieldsFragment[];
  onDone: () => void;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Actions on the checked rows, one request per user, reported in one toast. */
export function BulkBar({ selected, onDone }: Props) {
  const { retry, remove } = useUserActions();
  const [busy, setBusy] = useState<'retry' | 'delete' | null>(null);
  const [confirming, setConfirming] = useState(false);
  const live = selected.filter((u) => !u.deletedAt);
  const retryable = live.filter((u) => u.syncStatus !== 'SYNCED');

  async function retryAll() {
    setBusy('retry');
    const outcomes = await Promise.all(retryable.map((u) => retry(u.id)));
    setBusy(null);
    const synced = outcomes.filter((o) => o.ok && o.user.syncStatus === 'SYNCED').length;
    const refused = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
    const unsynced = retryable.length - synced - refused.length;
    const skipped = selected.length - retryable.length;
    const summary = [
      `${plural(synced, 'user')} synced.`,
      unsynced ? `${plural(unsynced, 'user')} still not synced; their badges say why.` : '',
      skipped ? `${skipped} already synced or deleted, skipped.` : '',
    ]
      .filter(Boolean)
      .join(' ');
    if (refused[0]) toastError(`Retry failed for ${plural(refused.length, 'user')}`, `${describeError(refused[0])} ${summary}`);
    else if (unsynced) toastWarning('Clerk sync retried', summary);
    else toastSuccess('Clerk sync retried', summary);
    onDone();
  }

  async function deleteAll() {
    setBusy('delete');
    const outcomes = await Promise.all(live.map((u) => remove(u.id, u.version)));
    setBusy(null);
    setConfirming(false);
    const failed = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
    const deleted = outcomes.length - failed.length;
    if (failed.length) {
      const conflicts = failed.filter((e) => e.code === 'CONFLICT').length;
      toastError(
        `${plural(failed.length, 'user was', 'users were')} not deleted`,
        conflicts
          ? `${plural(conflicts, 'user')} changed since the list loaded; check and try again.`
          : describeError(failed[0]!),
      );
    }
    if (deleted) toastSuccess('Deleted', `${plural(deleted, 'user')} deleted. Clerk follows shortly.`);
    onDone();
  }

  return (
    <Paper withBorder p="sm" bg="blue.0" role="region" aria-label="Bulk actions">
      <Group justify="space-between" gap="sm">
        <Text size="sm" fw={600} aria-live="polite">
          {plural(selected.length, 'user')} selected
        </Text>
        <Group gap="xs">
          <Button
            size="xs"
            variant="default"
            leftSection={<IconRefresh size={16} />}
            disabled={retryable.length === 0}
            loading={busy === 'retry'}
            onClick={() => void retryAll()}
          >
            Retry sync{retryable.length ? ` (${retryable.length})` : ''}
          </Button>
          <Button
            size="xs"
            color="red"
            variant="light"
            leftSection={<IconTrash size={16} />}
            disabled={live.length === 0}
            onClick={() => setConfirming(true)}
          >
            Delete{live.length ? ` (${live.length})` : ''}
          </Button>
          <Button size="xs" variant="subtle" onClick={onDone}>
            Clear selection
          </Button>
        </Group>
      </Group>
      <ConfirmDialog
        opened={confirming}
        title={`Delete ${plural(live.length, 'user')}?`}
        confirmLabel={`Delete ${plural(live.length, 'user')}`}
        busy={busy === 'delete'}
        onConfirm={() => void deleteAll()}
        onCancel={() => setConfirming(false)}
      >
        <p style={{ marginTop: 0 }}>
          {live.length === 1 ? live[0]!.email : `${live.length} users`} will be deleted here and in Clerk. Their history stays
          in Tandem.
        </p>
      </ConfirmDialog>
    </Paper>
  );
}
