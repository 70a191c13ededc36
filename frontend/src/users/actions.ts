import { useCallback } from 'react';
import { useClient } from 'urql';

import { toApiError, type ApiError } from '../api/errors';
import {
  DeleteUserDocument,
  RetryClerkSyncDocument,
  type UserFieldsFragment,
} from '../graphql/generated';

export type RetryOutcome =
  | { ok: true; user: UserFieldsFragment }
  | { ok: false; error: ApiError };

export type DeleteOutcome = { ok: true } | { ok: false; error: ApiError };

/** Clerk-sync actions on one user; callers decide how to report the outcome. */
export function useUserActions() {
  const client = useClient();

  const retry = useCallback(
    async (id: string): Promise<RetryOutcome> => {
      const result = await client.mutation(RetryClerkSyncDocument, { id }).toPromise();
      if (result.error) return { ok: false, error: toApiError(result.error) };
      if (!result.data) return { ok: false, error: { code: 'UNKNOWN', message: 'The server sent no answer.' } };
      return { ok: true, user: result.data.retryClerkSync };
    },
    [client],
  );

  const remove = useCallback(
    async (id: string, expectedVersion: number): Promise<DeleteOutcome> => {
      const result = await client.mutation(DeleteUserDocument, { id, expectedVersion }).toPromise();
      if (result.error) return { ok: false, error: toApiError(result.error) };
      return { ok: true };
    },
    [client],
  );

  return { retry, remove };
}

/** One line about a retry, for a toast. */
export function retryMessage(user: UserFieldsFragment): { tone: 'success' | 'warning'; text: string } {
  switch (user.syncStatus) {
    case 'SYNCED':
      return { tone: 'success', text: 'Clerk has the latest changes.' };
    case 'PENDING':
      return { tone: 'warning', text: user.syncError ? `Still pending: ${user.syncError}` : 'Still pending.' };
    case 'FAILED':
      return { tone: 'warning', text: `Clerk refused it again: ${user.syncError ?? 'no reason given'}` };
  }
}
