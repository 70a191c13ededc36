import { CombinedError } from '@urql/core';
import { describe, expect, it } from 'vitest';

import { describeError, fieldMessage, toApiError } from './errors';

const graphQLError = (message: string, extensions: Record<string, unknown>) =>
  new CombinedError({ graphQLErrors: [{ message, extensions }] });

describe('toApiError', () => {
  it('reads a VALIDATION error with the field it names', () => {
    const error = toApiError(graphQLError('email is required', { code: 'VALIDATION', field: 'email' }));

    expect(error).toEqual({ code: 'VALIDATION', message: 'email is required', field: 'email' });
  });

  it('reads a CONFLICT error with the version now stored', () => {
    const error = toApiError(graphQLError('user was changed by someone else', { code: 'CONFLICT', currentVersion: 4 }));

    expect(error.code).toBe('CONFLICT');
    expect(error.currentVersion).toBe(4);
  });

  it('treats an HTTP 401 as UNAUTHENTICATED whatever the body says', () => {
    const response = new Response('{}', { status: 401 });

    const error = toApiError(new CombinedError({ networkError: new Error('Unauthorized'), response }));

    expect(error.code).toBe('UNAUTHENTICATED');
  });

  it('reads the UNAUTHENTICATED code from the body too', () => {
    expect(toApiError(graphQLError('missing or wrong admin token', { code: 'UNAUTHENTICATED' })).code).toBe('UNAUTHENTICATED');
  });

  it('calls a failed fetch a NETWORK error', () => {
    expect(toApiError(new CombinedError({ networkError: new TypeError('Failed to fetch') })).code).toBe('NETWORK');
  });

  it('names an HTTP status that came without GraphQL errors', () => {
    const response = new Response('', { status: 405 });

    const error = toApiError(new CombinedError({ networkError: new Error('Method Not Allowed'), response }));

    expect(error).toEqual({ code: 'UNKNOWN', message: 'The server answered HTTP 405.' });
  });

  it('keeps an unknown code as UNKNOWN with the server message', () => {
    const error = toApiError(graphQLError('Query is nested too deep.', {}));

    expect(error).toEqual({ code: 'UNKNOWN', message: 'Query is nested too deep.' });
    expect(describeError(error)).toBe('Query is nested too deep.');
  });
});

describe('fieldMessage', () => {
  it('drops the field name the server puts first, as the field label says it already', () => {
    expect(fieldMessage({ code: 'VALIDATION', field: 'username', message: 'username must be 4 to 64 characters long' })).toBe(
      'Must be 4 to 64 characters long',
    );
  });

  it('leaves messages that do not start with the field alone', () => {
    expect(fieldMessage({ code: 'VALIDATION', field: 'socialLinks', message: "'x' is not a URL" })).toBe("'x' is not a URL");
  });
});

describe('describeError', () => {
  it('gives a person a sentence, never a code', () => {
    for (const code of ['NOT_FOUND', 'CONFLICT', 'UNAUTHENTICATED', 'INTERNAL', 'NETWORK'] as const) {
      expect(describeError({ code, message: 'x' }), code).toMatch(/^[A-Z].+\.$/);
    }
  });
});
