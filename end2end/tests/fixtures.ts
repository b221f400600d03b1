import { test as base, expect, Browser, BrowserContext, devices, Page, TestInfo } from "@playwright/test";
import { join } from "node:path";

/// Every test fails on a browser console error, an uncaught exception or a
/// failed request. A test that provokes a refusal on purpose (say a 422 for
/// bad input, which Chromium logs as a console error) lists that status in
/// `allowedStatuses` first.
///
/// Browser contexts a test opens with `trainerAndAthlete` are closed when
/// the test ends, passed or failed (`contexts`); its `close()` may close
/// them earlier.
export const test = base.extend<{ problems: string[]; allowedStatuses: number[]; contexts: Set<BrowserContext> }>({
  allowedStatuses: [[], { option: true }],
  contexts: [
    async ({}, use) => {
      const contexts = new Set<BrowserContext>();
      opened = contexts;
      await use(contexts);
      opened = undefined;
      await Promise.all([...contexts].map((context) => context.close().catch(() => {})));
    },
    { auto: true },
  ],
  problems: [
    // After `contexts` (so torn down before it): a test's problems are
    // read while its pages are still open.
    async ({ page, allowedStatuses, contexts }, use) => {
      void contexts;
      const problems: string[] = [];
      watch(page, "page", problems, allowedStatuses);
      await use(problems);
      expect(problems, "browser problems").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/// The running test's contexts (see `contexts` above).
let opened: Set<BrowserContext> | undefined;

/// Records console errors, uncaught exceptions and failed requests of `page`
/// in `problems`. A request the browser itself abandoned because the page
/// navigated away (net::ERR_ABORTED) is not a failure, nor, in a context
/// with JavaScript off, the script it refuses to load.
export function watch(
  page: Page,
  who: string,
  problems: string[],
  allowedStatuses: number[] = [],
  options: { javaScriptDisabled?: boolean } = {},
) {
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const refusal = /the server responded with a status of (\d{3})/.exec(msg.text());
    if (refusal && allowedStatuses.includes(Number(refusal[1]))) return;
    problems.push(`${who} console error: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`${who} page error: ${err.message}`));
  page.on("requestfailed", (req) => {
    const reason = req.failure()?.errorText ?? "";
    if (reason === "net::ERR_ABORTED") return;
    // With JavaScript off the browser refuses the app's script on purpose.
    if (options.javaScriptDisabled && reason === "csp") return;
    problems.push(`${who} request failed: ${req.method()} ${req.url()} ${reason}`);
  });
}

/// Waits until the WASM has hydrated the page (src/lib.rs sets the marker).
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1, { timeout: 15_000 });
}

/// Sets a marker on `window` that a full page load would wipe out.
export async function markWindow(page: Page) {
  await page.evaluate(() => ((window as any).__spotterMarker = "still here"));
}

export async function windowWasNotReloaded(page: Page) {
  expect(await page.evaluate(() => (window as any).__spotterMarker)).toBe("still here");
}

let counter = 0;
/// A fresh email per call, so tests never collide.
export function uniqueEmail(prefix: string) {
  counter += 1;
  return `${prefix}-${Date.now()}-${counter}@example.com`;
}

export const password = "correct horse battery";

/// Registers through the form and lands on the dashboard.
export async function register(page: Page, name: string, role: "trainer" | "athlete") {
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Email").fill(uniqueEmail(role));
  await page.getByLabel("Password").fill(password);
  await page.getByLabel(role === "trainer" ? "a trainer" : "an athlete").check();
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/// Logs out from a page that shows the live indicator (the dashboard):
/// first waits for its link to be Live, because a WebSocket handshake that
/// reaches the server after the login ended is rightly refused with 401,
/// and Chromium logs that refusal as a console error (a race of the test's
/// speed, not a fault: the page drops that link when it leaves).
export async function logOut(page: Page) {
  await expect(page.getByTestId("live-status")).toHaveText("Live");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/$/);
}

/// Chromium has no vibration motor here: records what `page` asks for in
/// `window.__buzz` (read it with `page.evaluate`).
export async function recordVibrations(page: Page) {
  await page.addInitScript(() => {
    (window as any).__buzz = [];
    navigator.vibrate = ((pattern: VibratePattern) => {
      (window as any).__buzz.push(pattern);
      return true;
    }) as typeof navigator.vibrate;
  });
}

/// A trainer on a laptop (1280×800) and an athlete on a phone (Pixel 5, or
/// a touch phone of `phoneViewport`), each in their own browser context,
/// watched like `page` is.
export async function trainerAndAthlete(
  browser: Browser,
  baseURL: string | undefined,
  problems: string[],
  phoneBaseURL: string | undefined = baseURL,
  allowedStatuses: number[] = [],
  phoneViewport?: { width: number; height: number },
) {
  const laptop = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
  const phone = await browser.newContext({ ...devices["Pixel 5"], ...(phoneViewport ? { viewport: phoneViewport, screen: phoneViewport } : {}), baseURL: phoneBaseURL });
  opened?.add(laptop);
  opened?.add(phone);
  const trainer = await laptop.newPage();
  const athlete = await phone.newPage();
  watch(trainer, "trainer", problems, allowedStatuses);
  watch(athlete, "athlete", problems, allowedStatuses);
  return {
    trainer,
    athlete,
    phone,
    close: async () => {
      for (const context of [laptop, phone]) {
        opened?.delete(context);
        await context.close();
      }
    },
  };
}

/// The athlete's "Set done" for the set to do now (the large form at the
/// top of the round).
export function setDoneNow(athlete: Page) {
  return athlete.getByTestId("now-set").getByRole("button", { name: "Set done" });
}

/// Opens the list of all the round's sets on the athlete's page (one tap
/// away, collapsed under the set to do now) if it is closed.
export async function allSets(athlete: Page) {
  const list = athlete.getByTestId("round-sets");
  if (!(await list.evaluate((details: HTMLDetailsElement) => details.open))) await list.locator(":scope > summary").click();
  await expect(list).toHaveAttribute("open", "");
}

/// Names unique to this run: the athlete picks the trainer by name.
const run = Math.random().toString(36).slice(2, 6);
export const named = (name: string) => `${name} ${run}`;

/// Fills builder row `row` of the trainer's page; `Unit` is the select.
export async function fillExercise(trainer: Page, row: number, values: Record<string, string>) {
  const fieldset = trainer.getByTestId(`exercise-row-${row}`).first();
  for (const [label, value] of Object.entries(values)) {
    if (label === "Unit") await fieldset.getByLabel("Unit").selectOption(value);
    else if (label === "Notes") await fieldset.getByLabel("Notes for the athlete").fill(value);
    else await fieldset.getByLabel(label, { exact: true }).fill(value);
  }
}

/// Prints a measurement with the project's name (and keeps it in the
/// report's annotations). A number is in `unit`.
export function report(testInfo: TestInfo, what: string, value: number | string, unit = "ms") {
  const text = typeof value === "number" ? `${value} ${unit}` : value;
  testInfo.annotations.push({ type: what, description: text });
  console.log(`[${testInfo.project.name}] ${what}: ${text}`);
}

/// Saves a screenshot of a key screen to docs/screenshots/ (from the SQLite
/// run only, so each run writes one current set).
export async function shot(page: Page, name: string, testInfo: TestInfo) {
  if (testInfo.project.name !== "sqlite") return;
  await page.screenshot({ path: join(__dirname, "..", "..", "docs", "screenshots", `${name}.png`), fullPage: true });
}

/// A TCP proxy in front of spotter for the phone, to cut its network path
/// the way a real one dies. `cut()` models a phone whose wifi went dead and
/// that then found another path: every WebSocket open at that moment goes
/// silent (no FIN, no RST, bytes vanish both ways; browsers keep such
/// sockets for minutes), while idle HTTP keep-alive connections are reset
/// (browsers drop their pooled sockets on a network change). Connections
/// opened afterwards pass normally.
export async function pathProxy(baseURL: string) {
  const net = await import("node:net");
  const target = new URL(baseURL);
  const open = new Set<{ client: import("node:net").Socket; server: import("node:net").Socket; websocket: boolean; cut: boolean }>();
  let refusing = false;
  let httpDown = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    const conn = { client, server: upstream, websocket: false, cut: false };
    open.add(conn);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on("data", (data) => {
      if (!conn.websocket && /^upgrade: websocket/im.test(data.toString("latin1"))) conn.websocket = true;
      if (httpDown && !conn.websocket) conn.cut = true;
      if (!conn.cut) upstream.write(data);
    });
    upstream.on("data", (data) => {
      if (!conn.cut) client.write(data);
    });
    const end = () => {
      open.delete(conn);
      if (!conn.cut) {
        client.destroy();
        upstream.destroy();
      }
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  const port = (server.address() as import("node:net").AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    /// What a NAT timeout or an access-point change really does: every
    /// connection open now (the WebSocket *and* the browser's pooled HTTP
    /// connections) goes silent, no FIN, no RST; new ones pass.
    blackHole() {
      for (const conn of open) conn.cut = true;
    },
    /// A real outage: everything open goes silent and new connections are
    /// refused until `up()`.
    down() {
      for (const conn of open) conn.cut = true;
      refusing = true;
    },
    up() {
      refusing = false;
      httpDown = false;
    },
    /// Only plain HTTP dies (what a request path through a broken
    /// middlebox looks like): every open non-WebSocket connection goes
    /// silent, new ones go silent at their first request; WebSockets pass.
    httpDown() {
      for (const conn of open) if (!conn.websocket) conn.cut = true;
      httpDown = true;
    },
    cut() {
      for (const conn of open) {
        if (conn.websocket) conn.cut = true;
        else {
          conn.client.resetAndDestroy();
          conn.server.destroy();
        }
      }
    },
    async close() {
      for (const conn of open) {
        conn.client.destroy();
        conn.server.destroy();
      }
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

/// The session's event kinds in seq order, read from its SSE endpoint as
/// `page`'s user (the replay ends where the first heartbeat comes).
export async function eventKinds(page: Page, sessionId: string): Promise<string[]> {
  return page.evaluate(async (id) => {
    const controller = new AbortController();
    const response = await fetch(`/api/sessions/${id}/events?since=0`, { signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("event: heartbeat")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    return text
      .split("\n\n")
      .filter((block) => block.includes("event: event"))
      .map((block) => JSON.parse(block.split("\n").find((l) => l.startsWith("data:"))!.slice(5)).kind);
  }, sessionId);
}

/// The athlete starts a session with `coach` from the dashboard; its id.
export async function startSession(athlete: Page, coach: string) {
  await athlete.goto("/dashboard");
  await hydrated(athlete);
  await athlete.getByLabel("Trainer").selectOption({ label: coach });
  await athlete.getByRole("button", { name: "Start session" }).click();
  await expect(athlete).toHaveURL(/\/sessions\/\d+$/);
  return athlete.url().split("/").pop()!;
}

/// Starts a session between a new trainer and a new athlete and has the
/// trainer join; returns the session id with both pages on it, Live.
export async function joinedSession(trainer: Page, athlete: Page, coach: string, runner: string) {
  await register(trainer, coach, "trainer");
  await register(athlete, runner, "athlete");
  const id = await startSession(athlete, coach);
  await trainer.goto("/dashboard");
  await hydrated(trainer);
  await trainer.getByRole("button", { name: `Join ${runner}` }).click();
  await expect(trainer).toHaveURL(new RegExp(`/sessions/${id}/trainer$`));
  await hydrated(trainer);
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  await expect(trainer.getByTestId("live-status")).toHaveText("Live");
  return id;
}

/// The trainer saves and releases a one-exercise round.
export async function releaseRound(trainer: Page, number: number, exercise: string) {
  await fillExercise(trainer, 0, { Exercise: exercise, Reps: "10" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: `Release round ${number}` }).click();
  await expect(trainer.getByTestId("released-round")).toContainText(exercise);
}
