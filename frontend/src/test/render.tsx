import { MantineProvider } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { render } from '@testing-library/react';
import { Client, makeResult, type Exchange, type Operation, type OperationResult } from '@urql/core';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { Provider } from 'urql';
import { filter, fromPromise, mergeMap, never, pipe } from 'wonka';

import { theme } from '../theme';

/** What the fake server answers: `data`, or GraphQL `errors` like the real one's. */
type Reply = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } | null;

/**
 * A real urql client whose "network" is `reply`: each operation gets its
 * answer, and `operations` records what the UI sent. Subscriptions stay silent.
 */
export function fakeApi(reply: (op: Operation) => Reply | Promise<Reply>) {
  const operations: Operation[] = [];
  const exchange: Exchange = () => (ops$) =>
    pipe(
      ops$,
      filter((op) => op.kind !== 'teardown'),
      mergeMap((op) => {
        if (op.kind === 'subscription') return never;
        operations.push(op);
        return fromPromise(
          Promise.resolve(reply(op)).then(
            (r): OperationResult => makeResult(op, { data: r?.data ?? null, errors: r?.errors }),
          ),
        );
      }),
    );
  const client = new Client({ url: 'http://tandem.test/graphql', exchanges: [exchange] });
  return { client, operations };
}

export const opName = (op: Operation) =>
  op.query.definitions.find((d) => d.kind === 'OperationDefinition')?.name?.value;

export function renderPage(ui: ReactElement, { client, path = '/', at = '/' }: { client: Client; path?: string; at?: string }) {
  return render(
    <MantineProvider theme={theme}>
      <Notifications />
      <Provider value={client}>
        <MemoryRouter initialEntries={[at]}>
          <Routes>
            <Route path={path} element={ui} />
            <Route path="*" element={<p>Navigated away</p>} />
          </Routes>
        </MemoryRouter>
      </Provider>
    </MantineProvider>,
  );
}
