import { test, expect, hydrated, markWindow, startSession, windowWasNotReloaded, register, trainerAndAthlete, named, fillExercise, shot, joinedSession, watch, report } from "./fixtures";

test("every step reaches the other side without a reload", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const coach = named("Lena Live");
  const runner = named("Max Live");
  await register(trainer, coach, "trainer");
  await register(athlete, runner, "athlete");

  // 1. The trainer's dashboard is open before the athlete starts.
  await trainer.goto("/dashboard");
  await hydrated(trainer);
  await markWindow(trainer);
  await athlete.goto("/dashboard");
  await hydrated(athlete);
  await athlete.getByLabel("Trainer").selectOption({ label: coach });
  await athlete.getByRole("button", { name: "Start session" }).click();
  await expect(athlete).toHaveURL(/\/sessions\/\d+$/);
  const id = athlete.url().split("/").pop();
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  await markWindow(athlete);
  await expect(trainer.getByRole("button", { name: `Join ${runner}` })).toBeVisible({ timeout: 1000 });
  await windowWasNotReloaded(trainer);

  // 2. The trainer joins; the athlete's page shows it.
  await trainer.getByRole("button", { name: `Join ${runner}` }).click();
  await expect(trainer).toHaveURL(new RegExp(`/sessions/${id}/trainer$`));
  await expect(athlete.getByTestId("session-status")).toHaveText("In progress", { timeout: 1000 });
  await expect(trainer.getByTestId("live-status")).toHaveText("Live");
  await expect(trainer.getByTestId("presence")).toHaveText(`${runner} is here`);
  await expect(athlete.getByTestId("presence")).toHaveText(`${coach} is here`);

  // 3. Round 1: three exercises with different fields, released.
  await hydrated(trainer);
  await fillExercise(trainer, 0, { Exercise: "Back squat", Sets: "3", Reps: "8", Load: "80", Unit: "kg", "Rest (s)": "120" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await fillExercise(trainer, 1, { Exercise: "Plank", Sets: "3", "Duration (s)": "45" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await fillExercise(trainer, 2, { Exercise: "Pull-up", Reps: "6", Unit: "bodyweight", Notes: "Full hang" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(trainer.getByTestId("exercise-row-3")).toBeVisible();
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  const released = athlete.getByTestId("released-round");
  await expect(released.locator(".exercise")).toHaveText(
    [/Back squat.*3 × 8 · 80 kg · rest 2 min/, /Plank.*3 sets · 45 s/, /Pull-up.*6 reps · bodyweight.*Full hang/],
    { timeout: 1000 },
  );
  await windowWasNotReloaded(athlete);

  // The athlete starts typing; the trainer edits the round meanwhile: the
  // edit shows up and nothing typed is lost.
  await athlete.getByTestId("feedback-0").getByLabel("RPE (0–10)").fill("8.5");
  await trainer.getByText("Edit round 1", { exact: true }).click();
  const edit = trainer.getByTestId("round-builder").first();
  await edit.getByTestId("exercise-row-0").getByLabel("Load", { exact: true }).fill("85");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect(released).toContainText("3 × 8 · 85 kg", { timeout: 1000 });
  await expect(athlete.getByTestId("feedback-0").getByLabel("RPE (0–10)")).toHaveValue("8.5");

  // 4. Feedback: RPE, reps, a pain flag and a note reach the trainer.
  await athlete.getByTestId("feedback-2").getByLabel("Reps done").fill("5");
  await athlete.getByTestId("feedback-2").getByLabel("Pain or discomfort").check();
  await athlete.getByTestId("feedback-2").getByLabel("Notes for your trainer").fill("Left shoulder twinge");
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  const done = trainer.getByTestId("completed-round-1");
  await expect(done.getByRole("row", { name: /Back squat/ })).toContainText("8.5", { timeout: 1000 });
  await expect(done.getByRole("row", { name: /Back squat/ })).toContainText("3 × 8 · 85 kg");
  await expect(done.getByRole("row", { name: /Pull-up/ })).toContainText("⚠ yes");
  await expect(done.getByRole("row", { name: /Pull-up/ })).toContainText("Left shoulder twinge");
  await windowWasNotReloaded(trainer);

  // 5. Round 2: released, edited, deleted; the phone follows each step.
  await fillExercise(trainer, 0, { Exercise: "Row", Reps: "10" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: "Release round 2" }).click();
  await expect(released).toContainText("Row", { timeout: 1000 });
  await trainer.getByText("Edit round 2", { exact: true }).click();
  await trainer.getByTestId("round-builder").first().getByTestId("exercise-row-0").getByLabel("Reps", { exact: true }).fill("12");
  await trainer.getByRole("button", { name: "Save changes" }).click();
  await expect(released).toContainText("12 reps", { timeout: 1000 });
  await trainer.getByTestId("released-round").getByRole("button", { name: "Delete round 2" }).click();
  await expect(released).toHaveCount(0, { timeout: 1000 });

  // 6. A final round completes the session on both sides; history has it all.
  await fillExercise(trainer, 0, { Exercise: "Farmer carry", "Duration (s)": "60", Load: "32", Unit: "kg" });
  await trainer.getByLabel("Final round").check();
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: /Release round \d/ }).click();
  await expect(released.getByRole("heading", { level: 2 })).toHaveText(/· final round$/, { timeout: 1000 });
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(athlete.getByTestId("session-status")).toHaveText("Completed");
  await expect(trainer.getByTestId("session-status")).toHaveText("Completed", { timeout: 1000 });
  await windowWasNotReloaded(trainer);
  await windowWasNotReloaded(athlete);
  await trainer.getByRole("link", { name: "See the whole session" }).click();
  await expect(trainer.getByTestId("history-count")).toHaveText("2 completed rounds");
  await expect(trainer.getByTestId("completed-round-1")).toContainText("Left shoulder twinge");
  await expect(trainer.locator(".completed-round").last()).toContainText("Farmer carry");
  await close();
});

test("a cancel on either side sends the other side to its dashboard with the notice", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const coach = named("Carla Cancel");
  const runner = named("Remy Return");
  await register(trainer, coach, "trainer");
  await register(athlete, runner, "athlete");
  for (const canceller of ["trainer", "athlete"] as const) {
    await athlete.goto("/dashboard");
    await hydrated(athlete);
    await athlete.getByLabel("Trainer").selectOption({ label: coach });
    await athlete.getByRole("button", { name: "Start session" }).click();
    await expect(athlete).toHaveURL(/\/sessions\/\d+$/);
    await trainer.goto("/dashboard");
    await hydrated(trainer);
    await trainer.getByRole("button", { name: `Join ${runner}` }).click();
    await expect(trainer).toHaveURL(/\/trainer$/);
    await expect(trainer.getByTestId("live-status")).toHaveText("Live");
    await expect(athlete.getByTestId("live-status")).toHaveText("Live");
    const [actor, other] = canceller === "trainer" ? [trainer, athlete] : [athlete, trainer];
    await markWindow(other);
    await hydrated(actor);
    await actor.getByText("Cancel this session").click();
    await actor.getByLabel("Reason (optional)").fill(canceller === "trainer" ? "Gym closes early" : "Feeling dizzy");
    await actor.getByRole("button", { name: "Cancel session" }).click();
    await expect(actor).toHaveURL(/\/dashboard\?cancelled=/);
    const actorThereAt = Date.now();
    // A second, as a rule (reported); without the live event it would
    // never happen.
    await expect(other).toHaveURL(/\/dashboard\?cancelled=/, { timeout: 5000 });
    report(testInfo, `the ${canceller}'s cancel to the other side's dashboard`, Date.now() - actorThereAt);
    const reason = canceller === "trainer" ? "Gym closes early" : "Feeling dizzy";
    const who = canceller === "trainer" ? coach : runner;
    await expect(other.getByTestId("cancel-notice")).toHaveText(`${who} cancelled the session: “${reason}”.`);
    await expect(actor.getByTestId("cancel-notice")).toHaveText(`You cancelled the session: “${reason}”.`);
    await windowWasNotReloaded(other);
    if (canceller === "trainer") await shot(athlete, "athlete-cancel-notice", testInfo);
  }
  await close();
});

test("a phone that was offline catches up on everything it missed", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, phone, close } = await trainerAndAthlete(browser, baseURL, problems);
  const coach = named("Olga Offline");
  const runner = named("Pete Phone");
  await register(trainer, coach, "trainer");
  await register(athlete, runner, "athlete");
  await startSession(athlete, coach);
  await trainer.goto("/dashboard");
  await hydrated(trainer);
  await trainer.getByRole("button", { name: `Join ${runner}` }).click();
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  await markWindow(athlete);

  await phone.setOffline(true);
  await expect(athlete.getByTestId("live-status")).toHaveText(/Reconnecting|Offline/, { timeout: 10000 });
  await shot(athlete, "athlete-reconnecting", testInfo);
  await hydrated(trainer);
  await trainer.getByTestId("exercise-row-0").getByLabel("Exercise", { exact: true }).fill("Lunge");
  await trainer.getByTestId("exercise-row-0").getByLabel("Reps", { exact: true }).fill("12");
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await trainer.getByText("Edit round 1", { exact: true }).click();
  await trainer.getByTestId("round-builder").first().getByTestId("exercise-row-0").getByLabel("Reps", { exact: true }).fill("15");
  await trainer.getByRole("button", { name: "Save changes" }).click();
  await expect(trainer.getByTestId("released-round")).toContainText("15 reps");

  await phone.setOffline(false);
  await expect(athlete.getByTestId("live-status")).toHaveText("Live", { timeout: 15000 });
  await expect(athlete.getByTestId("released-round")).toContainText("Lunge");
  await expect(athlete.getByTestId("released-round")).toContainText("15 reps");
  await windowWasNotReloaded(athlete);

  // Leaving the page closes its connection: the trainer sees the athlete go.
  await expect(trainer.getByTestId("presence")).toHaveText(`${runner} is here`);
  await athlete.getByRole("link", { name: "Dashboard" }).click();
  await expect(athlete).toHaveURL(/\/dashboard$/);
  await expect(trainer.getByTestId("presence")).toHaveText(`${runner} is away`, { timeout: 3000 });
  await close();
});

