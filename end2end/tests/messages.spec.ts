import { test, expect, trainerAndAthlete, joinedSession, named, releaseRound, eventKinds, markWindow, windowWasNotReloaded, fillExercise, hydrated, recordVibrations, report, setDoneNow } from "./fixtures";

test("messages go both ways live, a quick reply is one tap, and a message sent offline waits in order behind a set", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, phone, close } = await trainerAndAthlete(browser, baseURL, problems);
  const coach = named("Tess Talk");
  const id = await joinedSession(trainer, athlete, coach, named("Abe Answer"));
  await releaseRound(trainer, 1, "Goblet squat");
  await markWindow(trainer);
  await markWindow(athlete);
  const send = (page: typeof trainer) => page.getByTestId("thread").getByRole("button", { name: "Send", exact: true });

  // The trainer writes; the phone shows it at once, with the trainer's name.
  await trainer.getByTestId("thread").getByLabel("Message", { exact: true }).fill("Drop to 90 kg for the last set");
  const onPhone = athlete.getByTestId("thread").getByTestId("message");
  const arrives = athlete.waitForFunction(() => document.querySelectorAll("[data-testid=thread] [data-testid=message]").length >= 1, null, { polling: "raf" });
  let tapped = Date.now();
  await send(trainer).click();
  await arrives;
  report(testInfo, "message, laptop's tap to the phone's screen", Date.now() - tapped);
  await expect(onPhone).toHaveCount(1);
  await expect(onPhone.first()).toContainText(coach);
  await expect(onPhone.first()).toContainText("Drop to 90 kg for the last set");
  await expect(trainer.getByTestId("thread").getByTestId("message").first()).toContainText("You");
  // The box is empty again, ready for the next one.
  await expect(trainer.getByTestId("thread").getByLabel("Message", { exact: true })).toHaveValue("");

  // One tap on the phone, no keyboard.
  const lands = trainer.waitForFunction(() => document.querySelectorAll("[data-testid=thread] [data-testid=message]").length >= 2, null, { polling: "raf" });
  tapped = Date.now();
  await athlete.getByTestId("quick-replies").getByRole("button", { name: "Need more rest" }).click();
  await lands;
  report(testInfo, "quick reply, phone's tap to the laptop's screen", Date.now() - tapped);
  const onLaptop = trainer.getByTestId("thread").getByTestId("message");
  await expect(onLaptop).toHaveCount(2);
  await expect(onLaptop.nth(1)).toContainText("Need more rest");

  // Markup is text: shown as typed, never run or rendered.
  await athlete.getByTestId("thread").getByLabel("Message", { exact: true }).fill("<b>bold</b> <img src=x onerror=alert(1)>");
  await send(athlete).click();
  await expect(onLaptop).toHaveCount(3);
  await expect(onLaptop.nth(2).locator(".message-body")).toHaveText("<b>bold</b> <img src=x onerror=alert(1)>");
  await expect(onLaptop.nth(2).locator("b, img")).toHaveCount(0);

  // No network: a set, then a message; both wait on the phone, in order.
  await phone.setOffline(true);
  await expect(athlete.getByTestId("live-status")).toHaveText("Offline");
  await setDoneNow(athlete).click();
  await athlete.getByTestId("thread").getByLabel("Message", { exact: true }).fill("Knee feels odd, swap?");
  await send(athlete).click();
  await expect(athlete.getByTestId("outbox-status")).toHaveText("Saved on this phone, sends when you are back online");
  await expect(onLaptop).toHaveCount(3);
  await phone.setOffline(false);
  await expect(onLaptop).toHaveCount(4, { timeout: 15000 });
  await expect(onLaptop.nth(3)).toContainText("Knee feels odd, swap?");
  await expect(athlete.getByTestId("outbox-status")).toHaveText("Sent");
  const kinds = await eventKinds(athlete, id);
  expect(kinds.filter((k) => k === "message-sent")).toHaveLength(4);
  expect(kinds.indexOf("set-logged")).toBeLessThan(kinds.lastIndexOf("message-sent"));
  await windowWasNotReloaded(trainer);
  await windowWasNotReloaded(athlete);

  // After the session the thread stays, read-only, and is in the history.
  await trainer.getByText("Cancel this session").click();
  await trainer.getByRole("button", { name: "Cancel session" }).click();
  await athlete.goto(`/sessions/${id}/history`);
  await expect(athlete.getByTestId("history-message")).toHaveCount(4);
  await expect(athlete.getByTestId("history-message").first()).toContainText("Drop to 90 kg for the last set");
  await athlete.goto(`/sessions/${id}`);
  await expect(athlete.getByTestId("thread").getByTestId("message")).toHaveCount(4);
  await expect(athlete.getByTestId("thread").getByLabel("Message", { exact: true })).toHaveCount(0);
  const expected = (p: string) =>
    (/sets\/log|messages\/send/.test(p) || /console error: Failed to load resource/.test(p)) && /ERR_INTERNET_DISCONNECTED/.test(p);
  problems.splice(0, problems.length, ...problems.filter((p) => !expected(p)));
  await close();
});

