import { test, expect, hydrated, register, logOut, named, fillExercise, uniqueEmail, password, watch } from "./fixtures";

test("without JavaScript an athlete starts a session, sees the release after a reload and completes the round", async ({ browser, baseURL, problems }) => {
  const laptop = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
  const plain = await browser.newContext({ baseURL, javaScriptEnabled: false });
  const trainer = await laptop.newPage();
  const athlete = await plain.newPage();
  watch(trainer, "trainer", problems);
  watch(athlete, "athlete", problems, [], { javaScriptDisabled: true });
  const coach = named("Nora NoJs");
  const runner = named("Paul Plain");
  await register(trainer, coach, "trainer");

  // Every step below is a plain form POST and a redirect.
  await athlete.goto("/register");
  await athlete.getByLabel("Your name").fill(runner);
  await athlete.getByLabel("Email").fill(uniqueEmail("plain"));
  await athlete.getByLabel("Password").fill(password);
  await athlete.getByLabel("an athlete").check();
  await athlete.getByRole("button", { name: "Create account" }).click();
  await expect(athlete).toHaveURL(/\/dashboard$/);
  await athlete.getByLabel("Trainer").selectOption({ label: coach });
  await athlete.getByRole("button", { name: "Start session" }).click();
  await expect(athlete).toHaveURL(/\/sessions\/\d+$/);
  await expect(athlete.getByTestId("session-status")).toHaveText("Waiting for the trainer");

  await trainer.goto("/dashboard");
  await hydrated(trainer);
  await trainer.getByRole("button", { name: `Join ${runner}` }).click();
  await hydrated(trainer);
  await fillExercise(trainer, 0, { Exercise: "Step-up", Reps: "10" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(trainer.getByTestId("released-round")).toBeVisible();

  await athlete.reload();
  await expect(athlete.getByTestId("released-round")).toContainText("Step-up");
  // The page's <noscript> image recorded the receipt as it loaded.
  await expect(trainer.getByTestId("opened")).toHaveText(new RegExp(`^${runner} opened round 1 at \\S`));
  // A set logged with a plain POST: back on the page with it marked done,
  // and the trainer's page shows it live.
  const set = athlete.getByTestId("now-set");
  await set.getByLabel("Reps").fill("9");
  await set.getByRole("button", { name: "Set done" }).click();
  await expect(athlete.getByTestId("set-0-1").getByTestId("set-done")).toHaveText("✓ 9 reps");
  await expect(athlete.getByTestId("now")).toHaveText("All sets done. Tell your trainer how it went below.");
  await expect(athlete.getByTestId("sets-0").getByTestId("set-count")).toHaveText("1 of 1 set done");
  await expect(trainer.getByTestId("progress-0").getByTestId("logged-0-1")).toContainText("9 reps");
  // (A refused plain POST coming back with its message is covered by the
  // integration tests: the browser's own checks of min/max/step stop bad
  // numbers before they are sent.)
  // Pain reported with a plain POST: the trainer's page alerts live.
  // (The round's list opens without JavaScript too: a <details>.)
  await athlete.getByTestId("round-sets").locator(":scope > summary").click();
  const pain = athlete.getByTestId("pain-0");
  await pain.getByText("Report pain").click();
  await pain.getByLabel("What hurts? (optional)").fill("Right ankle");
  await pain.getByRole("button", { name: "Tell my trainer" }).click();
  await expect(athlete.getByTestId("pain-status")).toContainText("You reported pain in round 1: Step-up: “Right ankle” — waiting for");
  await expect(trainer.getByTestId("pain-alert")).toContainText("Step-up: “Right ankle”");
  // A message with a plain POST: back on the page with it in the thread,
  // and on the trainer's page live.
  await athlete.getByTestId("thread").getByLabel("Message", { exact: true }).fill("Ankle is fine now");
  await athlete.getByTestId("thread").getByRole("button", { name: "Send", exact: true }).click();
  await expect(athlete.getByTestId("thread").getByTestId("message")).toContainText(["Ankle is fine now"]);
  await expect(trainer.getByTestId("thread").getByTestId("message")).toContainText(["Ankle is fine now"]);
  await athlete.getByTestId("feedback-0").getByLabel("RPE (0–10)").fill("7.5");
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(athlete.getByTestId("completed-round-1")).toContainText("7.5");
  await expect(trainer.getByTestId("completed-round-1")).toContainText("7.5");
  // The pain is part of the round's record, on both pages.
  await expect(athlete.getByTestId("completed-round-1").getByTestId("pain-cell")).toHaveText("⚠ “Right ankle”");
  await expect(trainer.getByTestId("completed-round-1").getByTestId("pain-cell")).toHaveText("⚠ “Right ankle”");

  // The trainer without JavaScript too (same account, a plain browser):
  // "Seen" and "Repeat round 1" are plain POSTs back to the page.
  const plainLaptop = await browser.newContext({ baseURL, javaScriptEnabled: false, storageState: await laptop.storageState() });
  const desk = await plainLaptop.newPage();
  watch(desk, "trainer without JavaScript", problems, [], { javaScriptDisabled: true });
  await desk.goto(trainer.url());
  await desk.getByTestId("pain-alert").getByRole("button", { name: "Seen" }).click();
  await expect(desk.getByTestId("pain-alert")).toHaveCount(0);
  await athlete.reload();
  await expect(athlete.getByTestId("pain-status")).toContainText(`${coach} saw it ✓`);
  await desk.getByTestId("repeat-1").click();
  const row = desk.getByTestId("exercise-row-0").first();
  await expect(row.getByLabel("Exercise", { exact: true })).toHaveValue("Step-up");
  await expect(row.getByLabel("Reps", { exact: true })).toHaveValue("10");
  await expect(row.getByTestId("last-done")).toHaveText("Last time: Round 1: 9 reps");
  await desk.getByRole("button", { name: "Release round 2" }).click();
  await athlete.reload();
  await expect(athlete.getByTestId("released-round")).toContainText("Round 2");
  await expect(athlete.getByTestId("released-round")).toContainText("Step-up");
  await laptop.close();
  await plainLaptop.close();
  await plain.close();
});

test("a third person opening the session gets the 403 page and never a live connection", async ({ browser, baseURL, problems }) => {
  const owner = await browser.newContext({ baseURL });
  const other = await browser.newContext({ baseURL });
  const athlete = await owner.newPage();
  const stranger = await other.newPage();
  watch(athlete, "athlete", problems);
  watch(stranger, "stranger", problems, [403]);
  const coach = named("Tess Trainer");
  const trainerPage = await owner.newPage();
  watch(trainerPage, "trainer", problems);
  await register(trainerPage, coach, "trainer");
  await logOut(trainerPage);
  await register(athlete, named("Ann Owner"), "athlete");
  await athlete.getByLabel("Trainer").selectOption({ label: coach });
  await athlete.getByRole("button", { name: "Start session" }).click();
  await expect(athlete).toHaveURL(/\/sessions\/\d+$/);
  const id = athlete.url().split("/").pop();

  await register(stranger, named("Sid Stranger"), "athlete");
  const sockets: string[] = [];
  stranger.on("websocket", (ws) => sockets.push(ws.url()));
  const response = await stranger.goto(`/sessions/${id}`);
  expect(response?.status()).toBe(403);
  await hydrated(stranger);
  await expect(stranger.getByTestId("session-error")).toContainText("Not your session");
  await expect(stranger.locator("body")).not.toContainText(coach);
  // Let the page run its effects once more: a live link would open now.
  await stranger.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
  expect(sockets.filter((url) => url.includes(`/sessions/${id}/`)), "no live connection to the session").toEqual([]);
  await owner.close();
  await other.close();
});