test("when WebSockets keep failing, the phone follows the session over Server-Sent Events", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const coach = named("Sara Sse");
  const runner = named("Ezra Events");
  await register(trainer, coach, "trainer");
  await register(athlete, runner, "athlete");
  // Every WebSocket the phone opens is closed at once (a proxy that drops them).
  await athlete.routeWebSocket(/\/api\/sessions\/\d+\/live/, (ws) => ws.close());
  await athlete.goto("/dashboard");
  await hydrated(athlete);
  await athlete.getByLabel("Trainer").selectOption({ label: coach });
  await athlete.getByRole("button", { name: "Start session" }).click();
  await expect(athlete).toHaveURL(/\/sessions\/\d+$/);
  // The URL changes first; the session page replaces the dashboard once its
  // code is loaded (each page is its own lazily loaded module), and only
  // then is the indicator below the session's, not the dashboard's.
  await expect(athlete.getByRole("heading", { name: `Session with ${coach}` })).toBeVisible();
  await expect(athlete.getByTestId("live-status")).toHaveText("Live", { timeout: 20000 });

  await trainer.goto("/dashboard");
  await hydrated(trainer);
  await trainer.getByRole("button", { name: `Join ${runner}` }).click();
  await hydrated(trainer);
  await trainer.getByTestId("exercise-row-0").getByLabel("Exercise", { exact: true }).fill("Burpee");
  await trainer.getByTestId("exercise-row-0").getByLabel("Reps", { exact: true }).fill("20");
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(athlete.getByTestId("released-round")).toContainText("Burpee", { timeout: 3000 });
  await close();
});

