import { Alert, Anchor, Badge, Button, Card, Code, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useEffect, useRef, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { useQuery } from 'urql';

import { useLive } from '../api/ApiProvider';
import { useUserChanged } from '../api/useUserChanged';
import { SyncOverviewDocument, UserDetailDocument, type UserFieldsFragment } from '../graphql/generated';
import { UserActions } from '../users/UserActions';
import { nameOf } from '../users/names';
import { IconAlert, IconArrowLeft, IconEdit } from '../ui/Icons';
import { ErrorState, LoadingState } from '../ui/StateViews';
import { syncExplanation, SyncBadge } from '../ui/SyncBadge';
import { formatDateTime, formatRelative } from '../ui/time';
import { HistoryTimeline } from './HistoryTimeline';

const HISTORY_DELAY_MS = 200;

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" fw={600} tt="uppercase" component="dt">
        {label}
      </Text>
      <Text size="sm" component="dd" m={0} style={{ wordBreak: 'break-word' }}>
        {children || (
          <Text span c="dimmed" size="sm">
            —
          </Text>
        )}
      </Text>
    </div>
  );
}

function Profile({ user }: { user: UserFieldsFragment }) {
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="md">
      <Card withBorder radius="md" component="section" aria-labelledby="clerk-fields">
        <Group gap="xs" mb="sm">
          <Title order={2} size="h4" id="clerk-fields">
            Syncs to Clerk
          </Title>
          <Badge size="xs" variant="light" radius="sm" tt="none">
            Clerk
          </Badge>
        </Group>
        <Stack gap="sm" component="dl" m={0}>
          <Field label="Email">{user.email}</Field>
          <Field label="Username">{user.username}</Field>
          <Field label="First name">{user.firstName}</Field>
          <Field label="Last name">{user.lastName}</Field>
          <Field label="Clerk id">{user.clerkId && <Code>{user.clerkId}</Code>}</Field>
          <Field label="Last synced">{user.lastSyncedAt && formatDateTime(user.lastSyncedAt)}</Field>
        </Stack>
      </Card>
      <Card withBorder radius="md" component="section" aria-labelledby="local-fields">
        <Group gap="xs" mb="sm">
          <Title order={2} size="h4" id="local-fields">
            Stays in Tandem
          </Title>
          <Badge size="xs" variant="light" radius="sm" tt="none">
            Local
          </Badge>
        </Group>
        <Stack gap="sm" component="dl" m={0}>
          <Field label="Display name">{user.displayName}</Field>
          <Field label="Bio">{user.bio && <span style={{ whiteSpace: 'pre-line' }}>{user.bio}</span>}</Field>
          <Field label="Roles">
            {user.roles.length > 0 && (
              <Group gap={4} component="span">
                {user.roles.map((r) => (
                  <Badge key={r} variant="default" size="sm" radius="sm" tt="none">
                    {r}
                  </Badge>
                ))}
              </Group>
            )}
          </Field>
          <Field label="Social links">
            {user.socialLinks.length > 0 && (
              <Stack gap={2} component="span">
                {user.socialLinks.map((l) => (
                  <span key={`${l.platform}-${l.url}`}>
                    {l.platform}:{' '}
                    <Anchor href={l.url} target="_blank" rel="noopener noreferrer nofollow" size="sm">
                      {l.url}
                    </Anchor>
                  </span>
                ))}
              </Stack>
            )}
          </Field>
        </Stack>
      </Card>
    </SimpleGrid>
  );
}

export function UserDetailPage() {
  const { id = '' } = useParams();
  const [{ data, error }, refetch] = useQuery({
    query: UserDetailDocument,
    variables: { id },
    requestPolicy: 'cache-and-network',
  });
  // The cache updates the row; the history is not in the pushed row, so ask
  // for it again, once per burst of changes.
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useUserChanged((changed) => {
    if (changed.id !== id) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => refetch({ requestPolicy: 'network-only' }), HISTORY_DELAY_MS);
  });
  useEffect(() => () => clearTimeout(timer.current), []);
  const [{ data: overview }] = useQuery({ query: SyncOverviewDocument });
  const paused = overview?.syncOverview.paused ?? false;
  const { epoch } = useLive();
  useEffect(() => {
    if (epoch > 0) refetch({ requestPolicy: 'network-only' });
  }, [epoch, refetch]);

  if (error && !data) {
    return <ErrorState title="Could not load this user" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  }
  if (!data) return <LoadingState label="Loading user…" />;
  const user = data.user;
  if (!user) {
    return (
      <Alert color="gray" title="No such user" role="alert">
        There is no user with this id. <Anchor component={Link} to="/users">Back to users</Anchor>
      </Alert>
    );
  }

  const problem = user.syncStatus !== 'SYNCED' && !user.deletedAt ? syncExplanation(user, paused) : null;

  return (
    <Stack gap="md" maw={1100} mx="auto">
      <Anchor component={Link} to="/users" size="sm">
        <IconArrowLeft size={14} /> Users
      </Anchor>
      <Group justify="space-between" align="flex-start" gap="sm">
        <Stack gap={4} style={{ minWidth: 0 }}>
          <Group gap="xs">
            <Title order={1} size="h2" style={{ wordBreak: 'break-word' }}>
              {nameOf(user)}
            </Title>
            {user.deletedAt && (
              <Badge color="gray" variant="outline" radius="sm" tt="none">
                Deleted {formatRelative(user.deletedAt)}
              </Badge>
            )}
          </Group>
          <Group gap="xs">
            <Text c="dimmed" size="sm" style={{ wordBreak: 'break-all' }}>
              {user.email}
            </Text>
            <SyncBadge state={user} paused={paused} />
          </Group>
        </Stack>
        <UserActions user={user}>
          {!user.deletedAt && (
            <Button component={Link} to={`/users/${user.id}/edit`} leftSection={<IconEdit size={16} />}>
              Edit
            </Button>
          )}
        </UserActions>
      </Group>

      {problem && (
        <Alert
          color={user.syncStatus === 'FAILED' ? 'red' : 'yellow'}
          variant="light"
          icon={<IconAlert />}
          title={user.syncStatus === 'FAILED' ? 'Clerk does not have the latest changes' : 'Waiting for Clerk'}
        >
          <Text size="sm">{problem}</Text>
          {user.syncStatus === 'FAILED' && (
            <Text size="sm" mt={4}>
              Fix the field and save, or retry once the cause is gone.
            </Text>
          )}
        </Alert>
      )}

      <Profile user={user} />

      <Card withBorder radius="md" component="section" aria-labelledby="history">
        <Group justify="space-between" mb="md" gap="xs">
          <Title order={2} size="h4" id="history">
            History
          </Title>
          <Text size="xs" c="dimmed">
            Newest first · version {user.version} · created {formatDateTime(user.createdAt)}
          </Text>
        </Group>
        <HistoryTimeline history={user.history} />
      </Card>
    </Stack>
  );
}
