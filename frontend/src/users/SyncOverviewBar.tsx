import { Group, Paper, Skeleton, Switch, Text, UnstyledButton } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';

import { useLive } from '../api/ApiProvider';
import { toApiError } from '../api/errors';
import { useUserChanged } from '../api/useUserChanged';
import {
  PauseClerkSyncDocument,
  ResumeClerkSyncDocument,
  SyncOverviewDocument,
  type SyncStatus,
} from '../graphql/generated';
import { formatSeconds } from '../ui/time';
import { toastError, toastSuccess } from '../ui/toast';
import classes from './SyncOverviewBar.module.css';

const STATS: { status: SyncStatus; label: string; color: string }[] = [
  { status: 'SYNCED', label: 'Synced', color: 'green' },
  { status: 'PENDING', label: 'Pending', color: 'yellow' },
  { status: 'FAILED', label: 'Failed', color: 'red' },
];

// Counts change with every push; one refetch per burst is plenty.
const REFRESH_DELAY_MS = 400;

interface Props {
  /** The list's status filter: the matching count shows pressed. */
  status: SyncStatus | null;
  onStatus: (status: SyncStatus | null) => void;
}

export function SyncOverviewBar({ status, onStatus }: Props) {
  const [{ data, error }, refetch] = useQuery({ query: SyncOverviewDocument, requestPolicy: 'cache-and-network' });
  const [pausing, pause] = useMutation(PauseClerkSyncDocument);
  const [resuming, resume] = useMutation(ResumeClerkSyncDocument);
  const { epoch } = useLive();
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const [, setTick] = useState(0);

  useUserChanged(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => refetch({ requestPolicy: 'network-only' }), REFRESH_DELAY_MS);
  });
  useEffect(() => () => clearTimeout(timer.current), []);
  useEffect(() => {
    if (epoch > 0) refetch({ requestPolicy: 'network-only' });
  }, [epoch, refetch]);
  // The oldest pending age is a clock: keep it moving between pushes.
  useEffect(() => {
    const id = setInterval(() => setTick((t) => t + 1), 10_000);
    return () => clearInterval(id);
  }, []);

  const overview = data?.syncOverview;

  async function toggle(running: boolean) {
    const result = running ? await resume({}) : await pause({});
    if (result.error) toastError(running ? 'Could not resume Clerk sync' : 'Could not pause Clerk sync', toApiError(result.error));
    else if (running) toastSuccess('Clerk sync resumed', 'Pending changes are being sent to Clerk.');
    else toastSuccess('Clerk sync paused', 'Changes wait as Pending until you resume.');
  }

  const count = (s: SyncStatus) =>
    overview ? { SYNCED: overview.synced, PENDING: overview.pending, FAILED: overview.failed }[s] : null;
  const pendingAge =
    overview?.oldestPendingAt && overview.pending > 0
      ? `oldest ${formatSeconds(-Math.max(0, (Date.now() - new Date(overview.oldestPendingAt).getTime()) / 1000))}`
      : null;

  return (
    <Group component="section" aria-label="Clerk sync overview" gap="sm" align="stretch" wrap="wrap">
      {STATS.map((stat) => {
        const n = count(stat.status);
        const pressed = status === stat.status;
        return (
          <UnstyledButton
            key={stat.status}
            className={classes.stat}
            data-color={stat.color}
            aria-pressed={pressed}
            onClick={() => onStatus(pressed ? null : stat.status)}
            aria-label={`${stat.label}: ${n === null ? 'loading' : `${n} ${n === 1 ? 'user' : 'users'}`}. ${pressed ? 'Showing only these; press to show all.' : 'Press to show only these.'}`}
          >
            <Text size="xs" tt="uppercase" fw={700} className={classes.label}>
              {stat.label}
            </Text>
            {n === null ? (
              <Skeleton h={28} w={40} mt={2} />
            ) : (
              <Text fz={24} fw={700} lh={1.2} data-testid={`count-${stat.status}`}>
                {n}
              </Text>
            )}
            {stat.status === 'PENDING' && pendingAge && (
              <Text size="xs" c="dimmed">
                {pendingAge}
              </Text>
            )}
          </UnstyledButton>
        );
      })}
      <Paper withBorder px="md" py="sm" className={classes.switch}>
        <Switch
          label="Clerk sync"
          description={
            error
              ? 'Status unavailable'
              : overview?.paused
                ? 'Paused: changes wait as Pending'
                : 'Running: changes go to Clerk'
          }
          checked={overview ? !overview.paused : false}
          disabled={!overview || pausing.fetching || resuming.fetching}
          onChange={(e) => void toggle(e.currentTarget.checked)}
          color="green"
        />
      </Paper>
    </Group>
  );
}
