import type { UserFieldsFragment } from '../graphql/generated';

type Named = Pick<UserFieldsFragment, 'displayName' | 'firstName' | 'lastName' | 'username' | 'email'>;

/** What the panel calls a user: the most human name it has. */
export function nameOf(user: Named): string {
  const full = [user.firstName, user.lastName].filter(Boolean).join(' ');
  return user.displayName || full || user.username || user.email;
}
