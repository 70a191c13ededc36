import { Autocomplete, Button, Group, Select, Switch, TextInput } from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { useEffect, useState } from 'react';

import type { SyncStatus } from '../graphql/generated';
import { IconSearch } from '../ui/Icons';
import type { ListParams } from './listParams';

const TYPING_PAUSE_MS = 300;

const STATUS_OPTIONS = [
  { value: 'SYNCED', label: 'Synced' },
  { value: 'PENDING', label: 'Pending' },
  { value: 'FAILED', label: 'Failed' },
];

interface Props {
  params: ListParams;
  /** Roles seen on screen, offered as suggestions (the API has no list of roles). */
  knownRoles: string[];
  onChange: (patch: Partial<ListParams>) => void;
  onClear: () => void;
}

/** Text typed here reaches the URL (and the server) once typing pauses. */
function useDebouncedText(value: string, commit: (text: string) => void) {
  const [text, setText] = useState(value);
  const debounced = useDebouncedCallback(commit, TYPING_PAUSE_MS);
  // Back/forward or "Clear filters" change the URL: show what it says.
  useEffect(() => setText(value), [value]);
  return [
    text,
    (next: string) => {
      setText(next);
      debounced(next);
    },
  ] as const;
}

export function UsersFilters({ params, knownRoles, onChange, onClear }: Props) {
  const [search, setSearch] = useDebouncedText(params.search, (search) => onChange({ search }));
  const [role, setRole] = useDebouncedText(params.role, (role) => onChange({ role }));
  const filtered = Boolean(params.search || params.status || params.role || params.includeDeleted);

  return (
    <Group role="search" aria-label="Filter users" gap="sm" align="flex-end" wrap="wrap">
      <TextInput
        label="Search"
        placeholder="Email, username or name"
        leftSection={<IconSearch size={16} />}
        value={search}
        onChange={(e) => setSearch(e.currentTarget.value)}
        type="search"
        style={{ flex: '2 1 240px' }}
      />
      <Select
        label="Sync status"
        placeholder="Any"
        data={STATUS_OPTIONS}
        value={params.status}
        onChange={(value) => onChange({ status: (value as SyncStatus | null) ?? null })}
        clearable
        style={{ flex: '1 1 140px' }}
      />
      <Autocomplete
        label="Role"
        placeholder="Any"
        data={knownRoles}
        value={role}
        onChange={setRole}
        style={{ flex: '1 1 140px' }}
      />
      <Switch
        label="Show deleted"
        checked={params.includeDeleted}
        onChange={(e) => onChange({ includeDeleted: e.currentTarget.checked })}
        mb={8}
      />
      {filtered && (
        <Button variant="subtle" onClick={onClear} mb={2}>
          Clear filters
        </Button>
      )}
    </Group>
  );
}
