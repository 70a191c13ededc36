import { createContext, useContext, useEffect, useLayoutEffect, useRef } from 'react';

import type { UserChangedSubscription } from '../graphql/generated';

export type ChangedUser = UserChangedSubscription['userChanged'];
type Listener = (user: ChangedUser) => void;

/** Adds a listener to the session's one `userChanged` stream; returns its removal. */
type ListenToChanges = (listener: Listener) => () => void;

export const UserChangesContext = createContext<ListenToChanges>(() => () => undefined);

/**
 * Calls `onChange` for every pushed row. The cache has already applied it;
 * this is for what the cache cannot know, like whether a list's membership
 * changed or a history grew.
 */
export function useUserChanged(onChange: Listener) {
  const listen = useContext(UserChangesContext);
  const handler = useRef(onChange);
  useLayoutEffect(() => {
    handler.current = onChange;
  });
  useEffect(() => listen((user) => handler.current(user)), [listen]);
}
