import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { Provider } from 'urql';

import { useAuth } from '../auth/AuthContext';
import { UserChangedDocument } from '../graphql/generated';
import { createApi, type Api } from './client';
import { UserChangesContext, type ChangedUser } from './useUserChanged';

const SESSION_ENDED = 'The server did not accept your admin token. Sign in again.';

export interface Live {
  /** The subscription socket is open. */
  connected: boolean;
  /** Bumped on every reconnect: views refetch what they may have missed. */
  epoch: number;
}

const LiveContext = createContext<Live>({ connected: false, epoch: 0 });

export function ApiProvider({ token, children }: { token: string; children: ReactNode }) {
  const { signOut } = useAuth();
  const [api, setApi] = useState<Api | null>(null);
  const [live, setLive] = useState<Live>({ connected: false, epoch: 0 });

  const listeners = useRef(new Set<(user: ChangedUser) => void>());
  const listen = useCallback((listener: (user: ChangedUser) => void) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  }, []);

  // Made in an effect so that the socket is closed exactly when it is replaced.
  useEffect(() => {
    const next = createApi(token, {
      onUnauthenticated: () => signOut(SESSION_ENDED),
      onLive: (wasRetry) => setLive((l) => ({ connected: true, epoch: wasRetry ? l.epoch + 1 : l.epoch })),
      onLiveLost: () => setLive((l) => ({ ...l, connected: false })),
    });
    setApi(next);
    // One stream for the whole session, not one per page: a change pushed while
    // the panel moves between pages still reaches the cache.
    const changes = next.client.subscription(UserChangedDocument, {}).subscribe((result) => {
      if (result.data) for (const listener of listeners.current) listener(result.data.userChanged);
    });
    return () => {
      changes.unsubscribe();
      next.dispose();
    };
  }, [token, signOut]);

  if (!api) return null;
  return (
    <Provider value={api.client}>
      <LiveContext.Provider value={live}>
        <UserChangesContext.Provider value={listen}>{children}</UserChangesContext.Provider>
      </LiveContext.Provider>
    </Provider>
  );
}

export const useLive = () => useContext(LiveContext);
