import type { UserFieldsFragment } from '../graphql/generated';

export function aUser(overrides: Partial<UserFieldsFragment> = {}): UserFieldsFragment {
  return {
    id: 'u1',
    clerkId: 'user_abc',
    email: 'ada@example.com',
    username: 'ada_l',
    firstName: 'Ada',
    lastName: 'Lovelace',
    displayName: null,
    bio: null,
    roles: ['admin'],
    socialLinks: [],
    syncStatus: 'SYNCED',
    syncError: null,
    syncAttempts: 0,
    nextRetryAt: null,
    lastSyncedAt: '2026-12-04T10:00:00Z',
    version: 1,
    createdAt: '2026-12-04T09:00:00Z',
    updatedAt: '2026-12-04T10:00:00Z',
    deletedAt: null,
    ...overrides,
  };
}
