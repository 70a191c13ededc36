import type { CombinedError } from '@urql/core';

/** The server's `extensions.code`, plus what can go wrong before it answers. */
export type ErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'INTERNAL'
  | 'NETWORK'
  | 'UNKNOWN';

export interface ApiError {
  code: ErrorCode;
  message: string;
  /** VALIDATION: the input field at fault, by its API name (`email`, `socialLinks`). */
  field?: string;
  /** CONFLICT: the version someone else saved. */
  currentVersion?: number;
}

const KNOWN_CODES = new Set<string>(['VALIDATION', 'NOT_FOUND', 'CONFLICT', 'UNAUTHENTICATED', 'INTERNAL']);

export function toApiError(error: CombinedError): ApiError {
  if (error.response instanceof Response && error.response.status === 401) {
    return { code: 'UNAUTHENTICATED', message: 'The server did not accept the admin token.' };
  }
  const first = error.graphQLErrors[0];
  if (first) {
    const ext = first.extensions;
    const code = typeof ext['code'] === 'string' && KNOWN_CODES.has(ext['code']) ? (ext['code'] as ErrorCode) : 'UNKNOWN';
    const parsed: ApiError = { code, message: first.message };
    if (typeof ext['field'] === 'string') parsed.field = ext['field'];
    if (typeof ext['currentVersion'] === 'number') parsed.currentVersion = ext['currentVersion'];
    return parsed;
  }
  if (error.response instanceof Response && !error.response.ok) {
    return { code: 'UNKNOWN', message: `The server answered HTTP ${error.response.status}.` };
  }
  if (error.networkError) {
    return { code: 'NETWORK', message: error.networkError.message };
  }
  return { code: 'UNKNOWN', message: error.message };
}

export function isUnauthenticated(error: CombinedError): boolean {
  return toApiError(error).code === 'UNAUTHENTICATED';
}

/** One sentence for a toast or an error panel. */
export function describeError(error: ApiError): string {
  switch (error.code) {
    case 'VALIDATION':
      return capitalize(error.message);
    case 'NOT_FOUND':
      return 'That user does not exist (any more).';
    case 'CONFLICT':
      return 'Someone else changed this user since you loaded it.';
    case 'UNAUTHENTICATED':
      return 'The server did not accept the admin token.';
    case 'INTERNAL':
      return 'The server hit an internal error. Try again; if it persists, the server log has the details.';
    case 'NETWORK':
      return 'Cannot reach the Tandem server. Check that it is running, then try again.';
    case 'UNKNOWN':
      return error.message;
  }
}

/**
 * The server words validation messages for logs ("email is required"); under
 * the field itself the field's name is noise, so it goes.
 */
export function fieldMessage(error: ApiError): string {
  const prefix = `${error.field ?? ''} `;
  const message = error.field && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return capitalize(message);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
