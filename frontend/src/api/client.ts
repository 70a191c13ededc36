import { Client, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';

import { userCache } from './cache';
import { isUnauthenticated } from './errors';

export interface ApiEvents {
  /** The server refused the token (HTTP 401, `UNAUTHENTICATED`, or the socket's init). */
  onUnauthenticated: () => void;
  /** The live socket is up; `wasRetry` after a drop, when pushes may have been missed. */
  onLive: (wasRetry: boolean) => void;
  onLiveLost: () => void;
}

export interface Api {
  client: Client;
  dispose: () => void;
}

// The server answers a rejected `connection_init` by closing with this reason.
const isAuthClose = (event: unknown) =>
  typeof event === 'object' &&
  event !== null &&
  'reason' in event &&
  String(event.reason).startsWith('UNAUTHENTICATED');

function socketUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/graphql/ws`;
}

export function createApi(token: string, events: ApiEvents): Api {
  const authorization = `Bearer ${token}`;
  const socket = createWsClient({
    url: socketUrl(),
    // Browsers cannot set headers on a WebSocket: the token goes in the init payload.
    connectionParams: { Authorization: authorization },
    // Open from the start, so the header's Live dot tells the truth on every page.
    lazy: false,
    // A restarting server should not end live updates for good.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => !isAuthClose(event),
    on: {
      connected: (_socket, _payload, wasRetry) => events.onLive(wasRetry),
      closed: (event) => {
        events.onLiveLost();
        if (isAuthClose(event)) events.onUnauthenticated();
      },
    },
  });

  const client = new Client({
    url: '/graphql',
    // The server takes POST only: a GET could run a mutation from a link.
    preferGetMethod: false,
    fetchOptions: { headers: { Authorization: authorization } },
    exchanges: [
      mapExchange({
        onError: (error) => {
          if (isUnauthenticated(error)) events.onUnauthenticated();
        },
      }),
      userCache,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });

  return { client, dispose: () => void socket.dispose() };
}
