import { test, expect, trainerAndAthlete, named, pathProxy, joinedSession, releaseRound, fillExercise, eventKinds, markWindow, windowWasNotReloaded, report, setDoneNow, allSets } from "./fixtures";
import type { Page, TestInfo } from "@playwright/test";

// The live link carries the page's state: after the first paint no live
// update shows "Loading", moves the page or touches what is typed, and
// "Live" means the data on screen is current, also when the path dies
// the way real ones do (the WebSocket and every pooled HTTP connection
// black-holed at once). Heartbeats come every second here.


/// Counts every "Loading" the page shows from now on, and logs the
/// indicator's changes and when the released round first shows.
async function watchPage(page: Page) {
  await page.evaluate(() => {
    const w = window as any;
    w.__loadings = 0;
    new MutationObserver((records) => {
      for (const record of records)
        for (const node of record.addedNodes) {
          const el = node instanceof Element ? node : null;
          if (el && (el.matches(".loading") || el.querySelector(".loading"))) w.__loadings += 1;
        }
    }).observe(document.body, { childList: true, subtree: true });
    const indicator = document.querySelector(".live-indicator")!;
    const shown = () => [...indicator.querySelectorAll(":scope > span:not(.no-js-only)")].map((el) => el.textContent).join("");
    w.__indicator = [[Date.now(), shown()]];
    new MutationObserver(() => w.__indicator.push([Date.now(), shown()])).observe(indicator, { childList: true, characterData: true, subtree: true });
    new MutationObserver((_, observer) => {
      if (document.querySelector("[data-testid=released-round]")) {
        w.__roundShownAt = Date.now();
        observer.disconnect();
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
}

const loadings = (page: Page) => page.evaluate(() => (window as any).__loadings as number);
const indicatorLog = (page: Page) => page.evaluate(() => (window as any).__indicator as [number, string][]);

/// The round on the phone after a dead path: not Live while dead, then
/// Live on a new path with the round already on screen. A page that was
/// paused may go from its last (frozen) "Live" to the new path's without
/// a frame drawn in between: then the round must be there within the
/// watchdog's second (+ the new connection) of resuming.
async function roundAfterDeadPath(athlete: Page, exercise: string, testInfo: TestInfo, label: string, resumedAt?: number) {
  await expect(athlete.getByTestId("released-round")).toContainText(exercise, { timeout: 15_000 });
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  const log = await indicatorLog(athlete);
  const shownAt: number = await athlete.evaluate(() => (window as any).__roundShownAt);
  const down = log.find(([at, text]) => !text.startsWith("Live") && (resumedAt === undefined || at >= resumedAt - 100));
  if (!down && resumedAt !== undefined) {
    report(testInfo, `${label}: resumed to the round on screen`, shownAt - resumedAt);
    expect(shownAt - resumedAt, "the round is on screen within 2 s of resuming").toBeLessThan(2000);
    return;
  }
  expect(down, "the page left Live while its path was dead").toBeTruthy();
  const backAt = log.find(([at, text]) => at > down![0] && text.startsWith("Live"))![0];
  report(testInfo, `${label}: new path Live to the round on screen`, shownAt - backAt);
  // The round comes with the snapshot that makes the link Live: never
  // Live first and the data later.
  expect(shownAt - backAt, "the round is on screen within 1 s of Live").toBeLessThan(1000);
}

test("a path that black-holes the socket and every pooled HTTP connection: the round released meanwhile is on screen when the page is Live again", async ({ browser, baseURL, problems }, testInfo) => {
  const proxy = await pathProxy(baseURL!);
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems, proxy.url);
  await joinedSession(trainer, athlete, named("Bea Blackhole"), named("Cal Cellular"));
  await markWindow(athlete);
  await watchPage(athlete);
  proxy.blackHole();
  await releaseRound(trainer, 1, "Farmer carry");
  await roundAfterDeadPath(athlete, "Farmer carry", testInfo, "black-holed path");
  expect(await loadings(athlete), "no Loading after the first paint").toBe(0);
  await windowWasNotReloaded(athlete);
  await close();
  await proxy.close();
});

test("the same with the page paused in the debugger while its path dies", async ({ browser, baseURL, problems }, testInfo) => {
  const proxy = await pathProxy(baseURL!);
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems, proxy.url);
  await joinedSession(trainer, athlete, named("Pam Pause"), named("Rex Rest"));
  await watchPage(athlete);
  const cdp = await athlete.context().newCDPSession(athlete);
  await cdp.send("Debugger.enable");
  await cdp.send("Debugger.pause");
  proxy.blackHole();
  await releaseRound(trainer, 1, "Sled push");
  await trainer.waitForTimeout(4000);
  const resumedAt = Date.now();
  await cdp.send("Debugger.resume");
  await cdp.send("Debugger.disable");
  await roundAfterDeadPath(athlete, "Sled push", testInfo, "paused page, black-holed path", resumedAt);
  expect(await loadings(athlete)).toBe(0);
  await close();
  await proxy.close();
});

/// Logs a set from "another device" of the athlete (the phone context's
/// cookies, not its page): a set that lands on the page from outside.
async function logSetElsewhere(athlete: Page, session: string, round: string, exercise: number, set: number, reps = "5") {
  const response = await athlete.context().request.post("/api/sets/log", {
    form: { session_id: session, round_id: round, revision: await revision(athlete), exercise: String(exercise), set: String(set), reps, load: "", rpe: "" },
  });
  expect(response.status()).toBe(200);
}

async function revision(athlete: Page) {
  return athlete.getByTestId("released-round").locator("input[name=revision]").first().inputValue();
}

async function roundId(athlete: Page) {
  return athlete.getByTestId("released-round").locator("input[name=round_id]").first().inputValue();
}

test("no live update shows Loading or moves the phone, and what the trainer types stays as typed", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const id = await joinedSession(trainer, athlete, named("Sol Scroll"), named("Tia Thumb"));
  // A long round on the phone: three exercises of three sets with notes.
  // (Each save adds a spare row for the next exercise.)
  for (const [row, name] of ["Back squat", "Bench press", "Deadlift"].entries()) {
    await fillExercise(trainer, row, { Exercise: name, Sets: "3", Reps: "5", Load: "100", Unit: "kg", Notes: `${name}: brace, then move` });
    await trainer.getByRole("button", { name: "Save draft" }).click();
    await expect(trainer.getByTestId(`exercise-row-${row + 1}`)).toHaveCount(1);
  }
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(athlete.getByTestId("released-round")).toContainText("Deadlift");
  await watchPage(athlete);
  await watchPage(trainer);
  await markWindow(athlete);
  await markWindow(trainer);
  const round = await roundId(athlete);

  // The phone scrolled to the third set of the first exercise, in the
  // round's list (opened).
  await allSets(athlete);
  const third = athlete.getByTestId("set-0-3");
  await third.evaluate((el) => el.scrollIntoView({ block: "center" }));
  const scrollY = () => athlete.evaluate(() => window.scrollY);
  const at = await scrollY();
  expect(at, "the phone is scrolled down").toBeGreaterThan(300);

  // The trainer edits the round (a note further down changes).
  await trainer.getByText("Edit round 1", { exact: true }).click();
  const edit = trainer.getByTestId("round-builder").first();
  await edit.getByTestId("exercise-row-2").getByLabel("Notes for the athlete").fill("Deadlift: hinge first");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect(athlete.getByTestId("released-round")).toContainText("Deadlift: hinge first");
  expect(await scrollY(), "the trainer's edit does not move the phone").toBe(at);

  // A set lands from elsewhere (the athlete's other device).
  await logSetElsewhere(athlete, id, round, 0, 1);
  await expect(athlete.getByTestId("set-0-1").getByTestId("set-done")).toBeVisible();
  expect(await scrollY(), "a set landing does not move the phone").toBe(at);

  // The athlete's own "Set done" on the set in view: neither the page
  // nor the row moves (the row itself grows by its "✓" line, below its
  // button).
  const top = () => third.evaluate((el) => Math.round(el.getBoundingClientRect().top));
  const rowAt = await top();
  await third.getByRole("button", { name: "Set done" }).click();
  await expect(third.getByTestId("set-done")).toBeVisible();
  await expect(trainer.getByTestId("progress-0").getByTestId("set-count")).toHaveText("2 of 3 sets done");
  await expect(third.getByTestId("outbox-status")).toHaveText("Sent");
  expect(await scrollY(), "the athlete's own Set done does not move the phone").toBe(at);
  expect(await top(), "nor the row that was tapped").toBe(rowAt);

  // The trainer types the next round's notes, a key every 100 ms, while
  // three sets and a pain report land.
  await trainer.getByText("Next round", { exact: true }).click();
  const notes = trainer.getByTestId("round-builder").last().getByTestId("exercise-row-0").getByLabel("Notes for the athlete");
  await notes.click();
  const text = "Keep the bar path over midfoot";
  const typing = notes.pressSequentially(text, { delay: 100 });
  for (const [exercise, set] of [[1, 1], [1, 2], [2, 1]]) await logSetElsewhere(athlete, id, round, exercise, set);
  const pain = await athlete.context().request.post("/api/pain/report", {
    form: { session_id: id, round_id: round, exercise: "1", set: "2", note: "Left shoulder" },
  });
  expect(pain.status()).toBe(200);
  await expect(trainer.getByTestId("pain-alert")).toContainText("Left shoulder");
  await typing;
  await expect(trainer.getByTestId("progress-1").getByTestId("set-count")).toHaveText("2 of 3 sets done");
  await expect(notes).toHaveValue(text);
  const caret = await notes.evaluate((el: HTMLTextAreaElement) => [document.activeElement === el, el.selectionStart, el.selectionEnd]);
  expect(caret, "focus and caret where the trainer left them").toEqual([true, text.length, text.length]);

  // More of the session: the trainer marks the pain seen, three more sets
  // land; what the phone shows stays where it was.
  await athlete.evaluate(() => ((window as any).__scrollAfterPain = window.scrollY));
  await trainer.getByTestId("pain-alert").getByRole("button", { name: "Seen" }).click();
  await expect(trainer.getByTestId("pain-alert")).toHaveCount(0);
  for (const [exercise, set] of [[2, 2], [2, 3]]) await logSetElsewhere(athlete, id, round, exercise, set);
  await expect(trainer.getByTestId("progress-2").getByTestId("set-count")).toHaveText("3 of 3 sets done");
  expect(await top(), "sets landing below do not move the set in view").toBe(rowAt);
  // A set in view, just above the one the athlete looks at, gains its
  // "✓" line: the row below moves by that line, and by nothing more.
  const above = athlete.getByTestId("set-0-2");
  const height = () => above.evaluate((el) => el.getBoundingClientRect().height);
  const exactTop = () => third.evaluate((el) => el.getBoundingClientRect().top);
  const [before, topBefore] = [await height(), await exactTop()];
  await logSetElsewhere(athlete, id, round, 0, 2);
  await expect(above.getByTestId("set-done")).toBeVisible();
  const grew = (await height()) - before;
  expect(grew, "the row above gained its ✓ line").toBeGreaterThan(0);
  expect(Math.abs((await exactTop()) - topBefore - grew), "only the row that changed grows").toBeLessThan(0.5);
  expect(await scrollY(), "the page is not scrolled").toBe(await athlete.evaluate(() => (window as any).__scrollAfterPain));
  // The last set of the middle exercise, and a correction (6 reps, not 5)
  // of one further down.
  await logSetElsewhere(athlete, id, round, 1, 3);
  await logSetElsewhere(athlete, id, round, 2, 1, "6");
  await expect(trainer.getByTestId("progress-1").getByTestId("set-count")).toHaveText("3 of 3 sets done");
  await expect(athlete.getByTestId("set-2-1")).toContainText("6");
  expect(Math.abs((await exactTop()) - topBefore - grew), "nor do the sets below").toBeLessThan(0.5);
  await expect(notes).toHaveValue(text);

  const kinds = await eventKinds(trainer, id);
  report(testInfo, "events in the session", kinds.length, "events");
  expect(kinds.length).toBeGreaterThanOrEqual(20);
  const [phoneLoadings, laptopLoadings] = [await loadings(athlete), await loadings(trainer)];
  report(testInfo, "Loading states after the first paint (phone + laptop)", phoneLoadings + laptopLoadings, "");
  expect(phoneLoadings, "phone: no Loading after the first paint").toBe(0);
  expect(laptopLoadings, "laptop: no Loading after the first paint").toBe(0);
  await windowWasNotReloaded(athlete);
  await windowWasNotReloaded(trainer);
  await close();
});

/// The failures a dead or refused path makes the browser log.
const networkNoise = (who: string) => (p: string) =>
  p.startsWith(`${who} `) && /ERR_CONNECTION_RESET|ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_CLOSED|ERR_SOCKET_NOT_CONNECTED|ERR_FAILED|ERR_TIMED_OUT|ERR_ABORTED|WebSocket|EventSource|signal is aborted|Failed to load resource/.test(p);

/// A released two-set Lunge round on both pages.
async function lungeRound(trainer: Page, athlete: Page) {
  await fillExercise(trainer, 0, { Exercise: "Lunge", Sets: "2", Reps: "8" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(trainer.getByTestId("released-round")).toContainText("Lunge");
  await expect(athlete.getByTestId("released-round")).toContainText("Lunge");
}

test("a Set done during a 20 s outage: the page leaves Live when the send fails, and the set lands once afterwards", async ({ browser, baseURL, problems }, testInfo) => {
  test.setTimeout(120_000);
  const proxy = await pathProxy(baseURL!);
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems, proxy.url);
  // When the phone's WebSockets close (a send over one fails with it).
  const socketClosedAt: number[] = [];
  athlete.on("websocket", (ws) => ws.on("close", () => socketClosedAt.push(Date.now())));
  const id = await joinedSession(trainer, athlete, named("Oda Outage"), named("Pip Phone"));
  await lungeRound(trainer, athlete);
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  await watchPage(athlete);
  // Once the page has left Live, it must not say Live again while the
  // set still waits on the phone.
  await athlete.evaluate(() => {
    const w = window as any;
    w.__left = false;
    w.__liveWhileUnsent = 0;
    new MutationObserver(() => {
      const status = document.querySelector("[data-testid=live-status]")?.textContent;
      const saved = document.querySelector("[data-testid=outbox-status]")?.textContent?.startsWith("Saved on this phone");
      if (status !== "Live") w.__left = true;
      else if (w.__left && saved) w.__liveWhileUnsent += 1;
    }).observe(document.body, { childList: true, characterData: true, subtree: true });
  });
  // Everything open goes silent (the page still says Live: nothing told
  // it), new connections are refused; the athlete taps at once.
  proxy.down();
  const outageAt = Date.now();
  await setDoneNow(athlete).click();
  // The set waits on the phone at once; the send, on the dead socket,
  // fails when the link gives that socket up (no heartbeat for 2.5
  // intervals): then, and not later, the page leaves Live.
  await expect(athlete.getByTestId("outbox-status")).toContainText("Saved on this phone");
  await expect(athlete.getByTestId("live-status")).not.toHaveText("Live", { timeout: 5000 });
  const notLiveAt = Date.now();
  report(testInfo, "tap on a dead path to not Live", notLiveAt - outageAt);
  // (Playwright hears of the close on its own channel: maybe a moment
  // after the page's status changed.)
  await expect.poll(() => socketClosedAt.some((at) => at >= outageAt), { message: "the socket the send was on was given up", timeout: 5000 }).toBe(true);
  const failedAt = socketClosedAt.find((at) => at >= outageAt);
  report(testInfo, "failed send to not Live", Math.max(0, notLiveAt - failedAt!));
  expect(notLiveAt - failedAt!, "not Live within 2 s of the failed send").toBeLessThan(2000);
  // Down until 20 s after the outage began.
  await trainer.waitForTimeout(Math.max(0, 20_000 - (Date.now() - outageAt)));
  proxy.up();
  const upAt = Date.now();
  await expect(athlete.getByTestId("set-0-1").getByTestId("set-done")).toHaveText(/^✓/, { timeout: 60_000 });
  report(testInfo, "outage over to the set on screen", Date.now() - upAt);
  await expect(trainer.getByTestId("progress-0").getByTestId("set-count")).toHaveText("1 of 2 sets done");
  await expect(athlete.getByTestId("live-status")).toHaveText("Live", { timeout: 15_000 });
  expect((await eventKinds(trainer, id)).filter((k) => k === "set-logged")).toHaveLength(1);
  expect(await athlete.evaluate(() => (window as any).__liveWhileUnsent), "never Live again while the set waited").toBe(0);
  // The failures during the outage are what this test is about.
  problems.splice(0, problems.length, ...problems.filter((p) => !networkNoise("athlete")(p)));
  await close();
  await proxy.close();
});

test("plain HTTP dies and the live socket does not: Set done goes over the live connection and lands at once", async ({ browser, baseURL, problems }, testInfo) => {
  const proxy = await pathProxy(baseURL!);
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems, proxy.url);
  const id = await joinedSession(trainer, athlete, named("Hal Http"), named("Ivy Inbox"));
  await lungeRound(trainer, athlete);
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  // Every open HTTP connection goes silent, and every new one at its
  // first request: only the WebSocket still carries anything.
  proxy.httpDown();
  const tappedAt = Date.now();
  await setDoneNow(athlete).click();
  await expect(trainer.getByTestId("progress-0").getByTestId("set-count")).toHaveText("1 of 2 sets done", { timeout: 5000 });
  await expect(athlete.getByTestId("set-0-1").getByTestId("set-done")).toHaveText(/^✓/);
  report(testInfo, "tap to the set on the trainer's screen, HTTP dead", Date.now() - tappedAt);
  await expect(athlete.getByTestId("outbox-status").filter({ hasText: "Saved on this phone" })).toHaveCount(0);
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  proxy.up();
  expect((await eventKinds(trainer, id)).filter((k) => k === "set-logged")).toHaveLength(1);
  await close();
  await proxy.close();
});

test("the trainer's Release on a black-holed path goes again over the fresh connection: released once, no second click", async ({ browser, baseURL, problems }, testInfo) => {
  test.setTimeout(90_000);
  const proxy = await pathProxy(baseURL!);
  // The laptop behind the proxy this time; the phone direct.
  const { trainer, athlete, close } = await trainerAndAthlete(browser, proxy.url, problems, baseURL);
  const id = await joinedSession(trainer, athlete, named("Lou Laptop"), named("Max Mobile"));
  await fillExercise(trainer, 0, { Exercise: "Rowing", Reps: "10" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  const release = trainer.getByRole("button", { name: "Release round 1" });
  await expect(release).toBeVisible();
  await expect(trainer.getByTestId("live-status")).toHaveText("Live");
  proxy.blackHole();
  const clickedAt = Date.now();
  await release.click();
  await expect(athlete.getByTestId("released-round")).toContainText("Rowing", { timeout: 30_000 });
  report(testInfo, "Release on a dead path to the round on the phone", Date.now() - clickedAt);
  await expect(trainer.getByTestId("released-round")).toContainText("Rowing", { timeout: 15_000 });
  await expect(trainer.getByTestId("live-status")).toHaveText("Live", { timeout: 15_000 });
  await expect(trainer.locator(".form-error, .field-error").filter({ hasText: /\S/ }), "no error shown").toHaveCount(0);
  expect((await eventKinds(athlete, id)).filter((k) => k === "round-released")).toHaveLength(1);
  problems.splice(0, problems.length, ...problems.filter((p) => !networkNoise("trainer")(p)));
  await close();
  await proxy.close();
});
