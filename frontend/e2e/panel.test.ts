import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DESKTOP, launch, PHONE, screenshot } from './support/browser';
import { emulator } from './support/emulator';
import { CLERK_KEY, startTandem, TOKEN, type Tandem } from './support/tandem';

let tandem: Tandem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let clerk: ReturnType<typeof emulator>;

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`;

beforeAll(async () => {
  [tandem, browser] = await Promise.all([startTandem(), launch()]);
  clerk = emulator(tandem.clerk, CLERK_KEY);
  context = await browser.newContext({ viewport: DESKTOP });
  // Everything here answers in well under a second on localhost; fail fast.
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
});

// What the page showed when a test failed, next to the other screenshots.
afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await screenshot(page, `failed-${context.task.name.replaceAll(/\W+/g, '-')}`);
});

afterAll(async () => {
  await browser?.close();
  await tandem?.stop();
});

/** Signed in through the link the server prints: the token rides in the fragment. */
async function openSignedIn(path = '/users') {
  await page.goto(`${tandem.base}${path}#token=${TOKEN}`);
  await page.getByRole('heading', { level: 1 }).waitFor();
}

const badge = (p: Page, status: string) => p.locator(`[data-sync-status="${status}"]`).first();

/** Marks the document, so a check later can tell the page was never reloaded. */
const markDocument = () => page.evaluate(() => Object.assign(window, { __sameDocument: true }));
const sameDocument = () => page.evaluate(() => '__sameDocument' in window);

/** Presses Tab until `focused` matches, as a keyboard user would get there. */
async function tabTo(focused: ReturnType<Page['locator']>) {
  for (let i = 0; i < 30 && (await focused.count()) === 0; i++) await page.keyboard.press('Tab');
  expect(await focused.count()).toBe(1);
}

async function createThroughApi(input: Record<string, unknown>): Promise<string> {
  const data = await tandem.gql<{ createUser: { id: string } }>(CREATE, { input });
  return data.createUser.id;
}

async function waitForStatus(id: string, status: string) {
  await expect
    .poll(async () => (await tandem.gql<{ user: { syncStatus: string } }>(`query($id: ID!) { user(id: $id) { syncStatus } }`, { id })).user.syncStatus, {
      timeout: 10_000,
    })
    .toBe(status);
}

