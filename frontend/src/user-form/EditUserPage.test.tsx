import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { aUser } from '../test/fixtures';
import { fakeApi, opName, renderPage } from '../test/render';
import { EditUserPage } from './EditUserPage';

const mine = aUser({ version: 3, firstName: 'Ada', bio: null });
const theirs = aUser({ version: 4, firstName: 'Augusta', bio: null });

/** The server: version 3 until the first save, which someone else's version 4 beat. */
function conflictingServer() {
  let saved = false;
  return fakeApi((op) => {
    if (opName(op) === 'UserProfile') return { data: { user: saved ? theirs : mine } };
    if (opName(op) === 'UpdateUser') {
      saved = true;
      return {
        errors: [
          {
            message: 'user was changed by someone else (version 4, expected 3)',
            extensions: { code: 'CONFLICT', currentVersion: 4 },
          },
        ],
      };
    }
    return null;
  });
}

const renderEdit = (api: ReturnType<typeof fakeApi>) =>
  renderPage(<EditUserPage />, { client: api.client, path: '/users/:id/edit', at: '/users/u1/edit' });

describe('EditUserPage', () => {
  it('sends only what changed, with the version it loaded', async () => {
    const api = fakeApi((op) =>
      opName(op) === 'UserProfile' ? { data: { user: mine } } : { data: { updateUser: { ...mine, bio: 'Hi', version: 4 } } },
    );
    renderEdit(api);
    const user = userEvent.setup();

    await user.type(await screen.findByLabelText('Bio'), 'Hi');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));

    const update = api.operations.find((op) => opName(op) === 'UpdateUser');
    expect(update?.variables).toEqual({ id: 'u1', input: { bio: 'Hi' }, expectedVersion: 3 });
  });

  it('offers nothing to save before an edit', async () => {
    renderEdit(fakeApi(() => ({ data: { user: mine } })));

    expect(await screen.findByRole('button', { name: 'Save changes' })).toBeDisabled();
    expect(screen.getByText('No changes to save')).toBeInTheDocument();
  });

  it("on CONFLICT shows the other version's values next to mine", async () => {
    renderEdit(conflictingServer());
    const user = userEvent.setup();

    const firstName = await screen.findByLabelText('First name');
    await user.clear(firstName);
    await user.type(firstName, 'Ada B.');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));

    const notice = await screen.findByTestId('conflict');
    expect(notice).toHaveTextContent('Not saved: someone else saved this user first');
    const row = within(notice).getByRole('row', { name: /First name/ });
    expect(row).toHaveTextContent('Augusta');
    expect(row).toHaveTextContent('Ada B.');
  });

  it('reloads their version on request, dropping my edits', async () => {
    renderEdit(conflictingServer());
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Bio'), 'Mine');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByRole('row', { name: /First name/ });

    await user.click(screen.getByRole('button', { name: 'Reload their version' }));

    expect(screen.queryByTestId('conflict')).not.toBeInTheDocument();
    expect(screen.getByLabelText('First name')).toHaveValue('Augusta');
    expect(screen.getByLabelText('Bio')).toHaveValue('');
    expect(screen.getByText(/version 4/)).toBeInTheDocument();
  });

  it('keeps my edits on top of their version, to save again against it', async () => {
    const api = conflictingServer();
    renderEdit(api);
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Bio'), 'Mine');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByRole('row', { name: /First name/ });

    await user.click(screen.getByRole('button', { name: 'Keep my edits on top of theirs' }));
    await user.click(screen.getByRole('button', { name: 'Save changes' }));

    expect(screen.getByLabelText('First name')).toHaveValue('Augusta');
    expect(screen.getByLabelText('Bio')).toHaveValue('Mine');
    const saves = api.operations.filter((op) => opName(op) === 'UpdateUser');
    expect(saves.at(-1)?.variables).toEqual({ id: 'u1', input: { bio: 'Mine' }, expectedVersion: 4 });
  });
});
