import { describe, expect, it } from 'vitest';

import { aUser } from '../test/fixtures';
import { rebase, toCreateInput, toUpdateInput, valuesOf } from './formValues';

describe('toUpdateInput', () => {
  it('sends only the fields that changed', () => {
    const loaded = valuesOf(aUser());

    expect(toUpdateInput(loaded, { ...loaded, bio: 'Poet of science' })).toEqual({ bio: 'Poet of science' });
  });

  it('clears an emptied field with null, as the API asks', () => {
    const loaded = valuesOf(aUser({ username: 'ada_l' }));

    expect(toUpdateInput(loaded, { ...loaded, username: '  ' })).toEqual({ username: null });
  });

  it('sends an emptied email as text, so the server names the field', () => {
    const loaded = valuesOf(aUser());

    expect(toUpdateInput(loaded, { ...loaded, email: '' })).toEqual({ email: '' });
  });

  it('ignores blank social link rows and whitespace', () => {
    const loaded = valuesOf(aUser());

    const input = toUpdateInput(loaded, {
      ...loaded,
      firstName: ' Ada ',
      socialLinks: [{ platform: '', url: '' }],
    });

    expect(input).toEqual({});
  });
});

describe('toCreateInput', () => {
  it('omits empty fields', () => {
    const values = { ...valuesOf(), email: ' grace@example.com ', roles: ['ops'] };

    expect(toCreateInput(values)).toEqual({ email: 'grace@example.com', roles: ['ops'] });
  });
});

describe('rebase', () => {
  it("keeps my edited fields and takes theirs for the rest", () => {
    const loaded = valuesOf(aUser({ firstName: 'Ada', bio: null }));
    const mine = { ...loaded, bio: 'Mine' };
    const theirs = { ...loaded, firstName: 'Augusta' };

    expect(rebase(loaded, mine, theirs)).toEqual({ ...loaded, firstName: 'Augusta', bio: 'Mine' });
  });
});
