import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };
export const SCREENSHOTS = new URL('../screenshots/', import.meta.url).pathname;

/** Debian's Chromium; never a browser that a tool downloads. */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // The machine has no network beyond the package registries: Chromium must not try.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-crash-reporter',
    ],
  });
}

export async function screenshot(page: Page, name: string) {
  await mkdir(SCREENSHOTS, { recursive: true });
  // Toasts are transient: dismiss them, and let transitions settle, so the
  // picture shows the page itself.
  for (const dismiss of await page.getByRole('button', { name: 'Dismiss' }).all()) {
    // One that closed by itself meanwhile is just as good.
    await dismiss.click({ timeout: 2000 }).catch(() => undefined);
  }
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}
