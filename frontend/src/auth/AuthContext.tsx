import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

import { clearToken, readToken, storeToken, takeTokenFromHash } from './token';

interface Auth {
  token: string | null;
  /** Why the last session ended, shown on the sign-in page. */
  notice: string | null;
  signIn: (token: string) => void;
  signOut: (notice?: string) => void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(readToken);
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = useCallback((next: string) => {
    storeToken(next);
    setNotice(null);
    setToken(next);
  }, []);

  const signOut = useCallback((why?: string) => {
    clearToken();
    setNotice(why ?? null);
    setToken(null);
  }, []);

  // A server link pasted into a tab already showing the panel changes only the fragment.
  useEffect(() => {
    const onHash = () => {
      const fromLink = takeTokenFromHash(window.location, window.history);
      if (fromLink) signIn(fromLink);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [signIn]);

  const value = useMemo(() => ({ token, notice, signIn, signOut }), [token, notice, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}
