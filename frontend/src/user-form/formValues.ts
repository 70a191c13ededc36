import type { CreateUserInput, UpdateUserInput, UserFieldsFragment } from '../graphql/generated';

export interface SocialLinkValue {
  platform: string;
  url: string;
}

/** The form's own model: text fields are strings, '' meaning "none". */
export interface UserFormValues {
  email: string;
  username: string;
  firstName: string;
  lastName: string;
  displayName: string;
  bio: string;
  roles: string[];
  socialLinks: SocialLinkValue[];
}

export type FieldName = keyof UserFormValues;

/** Pushed to Clerk on save. */
export const CLERK_FIELDS = ['email', 'username', 'firstName', 'lastName'] as const satisfies readonly FieldName[];
/** Never leave Tandem. */
const LOCAL_FIELDS = ['displayName', 'bio', 'roles', 'socialLinks'] as const satisfies readonly FieldName[];
export const FIELDS: readonly FieldName[] = [...CLERK_FIELDS, ...LOCAL_FIELDS];

export const FIELD_LABELS: Record<FieldName, string> = {
  email: 'Email',
  username: 'Username',
  firstName: 'First name',
  lastName: 'Last name',
  displayName: 'Display name',
  bio: 'Bio',
  roles: 'Roles',
  socialLinks: 'Social links',
};

export const isFieldName = (name: string): name is FieldName => (FIELDS as readonly string[]).includes(name);

export function valuesOf(user?: UserFieldsFragment | null): UserFormValues {
  return {
    email: user?.email ?? '',
    username: user?.username ?? '',
    firstName: user?.firstName ?? '',
    lastName: user?.lastName ?? '',
    displayName: user?.displayName ?? '',
    bio: user?.bio ?? '',
    roles: user?.roles ?? [],
    socialLinks: user?.socialLinks.map(({ platform, url }) => ({ platform, url })) ?? [],
  };
}

/** What a field would be sent as: trimmed text, null for empty; no blank link rows. */
function normalized(values: UserFormValues, field: FieldName): string | string[] | SocialLinkValue[] | null {
  switch (field) {
    case 'roles':
      return values.roles.map((r) => r.trim()).filter(Boolean);
    case 'socialLinks':
      return values.socialLinks
        .map((l) => ({ platform: l.platform.trim(), url: l.url.trim() }))
        .filter((l) => l.platform || l.url);
    case 'bio':
      // Line breaks inside a bio are content; only the ends are trimmed.
      return values.bio.trim() || null;
    default:
      return values[field].trim() || null;
  }
}

export const sameField = (field: FieldName, a: UserFormValues, b: UserFormValues) =>
  JSON.stringify(normalized(a, field)) === JSON.stringify(normalized(b, field));

export const changedFields = (from: UserFormValues, to: UserFormValues): FieldName[] =>
  FIELDS.filter((f) => !sameField(f, from, to));

export function toCreateInput(values: UserFormValues): CreateUserInput {
  const input: CreateUserInput = { email: values.email.trim() };
  for (const field of FIELDS) {
    const value = normalized(values, field);
    if (field !== 'email' && value !== null && !(Array.isArray(value) && value.length === 0)) {
      Object.assign(input, { [field]: value });
    }
  }
  return input;
}

/** Only what changed since `base`: omitted fields stay, null clears. */
export function toUpdateInput(base: UserFormValues, values: UserFormValues): UpdateUserInput {
  const input: UpdateUserInput = {};
  for (const field of changedFields(base, values)) {
    // An emptied email is sent as '' so the server names the field ("is required").
    const value = field === 'email' ? values.email.trim() : normalized(values, field);
    Object.assign(input, { [field]: value });
  }
  return input;
}

/**
 * After a conflict: my edits (what differs from what I loaded) on top of
 * their saved version, so saving again changes only what I changed.
 */
export function rebase(loaded: UserFormValues, mine: UserFormValues, theirs: UserFormValues): UserFormValues {
  const merged = { ...theirs };
  for (const field of changedFields(loaded, mine)) {
    Object.assign(merged, { [field]: mine[field] });
  }
  return merged;
}

/** One line per value, for the conflict comparison and the history. */
export function displayValue(values: UserFormValues, field: FieldName): string {
  const value = normalized(values, field);
  if (value === null || (Array.isArray(value) && value.length === 0)) return '';
  if (field === 'socialLinks') return (value as SocialLinkValue[]).map((l) => `${l.platform}: ${l.url}`).join(', ');
  if (Array.isArray(value)) return value.join(', ');
  return value as string;
}
