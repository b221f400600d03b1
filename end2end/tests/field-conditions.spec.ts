import { test, expect, hydrated, register, trainerAndAthlete, named, pathProxy, joinedSession, releaseRound, eventKinds, markWindow, windowWasNotReloaded, report } from "./fixtures";

// The phone in the gym: a path that dies without a word, a frozen tab, a
// send pressed while offline, a reload mid-typing. The server sends a
// heartbeat every second here (playwright.config.ts), so the link must
// stop saying "Live" within 2.5 s of silence (+1 s for the watchdog tick).
// Timings are reported (test annotations), not asserted against the clock
// beyond what a user would notice.


test("a silently dead path is noticed, and the round released meanwhile appears without a reload", async ({ browser, baseURL, problems }, testInfo) => {
  const proxy = await pathProxy(baseURL!);
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems, proxy.url);
  await joinedSession(trainer, athlete, named("Hana Hole"), named("Ivo Idle"));
  await markWindow(athlete);

  // Every change of the indicator, with the page's clock: a new path works
  // at once here, so "not Live" may last only a few milliseconds.
  await athlete.evaluate(() => {
    const indicator = document.querySelector(".live-indicator")!;
    const log: [number, string][] = ((window as any).__indicator = []);
    // What is shown (not the no-JavaScript text, hidden while scripts run).
    const shown = () => [...indicator.querySelectorAll(":scope > span:not(.no-js-only)")].map((el) => el.textContent).join("");
    new MutationObserver(() => log.push([Date.now(), shown()])).observe(indicator, {
      childList: true,
      characterData: true,
      subtree: true,
    });
    new MutationObserver((_, observer) => {
      if (document.querySelector("[data-testid=released-round]")) {
        (window as any).__roundShownAt = Date.now();
        observer.disconnect();
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  proxy.cut();
  const cutAt = Date.now();
  await releaseRound(trainer, 1, "Goblet squat");
  // The old socket still looks open; only the missing heartbeats tell.
  const notLive = async () =>
    (await athlete.evaluate(() => (window as any).__indicator as [number, string][])).find(([, text]) => !text.startsWith("Live"));
  await expect.poll(notLive, { timeout: 6000 }).toBeTruthy();
  const [noticedAt, shown] = (await notLive())!;
  expect(shown).toMatch(/^Reconnecting \(attempt 1\)Last update \d\d:\d\d:\d\d.*unknown until the link is back$/);
  // A new path works at once: the missed round is on screen.
  await expect(athlete.getByTestId("released-round")).toContainText("Goblet squat", { timeout: 5000 });
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  const shownAt: number = await athlete.evaluate(() => (window as any).__roundShownAt);
  const log = await athlete.evaluate(() => (window as any).__indicator as [number, string][]);
  const backAt = log.find(([at, text]) => at > noticedAt && text.startsWith("Live"))![0];
  await windowWasNotReloaded(athlete);
  report(testInfo, "path death to not Live", noticedAt - cutAt);
  report(testInfo, "new path Live to missed round on screen", shownAt - backAt);
  expect(noticedAt - cutAt, "noticed within the window (2.5 heartbeats + a tick)").toBeLessThan(5000);
  await close();
  await proxy.close();
});

test("a round released while the tab was frozen (and its old connection died) shows as soon as the tab resumes", async ({ browser, baseURL, problems }, testInfo) => {
  const proxy = await pathProxy(baseURL!);
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems, proxy.url);
  await joinedSession(trainer, athlete, named("Fay Freeze"), named("Gus Gym"));
  await athlete.evaluate(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector("[data-testid=released-round]")) {
        (window as any).__roundShownAt = Date.now();
        observer.disconnect();
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  // A frozen tab runs no JavaScript at all. Headless Chromium ignores
  // `Page.setWebLifecycleState` for a visible page (its timers kept
  // running when we tried), so the debugger stops the page's JavaScript
  // instead, with the lifecycle events a real freeze sends around it.
  const cdp = await athlete.context().newCDPSession(athlete);
  await athlete.evaluate(() => document.dispatchEvent(new Event("freeze")));
  await cdp.send("Debugger.enable");
  await cdp.send("Debugger.pause");
  proxy.cut();
  await releaseRound(trainer, 1, "Kettlebell swing");
  // Locked long enough that the old connection would be trusted no more.
  await trainer.waitForTimeout(4000);
  const resumingAt = Date.now();
  await cdp.send("Debugger.resume");
  await cdp.send("Debugger.disable");
  await athlete.evaluate(() => document.dispatchEvent(new Event("resume")));
  // Within a second, as a rule (the time is reported); the bound leaves
  // room for a busy CI machine but stays under what noticing the dead
  // connection by its silence would take (2.5 heartbeats here, then a
  // new connection): only waking up with a fresh connection is this fast.
  await expect(athlete.getByTestId("released-round")).toContainText("Kettlebell swing", { timeout: 2000 });
  // Frozen means frozen: the round appeared only after the resume began.
  const shownAt: number = await athlete.evaluate(() => (window as any).__roundShownAt);
  expect(shownAt).toBeGreaterThanOrEqual(resumingAt);
  report(testInfo, "resume to round visible", shownAt - resumingAt);
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  await close();
  await proxy.close();
});

test("feedback sent while offline is kept on the phone and arrives exactly once", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, phone, close } = await trainerAndAthlete(browser, baseURL, problems);
  const id = await joinedSession(trainer, athlete, named("Otto Outbox"), named("Pia Pocket"));
  await releaseRound(trainer, 1, "Push-up");
  const released = athlete.getByTestId("released-round");
  await expect(released).toContainText("Push-up");
  await markWindow(athlete);

  await phone.setOffline(true);
  await expect(athlete.getByTestId("live-status")).toHaveText("Offline");
  await athlete.getByTestId("feedback-0").getByLabel("Notes for your trainer").fill("Sent from the basement");
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(athlete.getByTestId("outbox-status")).toHaveText("Saved on this phone, sends when you are back online");
  await expect(athlete.getByTestId("outbox-status")).toHaveCount(1);
  // Pressing again while it waits cannot send a second one.
  await expect(athlete.getByRole("button", { name: "Send feedback and finish the round" })).toBeDisabled();
  await expect(trainer.getByTestId("completed-round-1")).toHaveCount(0);

  await phone.setOffline(false);
  const onlineAt = Date.now();
  // The round it finished is done on the phone too (the form, and its
  // status line, make way for it).
  await expect(athlete.getByTestId("completed-round-1")).toContainText("Sent from the basement", { timeout: 15000 });
  report(testInfo, "outbox round trip (online to the round done on the phone)", Date.now() - onlineAt);
  const done = trainer.getByTestId("completed-round-1");
  await expect(done.getByRole("row", { name: /Push-up/ })).toContainText("Sent from the basement");
  await expect(trainer.locator(".completed-round")).toHaveCount(1);
  expect((await eventKinds(athlete, id)).filter((k) => k === "round-completed")).toHaveLength(1);
  await windowWasNotReloaded(athlete);
  // The failed attempt while offline is what this test is about.
  const expected = (p: string) =>
    (/rounds\/complete/.test(p) || /console error: Failed to load resource/.test(p)) && /ERR_INTERNET_DISCONNECTED/.test(p);
  problems.splice(0, problems.length, ...problems.filter((p) => !expected(p)));
  await close();
});

test("a send whose answer was lost, then a reload, still completes the round once", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  // The server commits, but the phone never hears back (the answer dies
  // on the way), then the athlete reloads: the outbox sends it again, with
  // the same key. The send goes over the live WebSocket when the page is
  // Live (a `call` frame), over HTTP otherwise: the answer dies on either.
  let answerLost!: () => void;
  const lost = new Promise<void>((done) => (answerLost = done));
  let first = true;
  let reloaded = false;
  let overSocket = false;
  const completing = (message: string | Buffer) =>
    typeof message === "string" && message.includes('"type":"call"') && message.includes("/api/rounds/complete");
  await athlete.routeWebSocket(/\/api\/sessions\/\d+\/live/, (ws) => {
    const server = ws.connectToServer();
    let lostCall: number | undefined;
    ws.onMessage((message) => {
      if (completing(message)) {
        if (first) {
          first = false;
          overSocket = true;
          lostCall = JSON.parse(message as string).id;
        } else if (!reloaded) {
          // Retries before the reload die on the way there (the path is
          // still bad), so the reloaded page is the one that delivers it.
          return;
        }
      }
      server.send(message);
    });
    server.onMessage((message) => {
      if (lostCall !== undefined && typeof message === "string" && message.includes('"type":"answer"') && JSON.parse(message).id === lostCall) {
        // Committed; the answer and the path it was on die.
        ws.close();
        server.close();
        answerLost();
        return;
      }
      ws.send(message);
    });
  });
  const id = await joinedSession(trainer, athlete, named("Lara Lost"), named("Mo Mute"));
  await releaseRound(trainer, 1, "Dip");
  await expect(athlete.getByTestId("released-round")).toContainText("Dip");
  await athlete.route("**/api/rounds/complete", async (route) => {
    if (first) {
      first = false;
      await route.fetch();
      await route.abort("connectionreset");
      answerLost();
    } else if (!reloaded) {
      // Retries before the reload fail on the way there (the path is
      // still bad), so the reloaded page is the one that delivers it.
      await route.abort("connectionreset");
    } else {
      await route.continue();
    }
  });
  // (Set when the reload commits: the old page can send nothing after.)
  athlete.on("framenavigated", (frame) => {
    if (frame === athlete.mainFrame() && !first) reloaded = true;
  });
  await athlete.getByTestId("feedback-0").getByLabel("Reps done").fill("7");
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  // Kept on the phone from the tap (its status line goes with the form
  // once the round's completion arrives live).
  await expect.poll(() => athlete.evaluate(() => localStorage.getItem("spotter.outbox") ?? "")).toContain("/api/rounds/complete");
  // (The status shows at once; the reload must wait until the server has
  // committed and the answer was lost, or it would cancel the request.)
  await lost;
  await athlete.reload();
  await hydrated(athlete);
  await expect(athlete.getByTestId("completed-round-1")).toBeVisible({ timeout: 10000 });
  await expect(trainer.locator(".completed-round")).toHaveCount(1);
  expect((await eventKinds(athlete, id)).filter((k) => k === "round-completed")).toHaveLength(1);
  expect(overSocket, "the Live page sent it over its live connection").toBe(true);
  const expected = (p: string) =>
    (/rounds\/complete/.test(p) || /console error: Failed to load resource/.test(p)) && /ERR_CONNECTION_RESET|ERR_FAILED/.test(p);
  problems.splice(0, problems.length, ...problems.filter((p) => !expected(p)));
  await close();
});

test("a reload mid-typing restores what the athlete and the trainer typed", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  await joinedSession(trainer, athlete, named("Rita Reload"), named("Sven Save"));
  await releaseRound(trainer, 1, "Lunge");
  const row = athlete.getByTestId("feedback-0");
  await row.getByLabel("RPE (0–10)").fill("7.5");
  await row.getByLabel("Notes for your trainer").fill("Left knee a bit stiff");
  await row.getByLabel("Pain or discomfort").check();
  // The trainer types the next round and reloads before saving.
  const nextExercise = trainer.getByTestId("round-builder").last().getByTestId("exercise-row-0").getByLabel("Exercise", { exact: true });
  await nextExercise.fill("Hip thrust");
  await athlete.reload();
  await trainer.reload();
  await hydrated(athlete);
  await hydrated(trainer);
  await expect(row.getByLabel("RPE (0–10)")).toHaveValue("7.5");
  await expect(row.getByLabel("Notes for your trainer")).toHaveValue("Left knee a bit stiff");
  await expect(row.getByLabel("Pain or discomfort")).toBeChecked();
  await expect(nextExercise).toHaveValue("Hip thrust");
  // Once the server has the feedback, the phone forgets it.
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(athlete.getByTestId("completed-round-1")).toBeVisible();
  expect(await athlete.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("spotter.")))).toEqual([]);
  await close();
});

