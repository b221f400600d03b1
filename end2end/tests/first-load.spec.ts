import { test, expect, hydrated, trainerAndAthlete, named, joinedSession, releaseRound, watch, markWindow, windowWasNotReloaded, report } from "./fixtures";
import type { BrowserContext, Page, CDPSession } from "@playwright/test";

// The athlete's first load on a phone: what the code costs on the wire, that
// a second visit downloads none of it again, and how long a slow cellular
// link takes to a page that reacts. Sizes are asserted (they do not depend
// on the machine's load); times are reported, not asserted.

/// Code (wasm and JS) the budget covers, in bytes as transferred
/// (compressed, headers included). The target is 150 KB and is not met:
/// with the other pages split off (`--split`, lazy routes) and the
/// athlete's page kept in the main module, the athlete's first page sends
/// 335,785 bytes (brotli; docs/BENCHMARKS.md, "First load on a phone,
/// split by page"), most of it Leptos's runtime, router and our views'
/// render code. So this budget only stops growth unnoticed. It was 350 KB;
/// logging sets and reporting pain on the athlete's page (issue 16) took
/// the page to 372,504 bytes, and the budget to 380 KB (about 4 % over).
/// The live link carrying the page's state (issue 27: the snapshot and
/// events applied in place, a page drawn part by part so an update touches
/// only what changed) took it to 418,860 bytes, and the budget to 420 KB:
/// the price of fine-grained parts (one reactive memo type per part) to
/// win back (issue 30's rework of the athlete page is the place). Then
/// (2026-12-02, stop 34) the typed outbox (issue 29: forms decoded into
/// the server functions' arguments and encoded again to send, serde_qs
/// for four types) took it to 437,708 bytes and the session's thread
/// (issue 28: messages, quick replies, its form) to 460,015: budget 470 KB.
/// That is 10 % over issue 27's page and the slow-link time to a hydrated
/// form is 3.7 s (2.8-3.2 s when last recorded, issue 16): to win back first in
/// issue 30 (levers: send the form's own text instead of encoding the
/// typed value again; load the thread's code after the round's).
/// Issue 28's second part (typing, receipts, unread, older messages) took
/// it to 485,815: budget 490 KB, the same regression, larger (+25.8 KB),
/// for issue 30 to win back with the levers above.
/// Issue 30 (2026-12-03) did not win it back: the round by thumb (the set
/// to do now, the sticky rest, statuses by their forms, feedback from the
/// logged sets, timed sets) took it to 507,235 bytes (+18.4 KB, 3.8 %)
/// after type-erasing the two views it redraws (508 KB before that):
/// budget 500 KB. The levers above are still open, and the larger one
/// (the thread's code after the round's: a lazily loaded component) is
/// the next step for this number.
/// Without the precompressed copies it fails (1.1 MB); without the split
/// it fails too.
const CODE_BUDGET = 500 * 1024;

type Loaded = { url: string; status: number; encoding: string; bytes: number; cached: boolean };

/// Records every response `page` receives through Chromium's network
/// domain: status, content-encoding, bytes on the wire, whether the cache
/// answered.
async function record(context: BrowserContext, page: Page) {
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const seen = new Map<string, Loaded>();
  const done: Loaded[] = [];
  cdp.on("Network.responseReceived", (e: any) => {
    const headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    seen.set(e.requestId, {
      url: e.response.url,
      status: e.response.status,
      encoding: headers["content-encoding"] ?? "",
      bytes: 0,
      cached: Boolean(e.response.fromDiskCache || e.response.fromMemoryCache),
    });
  });
  // Chromium tells a cache hit separately for some resources.
  const fromCache = new Set<string>();
  cdp.on("Network.requestServedFromCache", (e: any) => fromCache.add(e.requestId));
  cdp.on("Network.loadingFinished", (e: any) => {
    const loaded = seen.get(e.requestId);
    if (loaded) {
      loaded.bytes = e.encodedDataLength;
      loaded.cached ||= fromCache.has(e.requestId);
      done.push(loaded);
    }
  });
  return { cdp, done };
}

/// 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip (a weak 3G/4G link).
async function slowLink(cdp: CDPSession) {
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  });
}

const isCode = (url: string) => /\.(wasm|js)(\?|$)/.test(new URL(url).pathname);


