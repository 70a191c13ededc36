import { Badge } from '@mantine/core';

import type { Origin } from '../graphql/generated';

const LOOK: Record<Origin, { color: string; c: string; label: string }> = {
  ADMIN: { color: 'blue', c: 'blue.9', label: 'Admin' },
  CLERK: { color: 'grape', c: 'grape.9', label: 'Clerk' },
  SYSTEM: { color: 'gray', c: 'gray.8', label: 'System' },
};

export function OriginBadge({ origin }: { origin: Origin }) {
  const look = LOOK[origin];
  return (
    <Badge color={look.color} c={look.c} variant="light" radius="sm" size="sm" tt="none">
      {look.label}
    </Badge>
  );
}
