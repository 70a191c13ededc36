import { Button, Group } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';

import type { UserFieldsFragment } from '../graphql/generated';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { IconRefresh, IconTrash } from '../ui/Icons';
import { toastError, toastSuccess, toastWarning } from '../ui/toast';
import { retryMessage, useUserActions } from './actions';

/** Retry and delete for one user, with their confirmations and toasts. */
export function UserActions({ user, children }: { user: UserFieldsFragment; children?: ReactNode }) {
  const { retry, remove } = useUserActions();
  const navigate = useNavigate();
  const [retrying, setRetrying] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [confirming, setConfirming] = useState(false);

  async function onRetry() {
    setRetrying(true);
    const outcome = await retry(user.id);
    setRetrying(false);
    if (!outcome.ok) return toastError('Could not retry Clerk sync', outcome.error);
    const { tone, text } = retryMessage(outcome.user);
    if (tone === 'success') toastSuccess('Synced with Clerk', text);
    else toastWarning('Clerk sync retried', text);
  }

  async function onDelete() {
    setDeleting(true);
    const outcome = await remove(user.id, user.version);
    setDeleting(false);
    setConfirming(false);
    if (!outcome.ok) return toastError('User not deleted', outcome.error);
    toastSuccess('User deleted', `${user.email} is deleted; Clerk follows shortly.`);
    navigate('/users');
  }

  if (user.deletedAt) return <Group gap="xs">{children}</Group>;
  return (
    <Group gap="xs">
      {children}
      {user.syncStatus !== 'SYNCED' && (
        <Button variant="default" leftSection={<IconRefresh size={16} />} loading={retrying} onClick={() => void onRetry()}>
          Retry Clerk sync
        </Button>
      )}
      <Button variant="light" color="red" leftSection={<IconTrash size={16} />} onClick={() => setConfirming(true)}>
        Delete
      </Button>
      <ConfirmDialog
        opened={confirming}
        title="Delete this user?"
        confirmLabel="Delete user"
        busy={deleting}
        onConfirm={() => void onDelete()}
        onCancel={() => setConfirming(false)}
      >
        <p style={{ marginTop: 0 }}>
          <strong>{user.email}</strong> will be deleted here and in Clerk. The history stays in Tandem.
        </p>
      </ConfirmDialog>
    </Group>
  );
}