/// A session with a released round, and a fresh phone context (empty
/// cache) logged in as its athlete.
async function athleteWithEmptyCache(
  browser: import("@playwright/test").Browser,
  baseURL: string | undefined,
  problems: string[],
  tag: string,
  phoneProblems: string[] = problems,
) {
  const { trainer, athlete, phone, close } = await trainerAndAthlete(browser, baseURL, problems);
  const id = await joinedSession(trainer, athlete, named(`Pia Payload ${tag}`), named(`Quin Quick ${tag}`));
  await releaseRound(trainer, 1, "Goblet squat");
  const { devices } = await import("@playwright/test");
  const fresh = await browser.newContext({ ...devices["Pixel 5"], baseURL, storageState: await phone.storageState() });
  const page = await fresh.newPage();
  watch(page, "athlete (fresh phone)", phoneProblems);
  return { id, fresh, page, close };
}

test("the athlete's first load is compressed and within budget, and a second visit downloads no code", async ({ browser, baseURL, problems }, testInfo) => {
  const { id, fresh, page, close } = await athleteWithEmptyCache(browser, baseURL, problems, "size");
  const first = await record(fresh, page);
  await page.goto(`/sessions/${id}`);
  await hydrated(page);
  await expect(page.getByTestId("feedback-0")).toBeVisible();

  const code = first.done.filter((r) => isCode(r.url));
  expect(code.map((r) => new URL(r.url).pathname).sort(), "the page loads its wasm and its JS").toEqual(
    expect.arrayContaining([expect.stringMatching(/\.wasm$/), expect.stringMatching(/\.js$/)]),
  );
  // Split by page: the athlete's page is in the main module (one file to
  // fetch on a phone); none of the other pages' modules comes with it.
  const paths = code.map((r) => new URL(r.url).pathname);
  expect(paths.filter((p) => p.includes("split___")), `no other page's module (${paths.join(", ")})`).toEqual([]);
  for (const r of code) {
    expect(r.status, r.url).toBe(200);
    expect(r.encoding, `${r.url} is sent compressed`).toMatch(/^(br|gzip)$/);
  }
  const page_ = first.done.find((r) => new URL(r.url).pathname === `/sessions/${id}`)!;
  expect(page_.encoding, "the page's HTML is sent compressed").toMatch(/^(br|gzip)$/);
  const codeBytes = code.reduce((sum, r) => sum + r.bytes, 0);
  report(testInfo, "athlete first page: wasm + JS transferred", `${codeBytes} bytes (${code.map((r) => `${new URL(r.url).pathname} ${r.encoding} ${r.bytes}`).join(", ")})`);
  report(testInfo, "athlete first page: HTML transferred", `${page_.bytes} bytes (${page_.encoding})`);
  expect(codeBytes, "wasm + JS of the athlete's first page, as transferred").toBeLessThan(CODE_BUDGET);

  // A second visit: the files have content-hashed names and are kept for
  // a year, so nothing of the code comes over the wire again.
  // (Leaving first: the same URL again would be a reload.)
  await page.goto("/dashboard");
  await hydrated(page);
  const second = await record(fresh, page);
  await page.goto(`/sessions/${id}`);
  await hydrated(page);
  const again = second.done.filter((r) => isCode(r.url));
  expect(again.length, "the second visit loads the code too (from the cache)").toBeGreaterThan(0);
  for (const r of again) {
    expect(new URL(r.url).pathname, "a content-hashed name").toMatch(/\/pkg\/[A-Za-z0-9_]+\.[A-Za-z0-9_-]{22}\.(wasm|js)$/);
    expect(r.bytes, `${r.url} (status ${r.status}, cache ${r.cached}): nothing on the wire`).toBeLessThan(1024);
    expect(r.cached, `${r.url} (status ${r.status}, ${r.bytes} bytes) from the browser's cache`).toBe(true);
  }
  report(testInfo, "athlete second visit: code transferred", again.map((r) => `${new URL(r.url).pathname} ${r.status}${r.cached ? " cached" : ""} ${r.bytes}`).join(", "));
  await fresh.close();
  await close();
});