test("a second tab of the same trainer shows what the first one does, without a reload", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const id = await joinedSession(trainer, athlete, named("Tara Tabs"), named("Ugo Upfront"));
  const other = await trainer.context().newPage();
  watch(other, "trainer's second tab", problems);
  await other.goto(`/sessions/${id}/trainer`);
  await hydrated(other);
  await expect(other.getByTestId("live-status")).toHaveText("Live");
  await markWindow(other);
  // Tab one saves a draft: tab two shows it.
  await fillExercise(trainer, 0, { Exercise: "Goblet squat", Reps: "12" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(other.getByTestId("round-builder").getByTestId("exercise-row-0").getByLabel("Exercise", { exact: true })).toHaveValue("Goblet squat", { timeout: 2000 });
  // Tab one releases it: tab two shows it with the athlete.
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(other.getByTestId("released-round")).toContainText("Goblet squat", { timeout: 2000 });
  await windowWasNotReloaded(other);
  await close();
});

test("a live update of the athlete's dashboard keeps the trainer they chose in 'Start a session'", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const other = named("Otto Otherchoice");
  const coach = named("Cleo Choice");
  const runner = named("Ada Again");
  await register(trainer, other, "trainer");
  await register(trainer, coach, "trainer");
  await register(athlete, runner, "athlete");
  await startSession(athlete, coach);

  // Back on the dashboard, the athlete picks another trainer for a second
  // session; before they press Start, the first trainer joins: the
  // dashboard updates live and the choice stays.
  await athlete.goto("/dashboard");
  await hydrated(athlete);
  await expect(athlete.getByTestId("live-status")).toHaveText("Live");
  const select = athlete.getByLabel("Trainer");
  await select.selectOption({ label: other });
  await trainer.goto("/dashboard");
  await hydrated(trainer);
  await trainer.getByRole("button", { name: `Join ${runner}` }).click();
  await expect(athlete.getByTestId("active")).toContainText(coach);
  await expect(athlete.getByTestId("waiting")).toContainText("None.");
  expect(await select.evaluate((s: HTMLSelectElement) => s.selectedOptions[0].text)).toBe(other);
  await athlete.getByRole("button", { name: "Start session" }).click();
  await expect(athlete).toHaveURL(/\/sessions\/\d+$/);
  await expect(athlete.getByRole("heading", { level: 1 })).toContainText(other);
  await close();
});