test("'typing…' shows on the other side at the first key, goes when the message lands or a few seconds after the last key, and never about someone whose link is down", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, phone, close } = await trainerAndAthlete(browser, baseURL, problems);
  const coach = named("Tara Typist");
  const runner = named("Adam Athlete");
  const id = await joinedSession(trainer, athlete, coach, runner);
  await expect(trainer.getByTestId("presence")).toHaveText(`${runner} is here`);
  await expect(athlete.getByTestId("presence")).toHaveText(`${coach} is here`);
  const box = (page: typeof trainer) => page.getByTestId("thread").getByLabel("Message", { exact: true });
  const typingOn = (page: typeof trainer) => page.getByTestId("thread").getByTestId("typing");
  const shows = (page: typeof trainer, text: string, timeout = 2500) =>
    page.waitForFunction((t) => document.querySelector("[data-testid=typing]")?.textContent === t, text, { polling: "raf", timeout });
  await expect(typingOn(trainer)).toHaveText("");

  // The first key on the phone: the laptop says so at once.
  let started = Date.now();
  await box(athlete).press("R");
  await shows(trainer, `${runner} is typing…`);
  report(testInfo, "typing to indicator", Date.now() - started);
  // Never on the typist's own page.
  await expect(typingOn(athlete)).toHaveText("");

  // Sent: the message is on the laptop and the indicator gone, in the
  // same moment.
  await box(athlete).pressSequentially("eady");
  await athlete.getByTestId("thread").getByRole("button", { name: "Send", exact: true }).click();
  // (waitForFunction waits for a truthy answer: an object.)
  const landed = await trainer.waitForFunction(
    () => {
      if (document.querySelectorAll("[data-testid=thread] [data-testid=message]").length < 1) return null;
      return { typing: document.querySelector("[data-testid=typing]")?.textContent ?? "" };
    },
    null,
    { polling: "raf" },
  );
  expect(await landed.jsonValue(), "no 'typing…' once the message is there").toEqual({ typing: "" });

  // One key, then nothing: gone a few seconds later.
  await box(trainer).press("O");
  await shows(athlete, `${coach} is typing…`);
  started = Date.now();
  await shows(athlete, "", 5000);
  report(testInfo, "typing indicator gone after the last key", Date.now() - started);

  // The phone types, then loses its network: the laptop stops saying it
  // is typing when the phone's link is gone, not when a timer runs out.
  await box(athlete).press("K");
  await shows(trainer, `${runner} is typing…`);
  await phone.setOffline(true);
  const whenAway = await trainer.waitForFunction(
    (away) => {
      if (document.querySelector("[data-testid=presence]")?.textContent !== away) return null;
      return { typing: document.querySelector("[data-testid=typing]")?.textContent ?? "" };
    },
    `${runner} is away`,
    { polling: "raf", timeout: 10000 },
  );
  expect(await whenAway.jsonValue(), "no 'typing…' about someone away").toEqual({ typing: "" });
  await phone.setOffline(false);
  await expect(athlete.getByTestId("live-status")).toHaveText("Live", { timeout: 15000 });
  // What was typed is still in the boxes.
  await expect(box(athlete)).toHaveValue("K");
  await expect(box(trainer)).toHaveValue("O");
  const kinds = await eventKinds(trainer, id);
  expect(kinds.filter((k) => k === "message-sent")).toHaveLength(1);
  problems.splice(0, problems.length, ...problems.filter((p) => !/ERR_INTERNET_DISCONNECTED/.test(p)));
  await close();
});

