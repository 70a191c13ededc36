import type {
  OrderDirection,
  OrderField,
  SyncStatus,
  UserFieldsFragment,
  UsersQueryVariables,
} from '../graphql/generated';

export const PAGE_SIZE = 25;

/** The list's state, all of it in the URL so reload, back and links keep it. */
export interface ListParams {
  search: string;
  status: SyncStatus | null;
  role: string;
  includeDeleted: boolean;
  sort: OrderField;
  direction: OrderDirection;
  /** `after` cursors of the pages before this one: Previous pops, Next pushes. */
  cursors: string[];
}

const STATUSES: readonly SyncStatus[] = ['SYNCED', 'PENDING', 'FAILED'];
const FIELDS: readonly OrderField[] = ['CREATED_AT', 'UPDATED_AT', 'EMAIL', 'USERNAME'];

const DEFAULT_SORT: Pick<ListParams, 'sort' | 'direction'> = { sort: 'CREATED_AT', direction: 'DESC' };

/** Dates read best newest first, names A to Z. */
export const firstDirection = (field: OrderField): OrderDirection =>
  field === 'EMAIL' || field === 'USERNAME' ? 'ASC' : 'DESC';

const pick = <T extends string>(allowed: readonly T[], raw: string | null): T | null =>
  allowed.find((v) => v === raw?.toUpperCase()) ?? null;

export function readParams(query: URLSearchParams): ListParams {
  return {
    search: query.get('q') ?? '',
    status: pick(STATUSES, query.get('status')),
    role: query.get('role') ?? '',
    includeDeleted: query.get('deleted') === '1',
    sort: pick(FIELDS, query.get('sort')) ?? DEFAULT_SORT.sort,
    direction: pick(['ASC', 'DESC'] as const, query.get('dir')) ?? DEFAULT_SORT.direction,
    cursors: query.getAll('after'),
  };
}

export function writeParams(params: ListParams): URLSearchParams {
  const query = new URLSearchParams();
  if (params.search) query.set('q', params.search);
  if (params.status) query.set('status', params.status.toLowerCase());
  if (params.role) query.set('role', params.role);
  if (params.includeDeleted) query.set('deleted', '1');
  if (params.sort !== DEFAULT_SORT.sort || params.direction !== DEFAULT_SORT.direction) {
    query.set('sort', params.sort.toLowerCase());
    query.set('dir', params.direction.toLowerCase());
  }
  for (const cursor of params.cursors) query.append('after', cursor);
  return query;
}

export function toVariables(params: ListParams): UsersQueryVariables {
  return {
    search: params.search.trim() || null,
    syncStatus: params.status,
    role: params.role.trim() || null,
    includeDeleted: params.includeDeleted,
    orderBy: { field: params.sort, direction: params.direction },
    first: PAGE_SIZE,
    after: params.cursors.at(-1) ?? null,
  };
}

export const hasFilters = (p: ListParams) => Boolean(p.search.trim() || p.status || p.role.trim() || p.includeDeleted);

/**
 * Whether a pushed row still belongs in a list with these filters, as far as
 * the client can tell; when unsure it says no and the list asks the server.
 */
export function stillMatches(user: UserFieldsFragment, params: ListParams): boolean {
  if (user.deletedAt && !params.includeDeleted) return false;
  if (params.status && user.syncStatus !== params.status) return false;
  if (params.role.trim() && !user.roles.includes(params.role.trim())) return false;
  const needle = params.search.trim().toLowerCase();
  if (!needle) return true;
  return [user.email, user.username, user.firstName, user.lastName, user.displayName].some((v) =>
    v?.toLowerCase().includes(needle),
  );
}
