import AxeBuilder from "@axe-core/playwright";
import { test, expect, trainerAndAthlete, joinedSession, named, fillExercise, report, shot } from "./fixtures";
import type { Locator, Page } from "@playwright/test";

/// A round of three exercises, three sets each, 60 s rest, released.
async function releaseThreeByThree(trainer: Page) {
  const exercises = [
    { Exercise: "Back squat", Sets: "3", Reps: "5", Load: "100", Unit: "kg", "Rest (s)": "60" },
    { Exercise: "Bench press", Sets: "3", Reps: "8", Load: "60", Unit: "kg", "Rest (s)": "60" },
    { Exercise: "Barbell row", Sets: "3", Reps: "10", Load: "50", Unit: "kg", "Rest (s)": "60" },
  ];
  for (const [row, values] of exercises.entries()) {
    await fillExercise(trainer, row, values);
    await trainer.getByRole("button", { name: "Save draft" }).click();
    await expect(trainer.getByTestId(`exercise-row-${row + 1}`)).toHaveCount(1);
  }
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(trainer.getByTestId("released-round").locator(".exercise")).toHaveCount(3);
}

/// The trainer sends `text` in the session's thread.
async function say(trainer: Page, text: string) {
  const thread = trainer.getByTestId("thread");
  await thread.getByLabel("Message", { exact: true }).fill(text);
  await thread.getByRole("button", { name: "Send", exact: true }).click();
}

/// Where `target` is relative to the screen: 0 when its whole box is
/// inside the viewport, else how far the page must scroll to show it.
async function offScreen(page: Page, target: Locator) {
  const box = await target.boundingBox();
  const height = page.viewportSize()!.height;
  if (!box) return Infinity;
  if (box.y >= 0 && box.y + box.height <= height) return 0;
  return box.y < 0 ? box.y : box.y + box.height - height;
}

/// The user scrolls just enough to see `target` (if needed); the distance.
async function scrollTo(page: Page, target: Locator) {
  const needed = await offScreen(page, target);
  if (needed === 0) return 0;
  const before = await page.evaluate(() => window.scrollY);
  await page.mouse.wheel(0, needed > 0 ? needed + 16 : needed - 16);
  await expect.poll(() => offScreen(page, target)).toBe(0);
  return Math.abs((await page.evaluate(() => window.scrollY)) - before);
}

/// Serious or critical axe-core violations on `page`, as readable lines.
async function violations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/// Controls on screen smaller than a thumb (44 px high or wide), by text.
async function smallTargets(page: Page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("a, button, input, select, textarea, summary")]
      .filter((el) => (el as HTMLElement).offsetParent !== null && getComputedStyle(el).visibility !== "hidden")
      .filter((el) => !(el as HTMLElement).closest(".visually-hidden, [aria-hidden=true]"))
      .map((el) => ({ el, box: el.getBoundingClientRect() }))
      .filter(({ box }) => box.width > 0 && (box.height < 44 || box.width < 44))
      .map(({ el, box }) => `${el.tagName.toLowerCase()} "${(el.textContent || (el as HTMLInputElement).name || "").trim().slice(0, 30)}" ${Math.round(box.width)}×${Math.round(box.height)}`),
  );
}

test("a 3 × 3 round on a phone by thumb: the next Set done always on screen, the rest in sight while it runs", async ({ browser, baseURL, problems }, testInfo) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems, baseURL, [], { width: 390, height: 844 });
  await joinedSession(trainer, athlete, named("Thea Thumb"), named("Tom Thumb"));
  await releaseThreeByThree(trainer);
  await expect(athlete.getByTestId("released-round")).toContainText("Barbell row");

  let taps = 0;
  let scrolled = 0;
  const rest = athlete.getByTestId("rest");
  for (let done = 1; done <= 9; done++) {
    // Only what is on the screen is tapped: the first "Set done" there is.
    const next = athlete.getByRole("button", { name: "Set done", exact: true }).first();
    // On the screen as it settles (the page never scrolls by itself, so
    // a control below the screen stays there and this fails).
    await expect.poll(() => offScreen(athlete, next), { message: `before set ${done}: the next Set done is on the screen`, timeout: 2000 }).toBe(0);
    scrolled += await scrollTo(athlete, next);
    await next.tap();
    taps += 1;
    await expect(trainer.getByTestId("activity")).toContainText(`Set ${((done - 1) % 3) + 1} of 3`);
    // The rest starts, in sight.
    await expect(rest).toContainText(`after set ${((done - 1) % 3) + 1} of`);
    await expect.poll(() => offScreen(athlete, rest), { message: `after set ${done}: the rest timer is on the screen`, timeout: 2000 }).toBe(0);
    if (done === 1) {
      // A message while the rest runs changes the page's view, not the
      // rest: the sticky timer is not drawn again (it would blink, and a
      // skipped rest would come back).
      await rest.evaluate((el) => el.setAttribute("data-drawn-once", ""));
      await say(trainer, "Full rest, then go");
      await expect(athlete.getByTestId("thread").getByTestId("message")).toContainText(["Full rest, then go"]);
      await expect(rest, "the rest is the same element after a message").toHaveAttribute("data-drawn-once", "");
      // The new layout, with a rest running: no serious or critical
      // accessibility violation, light or dark; every control thumb-sized.
      for (const colorScheme of ["light", "dark"] as const) {
        await athlete.emulateMedia({ colorScheme });
        expect(await violations(athlete), `axe, ${colorScheme}`).toEqual([]);
      }
      await athlete.emulateMedia({ colorScheme: "light" });
      expect(await smallTargets(athlete), "tap targets under 44 px").toEqual([]);
      await shot(athlete, "athlete-now-next", testInfo);
    }
  }
  await expect(athlete.getByTestId("now")).toContainText("All sets done.");
  // Down to the feedback: the rest stays in sight while it runs.
  const finish = athlete.getByRole("button", { name: "Send feedback and finish the round" });
  scrolled += await scrollTo(athlete, finish);
  expect(Number(await athlete.getByTestId("rest-timer").getAttribute("data-left"))).toBeGreaterThan(0);
  expect(await offScreen(athlete, rest), "the running rest stays on the screen (sticky)").toBe(0);
  // "Skip rest" puts it away on the phone; the trainer's still counts.
  await rest.getByRole("button", { name: "Skip rest" }).tap();
  await expect(rest).toHaveCount(0);
  // It stays skipped when the view changes for something else.
  await say(trainer, "Feedback when ready");
  await expect(athlete.getByTestId("thread").getByTestId("message")).toContainText(["Feedback when ready"]);
  await expect(rest).toHaveCount(0);
  await expect(trainer.getByTestId("rest-timer")).toContainText("after set 3 of Barbell row");
  await finish.tap();
  taps += 1;
  await expect(trainer.getByTestId("completed-round-1")).toBeVisible();
  report(testInfo, "3 × 3 round: taps to finish", taps, "taps");
  report(testInfo, "3 × 3 round: scrolled to finish", Math.round(scrolled), "px");
  await close();
});