test("a long thread shows the newest 50; 'Show older messages' puts the rest above without moving what is on screen, each once", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const id = await joinedSession(trainer, athlete, named("Pia Paging"), named("Otto Older"));
  // 60 messages from the trainer while the phone watches.
  const write = (from: number, to: number) =>
    trainer.evaluate(
      async ([id, from, to]) => {
        for (let n = from; n <= to; n++) {
          const body = new URLSearchParams({ session_id: String(id), body: `note ${n}` });
          const response = await fetch("/api/messages/send", { method: "POST", body });
          if (!response.ok) throw new Error(`message ${n}: ${response.status}`);
        }
      },
      [Number(id), from, to],
    );
  await write(1, 60);
  const bodies = athlete.locator("[data-testid=thread] .message-body");
  await expect(bodies).toHaveCount(50);
  await expect(bodies.first()).toHaveText("note 11");
  const older = athlete.getByTestId("show-older");
  await older.scrollIntoViewIfNeeded();
  const note11 = bodies.filter({ hasText: /^note 11$/ });
  const before = (await note11.boundingBox())!;
  await older.click();
  await expect(bodies).toHaveCount(60);
  await athlete.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const after = (await note11.boundingBox())!;
  report(testInfo, "'Show older messages': the message on screen moved", Math.round(after.y - before.y), "px");
  expect(Math.abs(after.y - before.y), "what was on screen stays where it was").toBeLessThan(2);
  // Ten were older: nothing before them, so no more button.
  await expect(older).toHaveCount(0);
  const expected = Array.from({ length: 60 }, (_, i) => `note ${i + 1}`);
  expect(await bodies.allTextContents()).toEqual(expected);
  // New messages keep coming in below; nothing shown goes.
  await write(61, 62);
  await expect(bodies).toHaveCount(62);
  expect(await bodies.allTextContents()).toEqual([...expected, "note 61", "note 62"]);
  // The history has the whole thread.
  await athlete.goto(`/sessions/${id}/history`);
  await expect(athlete.getByTestId("history-message")).toHaveCount(62);
  await close();
});

