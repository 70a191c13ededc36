import { afterEach, describe, expect, it } from 'vitest';

import { readToken, takeTokenFromHash, TOKEN_KEY } from './token';

describe('takeTokenFromHash', () => {
  afterEach(() => sessionStorage.clear());

  it("stores the server link's token and strips it from the address", () => {
    window.history.replaceState(null, '', '/users?q=ada#token=abc%2Bdef');

    expect(takeTokenFromHash(window.location, window.history)).toBe('abc+def');
    expect(sessionStorage.getItem(TOKEN_KEY)).toBe('abc+def');
    expect(window.location.href).toBe('http://localhost:3000/users?q=ada');
  });

  it('leaves other fragments and the stored token alone', () => {
    sessionStorage.setItem(TOKEN_KEY, 'kept');
    window.history.replaceState(null, '', '/#section');

    expect(takeTokenFromHash(window.location, window.history)).toBeNull();
    expect(readToken()).toBe('kept');
    expect(window.location.hash).toBe('#section');
  });
});
