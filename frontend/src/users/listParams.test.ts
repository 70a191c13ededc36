import { describe, expect, it } from 'vitest';

import { aUser } from '../test/fixtures';
import { readParams, stillMatches, toVariables, writeParams } from './listParams';

describe('list params', () => {
  it('survive a trip through the URL', () => {
    const params = {
      search: 'ada',
      status: 'FAILED' as const,
      role: 'admin',
      includeDeleted: true,
      sort: 'EMAIL' as const,
      direction: 'ASC' as const,
      cursors: ['c1', 'c2'],
    };

    expect(readParams(writeParams(params))).toEqual(params);
  });

  it('leave the defaults out of the URL', () => {
    expect(writeParams(readParams(new URLSearchParams())).toString()).toBe('');
  });

  it('ask for the page after the last cursor', () => {
    const variables = toVariables(readParams(new URLSearchParams('after=c1&after=c2')));

    expect(variables.after).toBe('c2');
    expect(variables.orderBy).toEqual({ field: 'CREATED_AT', direction: 'DESC' });
  });

  it('ignore values the API would refuse', () => {
    const params = readParams(new URLSearchParams('status=bogus&sort=nope'));

    expect(params.status).toBeNull();
    expect(params.sort).toBe('CREATED_AT');
  });
});

describe('stillMatches', () => {
  const base = readParams(new URLSearchParams());

  it('drops a row whose status left the filter', () => {
    expect(stillMatches(aUser({ syncStatus: 'SYNCED' }), { ...base, status: 'FAILED' })).toBe(false);
  });

  it('drops a deleted row unless deleted users are shown', () => {
    const deleted = aUser({ deletedAt: '2026-12-04T11:00:00Z' });

    expect(stillMatches(deleted, base)).toBe(false);
    expect(stillMatches(deleted, { ...base, includeDeleted: true })).toBe(true);
  });

  it('matches a search on email, username and names, ignoring case', () => {
    expect(stillMatches(aUser(), { ...base, search: 'LOVE' })).toBe(true);
    expect(stillMatches(aUser(), { ...base, search: 'grace' })).toBe(false);
  });
});
