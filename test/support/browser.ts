import { accessSync, constants } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

/** The browser the dashboard tests drive: Debian's chromium, or $CHROMIUM_BIN. */
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/**
 * Why browser tests cannot run here, in one line, or undefined when they can. Playwright's own
 * browser download is not used (it needs the network): the system's Chromium is.
 */
export function browserSkipReason(): string | undefined {
  try {
    accessSync(CHROMIUM_BIN, constants.X_OK);
    return undefined;
  } catch {
    return `no Chromium at ${CHROMIUM_BIN}: install the Debian package chromium (apt-get install chromium) or set CHROMIUM_BIN`;
  }
}

/** Headless Chromium; --no-sandbox because tests often run as root in a container. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_BIN, headless: true, args: ["--no-sandbox"] });
}

/** A network request the browser logs as a console error (a 401 answer, a refused connection). */
const NETWORK_ERROR = /^Failed to load resource: /;

/**
 * What went wrong on a page: console errors (CSP violations are among them), uncaught
 * exceptions, and dialogs (alert/confirm/prompt: dismissed, and recorded so the test fails).
 */
export interface PageWatch {
  /** Everything seen so far: `console: …`, `pageerror: …`, `dialog: …`. */
  readonly problems: readonly string[];
  /**
   * Takes what was seen since the last call, after dropping the browser's own lines about
   * network answers the test caused on purpose (`allowNetwork`: e.g. a 401 it asked for, a
   * refused connection while the gateway was down). What is left is a problem.
   */
  take(allowNetwork?: RegExp): string[];
}

export function watchPage(page: Page): PageWatch {
  const problems: string[] = [];
  let taken = 0;
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const where = message.location();
    problems.push(`console: ${message.text()}${where.url ? ` (${where.url}:${where.lineNumber})` : ""}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.stack ?? error.message}`));
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.type()} ${JSON.stringify(dialog.message())}`);
    void dialog.dismiss().catch(() => {});
  });
  return {
    problems,
    take(allowNetwork) {
      const fresh = problems.slice(taken);
      taken = problems.length;
      return fresh.filter(
        (p) =>
          !(
            allowNetwork !== undefined &&
            p.startsWith("console: ") &&
            NETWORK_ERROR.test(p.slice(9)) &&
            allowNetwork.test(p)
          ),
      );
    },
  };
}