describe('the admin panel', () => {
  it('signs in with the admin token, after refusing a wrong one', async () => {
    await page.goto(tandem.base);
    await page.waitForURL(/\/sign-in$/);

    await page.getByLabel('Admin token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The server did not accept this token.').waitFor();

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByText('No users yet').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('tandem.adminToken'))).toBe(TOKEN);
  });

  it('takes the token from the link the server prints and strips it from the address', async () => {
    await page.evaluate(() => sessionStorage.clear());

    await openSignedIn('/users');

    await expect.poll(() => page.url()).toBe(`${tandem.base}/users`);
    expect(await page.evaluate(() => sessionStorage.getItem('tandem.adminToken'))).toBe(TOKEN);
  });

  it('creates a user whose badge turns green without a reload', async () => {
    await openSignedIn('/users/new');
    await markDocument();
    // Clerk answers slowly, so the Pending state is there to be seen first.
    await clerk.latency(1500);

    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Username').fill('ada_l');
    await page.getByLabel('First name').fill('Ada');
    await page.getByLabel('Last name').fill('Lovelace');
    await page.getByRole('button', { name: 'Create user' }).click();

    await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
    await badge(page, 'PENDING').waitFor();
    await badge(page, 'SYNCED').waitFor({ timeout: 10_000 });
    expect(await sameDocument()).toBe(true);
    await clerk.clearFaults();
  });

  it('edits a local field without calling Clerk', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Bio').waitFor();
    await clerk.clearRequests();

    await page.getByLabel('Display name').fill('Countess Ada');
    await page.getByLabel('Bio').fill('Wrote the first program.');
    await page.getByRole('button', { name: 'Save changes' }).click();

    await page.getByRole('heading', { name: 'Countess Ada' }).waitFor();
    await page.getByText('Tandem fields changed').first().waitFor();
    await page.waitForTimeout(1000);
    expect(await clerk.requests()).toEqual([]);
    await badge(page, 'SYNCED').waitFor();
  });

  it("shows Clerk's refusal in red with the reason, then retries to green", async () => {
    await clerk.fail({ count: 1, status: 422, code: 'form_identifier_exists', message: 'That username is taken' });
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Username').fill('taken_name');
    await page.getByRole('button', { name: 'Save changes' }).click();

    await badge(page, 'FAILED').waitFor({ timeout: 10_000 });
    await tabTo(page.locator('[data-sync-status="FAILED"]:focus'));
    await page.getByRole('tooltip').filter({ hasText: 'That username is taken' }).waitFor();
    await page.getByText('Sync failed').first().waitFor();
    await screenshot(page, 'detail-failed-1280');

    await clerk.clearFaults();
    await page.getByRole('button', { name: 'Retry Clerk sync' }).click();
    await badge(page, 'SYNCED').waitFor({ timeout: 10_000 });
    await page.getByText('Synced with Clerk').waitFor();
    await screenshot(page, 'detail-1280');
    await page.setViewportSize(PHONE);
    await screenshot(page, 'detail-390');
    await page.setViewportSize(DESKTOP);
  });

  it('shows a user created elsewhere in the list as it happens', async () => {
    await openSignedIn('/users');
    await markDocument();

    await createThroughApi({ email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', roles: ['ops'] });

    await page.getByRole('link', { name: 'Grace Hopper' }).waitFor({ timeout: 10_000 });
    expect(await sameDocument()).toBe(true);
  });

  it('searches and filters', async () => {
    await waitForStatus(await createThroughApi({ email: 'linus@example.com', username: 'linus', roles: ['admin'] }), 'SYNCED');
    await clerk.fail({ count: 1, status: 422, code: 'form_identifier_exists', message: 'That email is taken' });
    const failing = await createThroughApi({ email: 'barbara@example.com', firstName: 'Barbara', lastName: 'Liskov' });
    await waitForStatus(failing, 'FAILED');
    await openSignedIn('/users');
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    await screenshot(page, 'list-1280');
    await page.setViewportSize(PHONE);
    await screenshot(page, 'list-390');
    await page.setViewportSize(DESKTOP);

    await page.getByLabel('Search').fill('GRACE');
    await expect.poll(() => rows.allInnerTexts()).toEqual([expect.stringContaining('grace@example.com')]);
    expect(page.url()).toContain('q=GRACE');

    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await page.locator('input').and(page.getByLabel('Role', { exact: true })).fill('admin');
    await expect.poll(() => rows.allInnerTexts()).toEqual([expect.stringContaining('linus@example.com')]);

    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await page.getByRole('button', { name: /^Failed: 1 user\b/ }).click();
    await expect.poll(() => rows.allInnerTexts()).toEqual([expect.stringContaining('barbara@example.com')]);
    await page.getByLabel(/^Failed: That email is taken/).hover();
    await page.getByRole('tooltip').filter({ hasText: 'That email is taken' }).waitFor();

    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await expect.poll(() => rows.count()).toBe(4);
  });

  it('sorts by a column', async () => {
    const rows = page.locator('tbody tr');
    await page.getByRole('button', { name: 'User', exact: true }).click();
    await expect.poll(async () => (await rows.first().innerText()).includes('ada@example.com')).toBe(true);

    await page.getByRole('button', { name: 'User', exact: true }).click();
    await expect.poll(async () => (await rows.first().innerText()).includes('linus@example.com')).toBe(true);
    expect(await page.locator('th[aria-sort="descending"]').innerText()).toContain('User');
  });

  it('deletes selected users after asking', async () => {
    await openSignedIn('/users');
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(4);

    await page.getByLabel('Select grace@example.com').check();
    await page.getByLabel('Select linus@example.com').check();
    await page.getByRole('region', { name: 'Bulk actions' }).getByRole('button', { name: /Delete/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete 2 users?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Delete 2 users' }).click();

    await page.getByText('2 users deleted').waitFor();
    await expect.poll(() => rows.count()).toBe(2);
    // The switch follows the URL, which the router updates in a transition.
    await page.getByLabel('Show deleted').click();
    await expect.poll(() => page.getByLabel('Show deleted').isChecked()).toBe(true);
    await expect.poll(() => rows.count()).toBe(4);
    await expect.poll(() => page.locator('tbody tr', { hasText: 'grace@example.com' }).innerText()).toContain('Deleted');
  });

  it('deletes one user from its page after asking', async () => {
    await openSignedIn('/users?q=barbara');
    await page.getByRole('link', { name: 'Barbara Liskov' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete this user?' }).getByRole('button', { name: 'Delete user' }).click();

    await page.waitForURL(/\/users$/);
    await page.getByText('User deleted').waitFor();
  });

  it('keeps the edit form readable on a desktop and a phone', async () => {
    await openSignedIn('/users');
    await page.getByRole('link', { name: 'Countess Ada' }).click();
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Bio').waitFor();
    await page.getByRole('button', { name: 'Add link' }).click();
    await page.getByRole('combobox', { name: 'Platform of link 1' }).fill('GitHub');
    await page.getByLabel('URL of link 1').fill('https://github.com/ada');
    await page.locator('input').and(page.getByLabel('Roles')).pressSequentially('admin');
    await page.keyboard.press('Enter');
    await screenshot(page, 'form-1280');
    await page.setViewportSize(PHONE);
    await screenshot(page, 'form-390');
    await page.setViewportSize(DESKTOP);
  });

  it('sends a refused token back to sign-in with a message', async () => {
    await page.evaluate(() => sessionStorage.setItem('tandem.adminToken', 'revoked-token-0123456789'));

    await page.goto(`${tandem.base}/users`);

    await page.waitForURL(/\/sign-in$/);
    await page.getByText('The server did not accept your admin token. Sign in again.').waitFor();
  });

  it('shows a change made in Clerk live, with origin Clerk', async () => {
    const id = await createThroughApi({ email: 'margaret@example.com', firstName: 'Margaret', lastName: 'H' });
    await waitForStatus(id, 'SYNCED');
    const { user } = await tandem.gql<{ user: { clerkId: string } }>(`query($id: ID!) { user(id: $id) { clerkId } }`, { id });
    await openSignedIn(`/users/${id}`);
    await markDocument();

    await clerk.backend('PATCH', `/users/${user.clerkId}`, { last_name: 'Hamilton' });

    await page.getByRole('heading', { name: 'Margaret Hamilton' }).waitFor({ timeout: 10_000 });
    await page.getByText('Changed in Clerk').first().waitFor();
    expect(await sameDocument()).toBe(true);
  });
});
