/**
 * The browser tests' harness: a real `wrangler dev` on a fresh temporary state directory, seeded
 * like `npm start` (scripts/local-server.mjs: migrations, the demo tenant and its admin login),
 * and Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH) driven by playwright-core. One
 * server and one browser per test file; each test opens its own context (own cookies).
 *
 * Screenshots go to test/browser/screenshots/<name>.png; only the few the README shows are
 * committed (see .gitignore there).
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import {
  removeStateDir,
  startLocalServer,
  temporaryStateDir,
} from "../../scripts/local-server.mjs";

export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), "screenshots");
export const PHONE = { width: 390, height: 844 };
export const LAPTOP = { width: 1280, height: 800 };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * What spills out of its box on the page as it is now: the page wider than the viewport, a card
 * wider than its inside, or a table whose last column's header stays outside its `.table-scroll`
 * (or the viewport) even when that container is scrolled to its end. With `fit`, a table that
 * needs scrolling at all counts too. Each entry names the offender; none means all is well.
 */
export function overflowsOf(page, { fit = false } = {}) {
  return page.evaluate((fit) => {
    const found = [];
    const name = (el) => {
      const heading = el.closest(".card")?.querySelector("h2,h3")?.textContent?.trim();
      return `${el.className}${heading ? ` in "${heading}"` : ""}`;
    };
    const root = document.documentElement;
    if (root.scrollWidth > window.innerWidth) {
      found.push(`the page is ${root.scrollWidth}px wide in a ${window.innerWidth}px viewport`);
    }
    for (const card of document.querySelectorAll(".card")) {
      if (card.scrollWidth > card.clientWidth + 1) {
        found.push(`${name(card)}: ${card.scrollWidth}px of content in ${card.clientWidth}px`);
      }
    }
    for (const box of document.querySelectorAll(".table-scroll")) {
      if (fit && box.scrollWidth > box.clientWidth + 1) {
        found.push(`${name(box)}: a ${box.scrollWidth}px table in ${box.clientWidth}px`);
      }
      const last = box.querySelector("tr:first-child > :last-child");
      if (!last) {
        continue;
      }
      const before = box.scrollLeft;
      box.scrollLeft = box.scrollWidth;
      const inner = box.getBoundingClientRect();
      const cell = last.getBoundingClientRect();
      if (
        cell.left < inner.left - 1 ||
        cell.right > inner.right + 1 ||
        cell.right > window.innerWidth + 1
      ) {
        found.push(
          `${name(box)}: "${last.textContent.trim()}" at ${cell.left}–${cell.right}px, ` +
            `outside ${inner.left}–${inner.right}px scrolled to the end`,
        );
      }
      box.scrollLeft = before;
    }
    return found;
  }, fit);
}

/** Starts the server and the browser; `stop()` ends both and removes the state. */
export async function startDashboard() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  const persistTo = temporaryStateDir();
  const server = await startLocalServer({
    persistTo,
    vars: { WECHAT_SANDBOX_ENABLED: "true", RECEIPT_DEADLINE_SECONDS: 10 },
  });
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Root in CI needs --no-sandbox; the rest keep Chromium off this machine's closed network.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  } catch (error) {
    await server.stop();
    removeStateDir(persistTo);
    throw error;
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  const { email, password } = server.credentials;
  const errors = [];
  return {
    server,
    url: server.url,
    login: { email, password },
    /** Console errors and CSP violations seen by any page: the tests assert there are none. */
    errors,
    /** A fresh context (no cookies) and page; `locale` is what the browser asks for. */
    async newPage({ viewport = LAPTOP, locale = "en-US" } = {}) {
      const context = await browser.newContext({ viewport, locale, baseURL: server.url });
      const page = await context.newPage();
      page.on("console", (m) => {
        // A failed load is reported with its URL below; the console line has none.
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
          errors.push(m.text());
        }
      });
      page.on("response", (r) => {
        // The browser asks for /favicon.ico by itself; there is none.
        if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") {
          errors.push(`${r.status()} ${r.url()}`);
        }
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      return page;
    },
    /** Signs in through the form with the seeded admin login. */
    async signIn(page, user = { email, password }) {
      await page.goto("/dashboard/login");
      await page.fill('input[name="email"]', user.email);
      await page.fill('input[name="password"]', user.password);
      await Promise.all([
        page.waitForURL(/\/dashboard(\?|$)/),
        page.click('button[type="submit"]'),
      ]);
    },
    screenshot(page, name) {
      return page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    async stop() {
      await browser?.close().catch(() => {});
      await server.stop();
      removeStateDir(persistTo);
    },
  };
}