test("the screen is kept on while a round is open", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, phone, close } = await trainerAndAthlete(browser, baseURL, problems);
  // Headless Chromium may refuse a real lock; record the request instead.
  await phone.addInitScript(() => {
    (window as any).__wakeLocks = [];
    Object.defineProperty(navigator, "wakeLock", {
      configurable: true,
      value: {
        request: async (type: string) => {
          (window as any).__wakeLocks.push(type);
          return { release: async () => {} };
        },
      },
    });
  });
  await joinedSession(trainer, athlete, named("Walt Wake"), named("Xena Xercise"));
  expect(await athlete.evaluate(() => (window as any).__wakeLocks)).toEqual([]);
  await releaseRound(trainer, 1, "Plank");
  await expect(athlete.getByTestId("released-round")).toContainText("Plank");
  await expect.poll(() => athlete.evaluate(() => (window as any).__wakeLocks)).toEqual(["screen"]);
  await close();
});

test("a dashboard whose link died catches up when it reconnects", async ({ browser, baseURL, problems }) => {
  // Here the trainer's laptop is the one behind the dying path.
  const proxy = await pathProxy(baseURL!);
  const { trainer, athlete, close } = await trainerAndAthlete(browser, proxy.url, problems, baseURL);
  const coach = named("Dora Dash");
  const runner = named("Eli Early");
  await register(trainer, coach, "trainer");
  await register(athlete, runner, "athlete");
  await trainer.goto("/dashboard");
  await hydrated(trainer);
  await expect(trainer.getByTestId("live-status")).toHaveText("Live");
  await markWindow(trainer);
  proxy.cut();
  await athlete.goto("/dashboard");
  await hydrated(athlete);
  await athlete.getByLabel("Trainer").selectOption({ label: coach });
  await athlete.getByRole("button", { name: "Start session" }).click();
  await expect(athlete).toHaveURL(/\/sessions\/\d+$/);
  // The event went down the dead path; the new connection has no replay,
  // so the dashboard refetches when it is back.
  await expect(trainer.getByRole("button", { name: `Join ${runner}` })).toBeVisible({ timeout: 8000 });
  await windowWasNotReloaded(trainer);
  await close();
  await proxy.close();
});
