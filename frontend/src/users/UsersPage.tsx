import { Button, EmptyState, Group, Loader, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useQuery } from 'urql';

import { useLive } from '../api/ApiProvider';
import { useUserChanged } from '../api/useUserChanged';
import { SyncOverviewDocument, UsersDocument, type OrderField } from '../graphql/generated';
import { IconPlus, IconUsers } from '../ui/Icons';
import { ErrorState } from '../ui/StateViews';
import { BulkBar } from './BulkBar';
import { firstDirection, hasFilters, PAGE_SIZE, readParams, stillMatches, toVariables, writeParams, type ListParams } from './listParams';
import { SyncOverviewBar } from './SyncOverviewBar';
import { UsersFilters } from './UsersFilters';
import { UsersTable } from './UsersTable';

// Several pushes in a burst (a create, then its sync) cost one refetch.
const REFETCH_DELAY_MS = 300;

export function UsersPage() {
  const [query, setQuery] = useSearchParams();
  const params = useMemo(() => readParams(query), [query]);
  const variables = useMemo(() => toVariables(params), [params]);
  const [result, refetch] = useQuery({ query: UsersDocument, variables, requestPolicy: 'cache-and-network' });
  const [{ data: overview }] = useQuery({ query: SyncOverviewDocument });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const { epoch } = useLive();

  const connection = result.data?.users;
  const users = useMemo(() => connection?.edges.map((e) => e.node) ?? [], [connection]);

  const update = (patch: Partial<ListParams>) => {
    // Any change but paging starts again at page one.
    const next = { ...params, cursors: [], ...patch };
    setQuery(writeParams(next), { replace: !('cursors' in patch) });
  };

  // A new page or new filters: checked rows out of sight should not be acted on.
  useEffect(() => setSelected(new Set()), [variables]);

  // Rows update in place through the cache; what the cache cannot know is
  // whether the list's membership changed, so then ask the server again.
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useUserChanged((user) => {
    const onPage = users.some((u) => u.id === user.id);
    if (onPage && stillMatches(user, params)) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => refetch({ requestPolicy: 'network-only' }), REFETCH_DELAY_MS);
  });
  useEffect(() => () => clearTimeout(timer.current), []);
  useEffect(() => {
    if (epoch > 0) refetch({ requestPolicy: 'network-only' });
  }, [epoch, refetch]);

  const onSort = (field: OrderField) => {
    const direction =
      params.sort === field ? (params.direction === 'ASC' ? 'DESC' : 'ASC') : firstDirection(field);
    update({ sort: field, direction });
  };

  const onSelect = (ids: string[], on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });

  const knownRoles = useMemo(
    () => [...new Set([...users.flatMap((u) => u.roles), ...(params.role ? [params.role] : [])])].sort(),
    [users, params.role],
  );
  const page = params.cursors.length;
  const from = page * PAGE_SIZE + 1;

  return (
    <Stack gap="md" maw={1280} mx="auto">
      <Group justify="space-between" align="center">
        <Title order={1} size="h2">
          Users
        </Title>
        <Button component={Link} to="/users/new" leftSection={<IconPlus size={16} />}>
          New user
        </Button>
      </Group>

      <SyncOverviewBar status={params.status} onStatus={(status) => update({ status })} />

      <UsersFilters
        params={params}
        knownRoles={knownRoles}
        onChange={update}
        onClear={() => update({ search: '', status: null, role: '', includeDeleted: false })}
      />

      {selected.size > 0 && (
        <BulkBar selected={users.filter((u) => selected.has(u.id))} onDone={() => setSelected(new Set())} />
      )}

      {result.error && !connection ? (
        <ErrorState
          title="Could not load users"
          error={result.error}
          onRetry={() => refetch({ requestPolicy: 'network-only' })}
        />
      ) : !connection ? (
        <Stack gap="xs" role="status" aria-label="Loading users">
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} h={52} />
          ))}
        </Stack>
      ) : users.length === 0 ? (
        hasFilters(params) ? (
          <EmptyState
            title="No users match"
            description="Nothing matches these filters. Loosen them, or clear them to see everyone."
            icon={<IconUsers size={28} />}
            withIndicatorBackground
            py="xl"
          >
            <EmptyState.Actions>
              <Button
                variant="default"
                onClick={() => update({ search: '', status: null, role: '', includeDeleted: false })}
              >
                Clear filters
              </Button>
            </EmptyState.Actions>
          </EmptyState>
        ) : (
          <EmptyState
            title="No users yet"
            description="Users you add here are created in Clerk too, and kept in sync."
            icon={<IconUsers size={28} />}
            withIndicatorBackground
            py="xl"
          >
            <EmptyState.Actions>
              <Button component={Link} to="/users/new" leftSection={<IconPlus size={16} />}>
                Create the first user
              </Button>
            </EmptyState.Actions>
          </EmptyState>
        )
      ) : (
        <UsersTable
          users={users}
          params={params}
          paused={overview?.syncOverview.paused ?? false}
          selected={selected}
          onSelect={onSelect}
          onSort={onSort}
        />
      )}

      {connection && connection.totalCount > 0 && (
        <Group justify="space-between" component="nav" aria-label="Pages">
          <Group gap="xs">
            <Text size="sm" c="dimmed" aria-live="polite">
              {from}–{from + users.length - 1} of {connection.totalCount}
            </Text>
            {result.fetching && <Loader size="xs" aria-label="Refreshing" />}
          </Group>
          <Group gap="xs">
            <Button
              variant="default"
              size="xs"
              disabled={page === 0}
              onClick={() => update({ cursors: params.cursors.slice(0, -1) })}
            >
              Previous
            </Button>
            <Button
              variant="default"
              size="xs"
              disabled={!connection.pageInfo.hasNextPage || !connection.pageInfo.endCursor}
              onClick={() => update({ cursors: [...params.cursors, connection.pageInfo.endCursor!] })}
            >
              Next
            </Button>
          </Group>
        </Group>
      )}
    </Stack>
  );
}
