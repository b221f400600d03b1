import { Page } from "@playwright/test";
import { test, expect, hydrated, watch, register, trainerAndAthlete, named, fillExercise, startSession } from "./fixtures";

async function join(trainer: Page, athleteName: string, sessionId: string) {
  await trainer.goto("/dashboard");
  await hydrated(trainer);
  await trainer.getByRole("button", { name: `Join ${athleteName}` }).click();
  await expect(trainer).toHaveURL(new RegExp(`/sessions/${sessionId}/trainer$`));
}

test("a whole session with refreshes: start, join, build, release, feedback, final round, history", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  await register(trainer, named("Tina Trainer"), "trainer");
  await register(athlete, named("Andy Athlete"), "athlete");

  const id = await startSession(athlete, named("Tina Trainer"));
  await expect(athlete.getByTestId("session-status")).toHaveText("Waiting for the trainer");
  await join(trainer, named("Andy Athlete"), id);
  await expect(trainer.getByTestId("session-status")).toHaveText("In progress");

  await hydrated(trainer);
  await fillExercise(trainer, 0, { Exercise: "Back squat", Sets: "3", Reps: "8", Load: "80", Unit: "kg", "Rest (s)": "120" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(trainer.getByTestId("exercise-row-1")).toBeVisible();
  await fillExercise(trainer, 1, { Exercise: "Plank", Sets: "3", "Duration (s)": "45" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(trainer.getByTestId("exercise-row-2")).toBeVisible();
  await fillExercise(trainer, 2, { Exercise: "Pull-up", Reps: "6", Unit: "bodyweight" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(trainer.getByTestId("exercise-row-3")).toBeVisible();
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(trainer.getByTestId("announcement")).toHaveText(`Round 1 is with ${named("Andy Athlete")}`);

  await athlete.reload();
  await hydrated(athlete);
  const round = athlete.getByTestId("released-round");
  await expect(round.getByRole("heading", { name: "Round 1" })).toBeVisible();
  await expect(round.locator(".exercise")).toHaveText([/Back squat.*3 × 8 · 80 kg · rest 2 min/, /Plank.*3 sets · 45 s/, /Pull-up.*6 reps · bodyweight/]);
  const noSideScroll = await athlete.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  expect(noSideScroll, "no horizontal scroll on the phone").toBe(true);
  await athlete.getByTestId("feedback-0").getByLabel("RPE (0–10)").fill("8.5");
  await athlete.getByTestId("feedback-0").getByLabel("Notes for your trainer").fill("Felt strong");
  await athlete.getByTestId("feedback-2").getByLabel("Reps done").fill("5");
  await athlete.getByTestId("feedback-2").getByLabel("Pain or discomfort").check();
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(athlete.getByTestId("completed-round-1")).toBeVisible();

  await trainer.reload();
  const done = trainer.getByTestId("completed-round-1");
  await expect(done.getByRole("row", { name: /Back squat/ })).toContainText("3 × 8 · 80 kg · rest 2 min");
  await expect(done.getByRole("row", { name: /Back squat/ })).toContainText("8.5");
  await expect(done.getByRole("row", { name: /Back squat/ })).toContainText("Felt strong");
  await expect(done.getByRole("row", { name: /Pull-up/ })).toContainText("⚠ yes");

  await hydrated(trainer);
  await fillExercise(trainer, 0, { Exercise: "Farmer carry", "Duration (s)": "60", Load: "32", Unit: "kg" });
  await trainer.getByLabel("Final round").check();
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await trainer.getByRole("button", { name: "Release round 2" }).click();
  await expect(trainer.getByTestId("announcement")).toHaveText(`Round 2 is with ${named("Andy Athlete")}`);

  await athlete.reload();
  await hydrated(athlete);
  await expect(athlete.getByTestId("released-round").getByRole("heading", { level: 2 })).toHaveText("Round 2 · final round");
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(athlete.getByTestId("session-status")).toHaveText("Completed");

  await trainer.reload();
  await expect(trainer.getByTestId("session-status")).toHaveText("Completed");
  await trainer.getByRole("link", { name: "See the whole session" }).click();
  await expect(trainer.getByTestId("history-count")).toHaveText("2 completed rounds");
  await expect(trainer.getByTestId("completed-round-2")).toContainText("Farmer carry");
  await close();
});

test("either side can cancel; the other side sees who and why", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  await register(trainer, named("Carl Coach"), "trainer");
  await register(athlete, named("Rita Runner"), "athlete");

  const first = await startSession(athlete, named("Carl Coach"));
  await join(trainer, named("Rita Runner"), first);
  await hydrated(trainer);
  await trainer.getByText("Cancel this session").click();
  await trainer.getByLabel("Reason (optional)").fill("Gym closes early");
  await trainer.getByRole("button", { name: "Cancel session" }).click();
  await expect(trainer).toHaveURL(/\/dashboard\?cancelled=/);
  await expect(trainer.getByTestId("cancel-notice")).toBeVisible();
  // The athlete's open session page follows the session live: it is taken
  // to the dashboard; the session page then says who cancelled and why.
  await expect(athlete).toHaveURL(/\/dashboard\?cancelled=/);
  await athlete.goto(`/sessions/${first}`);
  await expect(athlete.getByTestId("session-ended")).toHaveText(`${named("Carl Coach")} cancelled the session: “Gym closes early”.`);

  const second = await startSession(athlete, named("Carl Coach"));
  expect(second).not.toEqual(first);
  await hydrated(athlete);
  await athlete.getByText("Cancel this session").click();
  await athlete.getByRole("button", { name: "Cancel session" }).click();
  await expect(athlete).toHaveURL(/\/dashboard\?cancelled=/);
  await trainer.goto(`/sessions/${second}/trainer`);
  await expect(trainer.getByTestId("session-ended")).toHaveText(`${named("Rita Runner")} cancelled the session.`);
  await close();
});
