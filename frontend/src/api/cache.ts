import { cacheExchange, type Cache } from '@urql/exchange-graphcache';

import { SyncOverviewDocument, type SyncOverviewFieldsFragment } from '../graphql/generated';

// Users are normalised by id, so a row pushed by `userChanged` or returned by
// a mutation updates every list and page showing it, in place.
const writeOverview = (cache: Cache, overview: SyncOverviewFieldsFragment) =>
  cache.updateQuery({ query: SyncOverviewDocument }, () => ({ syncOverview: overview }));

/** Which users a list holds changes with a create or delete: ask again. */
const invalidateLists = (cache: Cache) => {
  for (const field of cache.inspectFields('Query')) {
    if (field.fieldName === 'users' || field.fieldName === 'syncOverview') {
      cache.invalidate('Query', field.fieldKey);
    }
  }
};

export const userCache = cacheExchange({
  keys: {
    // Values without an identity of their own: stored inside their parent.
    SyncOverview: () => null,
    UserConnection: () => null,
    UserEdge: () => null,
    PageInfo: () => null,
    SocialLink: () => null,
    HistoryEntry: () => null,
    FieldChange: () => null,
  },
  updates: {
    Mutation: {
      createUser: (_result, _args, cache) => invalidateLists(cache),
      deleteUser: (_result, _args, cache) => invalidateLists(cache),
      pauseClerkSync: (result, _args, cache) =>
        writeOverview(cache, result['pauseClerkSync'] as SyncOverviewFieldsFragment),
      resumeClerkSync: (result, _args, cache) =>
        writeOverview(cache, result['resumeClerkSync'] as SyncOverviewFieldsFragment),
    },
  },
});
