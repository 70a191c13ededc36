import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { aUser } from '../test/fixtures';
import { fakeApi, opName, renderPage } from '../test/render';
import { CreateUserPage } from './CreateUserPage';

describe('CreateUserPage', () => {
  it('groups the fields by where they go', () => {
    renderPage(<CreateUserPage />, { client: fakeApi(() => null).client });

    expect(screen.getByRole('group', { name: /Syncs to Clerk/ })).toContainElement(screen.getByLabelText(/Email/));
    expect(screen.getByRole('group', { name: /Stays in Tandem/ })).toContainElement(screen.getByLabelText('Bio'));
  });

  it("shows the server's VALIDATION error at the field it names, and focuses it", async () => {
    const { client, operations } = fakeApi(() => ({
      errors: [
        {
          message: 'username is already used by another user',
          extensions: { code: 'VALIDATION', field: 'username' },
        },
      ],
    }));
    renderPage(<CreateUserPage />, { client });
    const user = userEvent.setup();

    await user.type(screen.getByLabelText(/Email/), 'ada@example.com');
    await user.type(screen.getByLabelText(/Username/), 'taken');
    await user.click(screen.getByRole('button', { name: 'Create user' }));

    const username = screen.getByLabelText(/Username/);
    expect(await screen.findByText('Is already used by another user')).toBeInTheDocument();
    expect(username).toHaveAttribute('aria-invalid', 'true');
    expect(username).toHaveFocus();
    expect(operations.map(opName)).toEqual(['CreateUser']);
    expect(operations[0]!.variables).toEqual({ input: { email: 'ada@example.com', username: 'taken' } });
  });

  it('shows an error that belongs to no field above the form', async () => {
    const { client } = fakeApi(() => ({ errors: [{ message: 'internal error', extensions: { code: 'INTERNAL' } }] }));
    renderPage(<CreateUserPage />, { client });
    const user = userEvent.setup();

    await user.type(screen.getByLabelText(/Email/), 'ada@example.com');
    await user.click(screen.getByRole('button', { name: 'Create user' }));

    expect(await screen.findByRole('alert')).toHaveTextContent(/internal error/i);
  });

  it('asks for an email before calling the server', async () => {
    const { client, operations } = fakeApi(() => null);
    renderPage(<CreateUserPage />, { client });

    await userEvent.setup().click(screen.getByRole('button', { name: 'Create user' }));

    expect(screen.getByText('Email is required')).toBeInTheDocument();
    expect(operations).toHaveLength(0);
  });

  it('opens the new user once created', async () => {
    const { client } = fakeApi(() => ({ data: { createUser: aUser({ id: 'new-id' }) } }));
    renderPage(<CreateUserPage />, { client, path: '/users/new', at: '/users/new' });
    const user = userEvent.setup();

    await user.type(screen.getByLabelText(/Email/), 'ada@example.com');
    await user.click(screen.getByRole('button', { name: 'Create user' }));

    expect(await screen.findByText('Navigated away')).toBeInTheDocument();
  });
});
