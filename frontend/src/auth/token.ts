// The admin token lives in this tab's sessionStorage, under the same key the
// server's GraphiQL page uses, so signing in to one signs in to the other.
export const TOKEN_KEY = 'tandem.adminToken';

export function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the token lasts until the page reloads.
  }
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing stored.
  }
}

/**
 * Moves a `#token=…` from the address bar (the link the server prints) into
 * storage and strips it, so it never lands in history or a bookmark.
 */
export function takeTokenFromHash(location: Location, history: History): string | null {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match?.[1]) return null;
  let token: string;
  try {
    token = decodeURIComponent(match[1]);
  } catch {
    token = match[1];
  }
  storeToken(token);
  history.replaceState(history.state, '', location.pathname + location.search);
  return token;
}
