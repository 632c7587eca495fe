// Headless Chromium for the HTML page tests (test/html/) and bench/html.ts, driven by
// playwright-core: Debian's `chromium` (.ci/run installs it with apt when missing), or the
// executable in $VALUELENS_CHROMIUM. Without one the tests skip, loudly, as the fidelity tests
// do without ../shared.
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

/** The Chromium executable: $VALUELENS_CHROMIUM, else /usr/bin/chromium. */
export const CHROMIUM = process.env.VALUELENS_CHROMIUM || "/usr/bin/chromium";

/** Whether Chromium is there; if not, prints one line saying what is skipped. */
export function haveChromium(who: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  console.warn(
    `SKIPPED [${who}] no Chromium at ${CHROMIUM} (set VALUELENS_CHROMIUM, or apt-get install chromium): skipping the browser tests of report.html / compare.html`,
  );
  return false;
}

let shared: Promise<Browser> | undefined;

/**
 * One Chromium shared by every test of a file (each test opens its own context and page): launched
 * on first use; the file closes it with `closeSharedChromium` in an afterAll.
 */
export function sharedChromium(): Promise<Browser> {
  shared ??= launchChromium();
  return shared;
}

export async function closeSharedChromium(): Promise<void> {
  const browser = shared;
  shared = undefined;
  await (await browser?.catch(() => undefined))?.close();
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"],
  });
}

/** What a page did while it was open: console errors, page errors and every request's URL. */
export interface PageLog {
  errors: string[];
  requests: string[];
}

/**
 * A page that records console errors, uncaught errors and requests, and aborts every request
 * but the file:// page itself (so a stray one shows up both as a request and as a failure).
 */
export async function watchedPage(browser: Browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page: Page = await context.newPage();
  const log: PageLog = { errors: [], requests: [] };
  page.on("console", (m) => {
    if (m.type() === "error") log.errors.push(m.text());
  });
  page.on("pageerror", (e) => log.errors.push(e.message));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    log.requests.push(url);
    if (url.startsWith("file://")) return route.continue();
    return route.abort();
  });
  return { page, log };
}