test("receipts: 'opened round 1' only once the round was on the phone's screen, 'Seen' under the message read; unread in a background tab's title and on the dashboard, live", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, phone, close } = await trainerAndAthlete(browser, baseURL, problems);
  await recordVibrations(athlete);
  const runner = named("Andy Reader");
  const id = await joinedSession(trainer, athlete, named("Tina Receipt"), runner);
  const box = trainer.getByTestId("thread").getByLabel("Message", { exact: true });
  const say = async (text: string) => {
    await box.fill(text);
    await trainer.getByTestId("thread").getByRole("button", { name: "Send", exact: true }).click();
    await expect(trainer.getByTestId("thread").getByTestId("message").filter({ hasText: text })).toHaveCount(1);
  };
  // A thread long enough that the phone's screen holds either the round's
  // heading or the end of the thread, not both.
  for (let n = 1; n <= 8; n++) await say(`warm-up note ${n}`);
  const heading = athlete.getByTestId("released-round").getByRole("heading", { level: 2 });
  const inView = (locator: typeof heading) =>
    locator.evaluate((e) => {
      const r = e.getBoundingClientRect();
      return r.bottom > 0 && r.top < window.innerHeight;
    });

  // The phone is at the end of the thread when the round is released.
  await athlete.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await fillExercise(trainer, 0, { Exercise: "Goblet squat", Reps: "10" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(heading).toHaveText("Round 1");
  expect(await inView(heading), "the phone still shows the end of the thread").toBe(false);
  const opened = trainer.getByTestId("opened");
  await expect(opened).toHaveText(`${runner} has not opened round 1 yet`);
  await athlete.waitForTimeout(1500);
  await expect(opened, "nothing the phone has not shown").toHaveText(`${runner} has not opened round 1 yet`);
  // Up to the round: the laptop says so.
  let started = Date.now();
  await heading.scrollIntoViewIfNeeded();
  await expect(opened).toHaveText(new RegExp(`^${runner} opened round 1 at \\S`));
  report(testInfo, "round on the phone's screen to 'opened' on the laptop", Date.now() - started);

  // The messages were read when the phone had them on screen.
  await athlete.getByTestId("thread").getByTestId("message").last().scrollIntoViewIfNeeded();
  const seen = trainer.getByTestId("thread").getByTestId("seen");
  await expect(seen).toHaveCount(1);
  await expect(trainer.getByTestId("thread").getByTestId("message").last().getByTestId("seen")).toHaveText(/^Seen \S/);

  // Everything read so far: the title says nothing unread.
  await expect.poll(() => athlete.title()).toBe("Session · spotter");
  // The phone switches to its dashboard in another tab: the session's tab
  // is in the background. (Headless Chromium keeps every tab "visible":
  // the page is told it is hidden the way a browser tells it, with the
  // document's visibilityState and a visibilitychange event.)
  const dashboard = await phone.newPage();
  await dashboard.goto("/dashboard");
  await hydrated(dashboard);
  await dashboard.bringToFront();
  const setHidden = (hidden: boolean) =>
    athlete.evaluate((hidden) => {
      Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
      Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    }, hidden);
  await setHidden(true);
  const buzzed = (await athlete.evaluate(() => (window as any).__buzz)).length;
  await expect.poll(() => athlete.evaluate(() => document.visibilityState)).toBe("hidden");
  started = Date.now();
  await say("Drop to 90 kg for the last set");
  await say("And slow on the way down");
  await expect.poll(() => athlete.title()).toBe("(2) spotter");
  report(testInfo, "messages to '(2) spotter' in the background tab", Date.now() - started);
  await expect(dashboard.getByTestId("active").getByTestId("unread")).toHaveText("2 unread messages");
  expect((await athlete.evaluate(() => (window as any).__buzz)).slice(buzzed), "one vibration for the burst").toEqual([400]);
  // Not read while in the background.
  await athlete.waitForTimeout(1000);
  await expect(trainer.getByTestId("thread").getByTestId("message").last().getByTestId("seen")).toHaveCount(0);
  // Back to the session's tab, the messages on screen: read.
  await athlete.bringToFront();
  await setHidden(false);
  await athlete.getByTestId("thread").getByTestId("message").last().scrollIntoViewIfNeeded();
  await expect(trainer.getByTestId("thread").getByTestId("message").last().getByTestId("seen")).toHaveText(/^Seen \S/);
  await expect.poll(() => athlete.title()).toBe("Session · spotter");
  await expect(dashboard.getByTestId("active").getByTestId("unread")).toHaveCount(0);
  const kinds = await eventKinds(trainer, id);
  expect(kinds.filter((k) => k === "round-opened")).toHaveLength(1);
  expect(kinds.filter((k) => k === "messages-read").length).toBeGreaterThanOrEqual(2);
  await close();
});
