import { Anchor, Badge, Checkbox, Group, Stack, Table, Text, UnstyledButton, type TableThProps } from '@mantine/core';
import { Link } from 'react-router';

import type { OrderField, UserFieldsFragment } from '../graphql/generated';
import { IconSortAsc, IconSortDesc, IconSortNone } from '../ui/Icons';
import { SyncBadge } from '../ui/SyncBadge';
import { formatDateTime, formatRelative } from '../ui/time';
import type { ListParams } from './listParams';
import { nameOf } from './names';
import classes from './UsersTable.module.css';

interface Props {
  users: UserFieldsFragment[];
  params: ListParams;
  paused: boolean;
  selected: Set<string>;
  onSelect: (ids: string[], selected: boolean) => void;
  onSort: (field: OrderField) => void;
}

function SortHeader({
  field,
  label,
  params,
  onSort,
  ...rest
}: { field: OrderField; label: string; params: ListParams; onSort: (f: OrderField) => void } & TableThProps) {
  const active = params.sort === field;
  const direction = active ? (params.direction === 'ASC' ? 'ascending' : 'descending') : 'none';
  const Icon = !active ? IconSortNone : params.direction === 'ASC' ? IconSortAsc : IconSortDesc;
  return (
    <Table.Th aria-sort={direction} {...rest}>
      <UnstyledButton onClick={() => onSort(field)} className={classes.sort} data-active={active || undefined}>
        {label}
        <Icon size={14} />
      </UnstyledButton>
    </Table.Th>
  );
}

export function UsersTable({ users, params, paused, selected, onSelect, onSort }: Props) {
  const all = users.length > 0 && users.every((u) => selected.has(u.id));
  const some = users.some((u) => selected.has(u.id));
  return (
    <Table.ScrollContainer minWidth={0} type="native">
      <Table verticalSpacing="sm" highlightOnHover className={classes.table}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={40}>
              <Checkbox
                aria-label="Select all users on this page"
                checked={all}
                indeterminate={some && !all}
                onChange={(e) => onSelect(users.map((u) => u.id), e.currentTarget.checked)}
              />
            </Table.Th>
            <SortHeader field="EMAIL" label="User" params={params} onSort={onSort} />
            <SortHeader field="USERNAME" label="Username" params={params} onSort={onSort} visibleFrom="sm" />
            <Table.Th visibleFrom="md">Roles</Table.Th>
            <Table.Th>Clerk sync</Table.Th>
            <SortHeader field="UPDATED_AT" label="Updated" params={params} onSort={onSort} visibleFrom="sm" />
            <SortHeader field="CREATED_AT" label="Created" params={params} onSort={onSort} visibleFrom="lg" />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {users.map((user) => (
            <Table.Tr key={user.id} data-user-id={user.id} bg={selected.has(user.id) ? 'blue.0' : undefined}>
              <Table.Td>
                <Checkbox
                  aria-label={`Select ${user.email}`}
                  checked={selected.has(user.id)}
                  onChange={(e) => onSelect([user.id], e.currentTarget.checked)}
                />
              </Table.Td>
              <Table.Td className={classes.user}>
                <Stack gap={0}>
                  <Group gap={6} wrap="nowrap">
                    <Anchor component={Link} to={`/users/${user.id}`} fw={600} className={classes.name}>
                      {nameOf(user)}
                    </Anchor>
                    {user.deletedAt && (
                      <Badge color="gray" variant="outline" size="xs" radius="sm" tt="none">
                        Deleted
                      </Badge>
                    )}
                  </Group>
                  <Text size="sm" c="dimmed" className={classes.email}>
                    {user.email}
                  </Text>
                </Stack>
              </Table.Td>
              <Table.Td visibleFrom="sm">
                {user.username ? (
                  <Text size="sm">{user.username}</Text>
                ) : (
                  <Text size="sm" c="dimmed" aria-label="No username">
                    —
                  </Text>
                )}
              </Table.Td>
              <Table.Td visibleFrom="md">
                <Group gap={4}>
                  {user.roles.map((role) => (
                    <Badge key={role} variant="default" size="sm" radius="sm" tt="none">
                      {role}
                    </Badge>
                  ))}
                </Group>
              </Table.Td>
              <Table.Td>
                <SyncBadge state={user} paused={paused} />
              </Table.Td>
              <Table.Td visibleFrom="sm">
                <Text size="sm" title={formatDateTime(user.updatedAt)}>
                  {formatRelative(user.updatedAt)}
                </Text>
              </Table.Td>
              <Table.Td visibleFrom="lg">
                <Text size="sm" title={formatDateTime(user.createdAt)}>
                  {formatRelative(user.createdAt)}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