test("on a slow cellular link the round's feedback form reacts after a measured time", async ({ browser, baseURL, problems }, testInfo) => {
  const { id, fresh, page, close } = await athleteWithEmptyCache(browser, baseURL, problems, "slow");
  const { cdp } = await record(fresh, page);
  await slowLink(cdp);
  const started = Date.now();
  await page.goto(`/sessions/${id}`, { waitUntil: "commit" });
  await page.locator("body[data-hydrated]").waitFor({ timeout: 60_000 });
  const field = page.getByTestId("feedback-0").getByLabel("RPE (0–10)");
  await field.fill("7");
  await expect(field).toHaveValue("7");
  report(testInfo, "slow link (1.6 Mbit/s, 150 ms): navigation to a hydrated feedback form", `${Date.now() - started} ms`);
  await fresh.close();
  await close();
});

test("on a slow link, the first visit to a page says it is loading while its code arrives, then shows the page without a reload", async ({ browser, baseURL, problems }) => {
  const { id, fresh, page, close } = await athleteWithEmptyCache(browser, baseURL, problems, "lazy");
  await page.goto(`/sessions/${id}`);
  await hydrated(page);
  const { cdp } = await record(fresh, page);
  await slowLink(cdp);
  await markWindow(page);
  // The dashboard's part of the code has not been loaded yet: the session
  // page stays while it comes, with a status saying so.
  await page.getByRole("link", { name: "Dashboard" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Loading…" })).toBeVisible();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("active")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText("Loading…")).toHaveCount(0);
  await windowWasNotReloaded(page);
  await fresh.close();
  await close();
});

test("when a page's code cannot be fetched (the wifi just dropped), the page says so, the app keeps working, and the next visit loads it without a reload", async ({ browser, baseURL, problems }) => {
  const phoneProblems: string[] = [];
  const { id, fresh, page, close } = await athleteWithEmptyCache(browser, baseURL, problems, "dropped", phoneProblems);
  await page.goto(`/sessions/${id}`);
  await hydrated(page);
  const session = page.getByRole("heading", { name: /^Session with / });
  await expect(session).toBeVisible();
  await markWindow(page);
  // The dashboard's part of the wasm (a split module and its chunks) fails
  // the way a dropped link does; the page and its data would still come.
  const pagesCode = /\/pkg\/(chunk_|split_)/;
  await page.route(pagesCode, (route) => route.abort("internetdisconnected"));
  await page.getByRole("link", { name: "Dashboard" }).click();
  const unavailable = page.getByTestId("page-unavailable");
  await expect(unavailable).toBeVisible({ timeout: 30_000 });
  await expect(unavailable.getByRole("heading")).toHaveText("This page could not load");
  await expect(unavailable.getByRole("button", { name: "Try again" })).toBeVisible();
  await expect(page.getByText("Loading…")).toHaveCount(0);
  // The app is alive: back to the session page, which works as before.
  await page.goBack();
  await expect(session).toBeVisible();
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  // The link is back: the same tap now loads the dashboard in place.
  await page.unroute(pagesCode);
  await page.getByRole("link", { name: "Dashboard" }).click();
  await expect(page.getByTestId("active")).toBeVisible({ timeout: 30_000 });
  await expect(unavailable).toHaveCount(0);
  await windowWasNotReloaded(page);
  // What the browser reported: the refused fetches (and the loader's note of
  // them), never a panic. The split loader's JS (written by the build, not
  // ours) starts a part's fetches together and, once one fails, leaves the
  // others' rejections unobserved: Chromium reports those as uncaught
  // "Failed to fetch" page errors. They are harmless (the page above
  // worked); anything else uncaught is not.
  const loaderRejection = (p: string) => /page error: Failed to fetch$/.test(p);
  const fatal = phoneProblems.filter((p) => /page error|panicked|unreachable/i.test(p) && !loaderRejection(p));
  expect(fatal, "the app crashed").toEqual([]);
  expect(phoneProblems.some((p) => /request failed: GET .*\/pkg\/.*ERR_INTERNET_DISCONNECTED/.test(p)), phoneProblems.join("\n")).toBe(true);
  const unexplained = phoneProblems.filter((p) => !/ERR_INTERNET_DISCONNECTED|split module|Failed to fetch|Failed to load/i.test(p));
  expect(unexplained, "unexpected browser problems").toEqual([]);
  await fresh.close();
  await close();
});
