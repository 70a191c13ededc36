import { MantineProvider } from '@mantine/core';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { aUser } from '../test/fixtures';
import { SyncBadge } from './SyncBadge';

const renderBadge = (overrides: Parameters<typeof aUser>[0], paused = false) =>
  render(
    <MantineProvider>
      <SyncBadge state={aUser(overrides)} paused={paused} />
    </MantineProvider>,
  );

describe('SyncBadge', () => {
  it('says Synced, with nothing more to read and nothing to focus', () => {
    renderBadge({ syncStatus: 'SYNCED' });

    const badge = screen.getByText('Synced').closest('[data-sync-status]');
    expect(badge).toHaveAttribute('data-sync-status', 'SYNCED');
    expect(badge).not.toHaveAttribute('tabindex');
  });

  it("shows Clerk's reason for a failure in a tooltip when focused from the keyboard", async () => {
    renderBadge({ syncStatus: 'FAILED', syncError: 'That username is taken', syncAttempts: 1 });
    const user = userEvent.setup();

    await user.tab();

    expect(screen.getByLabelText('Failed: That username is taken')).toHaveFocus();
    expect(await screen.findByRole('tooltip')).toHaveTextContent('That username is taken');
  });

  it("shows Clerk's reason on hover too", async () => {
    renderBadge({ syncStatus: 'FAILED', syncError: 'That username is taken' });
    const user = userEvent.setup();

    await user.hover(screen.getByText('Failed'));

    expect(await screen.findByRole('tooltip')).toHaveTextContent('That username is taken');
  });

  it('shows when a pending change is retried next, and why', async () => {
    const at = new Date();
    at.setHours(14, 30, 5, 0);
    renderBadge({ syncStatus: 'PENDING', syncError: 'Clerk answered 503', syncAttempts: 2, nextRetryAt: at.toISOString() });

    const badge = screen.getByText(/Pending · retry/);

    expect(badge).toHaveTextContent(/14:30:05|2:30:05/);
    expect(badge.closest('[aria-label]')).toHaveAttribute('aria-label', expect.stringContaining('Attempt 2 failed: Clerk answered 503'));
  });

  it('does not promise a retry while sync is paused', () => {
    renderBadge({ syncStatus: 'PENDING', nextRetryAt: new Date().toISOString() }, true);

    expect(screen.getByText('Pending')).toBeInTheDocument();
    expect(screen.getByLabelText(/Clerk sync is paused/)).toBeInTheDocument();
  });
});
