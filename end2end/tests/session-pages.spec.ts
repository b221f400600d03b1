import AxeBuilder from "@axe-core/playwright";
import { Browser, Page } from "@playwright/test";
import {
  test,
  expect,
  hydrated,
  named,
  fillExercise,
  joinedSession,
  releaseRound,
  trainerAndAthlete,
  eventKinds,
  markWindow,
  windowWasNotReloaded,
  shot,
  uniqueEmail,
  password,
  register,
  watch,
} from "./fixtures";

// The session pages as people use them: what they type is never mixed up,
// dropped or cut; forms on one page never share ids or errors; without
// JavaScript the header and the indicator still make sense; the trainer's
// laptop shows the round and the athlete's feedback side by side, the
// phone shows the round in its first screen; no serious accessibility
// violation anywhere.

/// The values of builder row `row` in `scope` (a builder), as the browser
/// holds them (what a submit would send).
async function rowValues(scope: ReturnType<Page["getByTestId"]>, row: number) {
  const fieldset = scope.getByTestId(`exercise-row-${row}`);
  return {
    name: await fieldset.getByLabel("Exercise", { exact: true }).inputValue(),
    sets: await fieldset.getByLabel("Sets", { exact: true }).inputValue(),
    reps: await fieldset.getByLabel("Reps", { exact: true }).inputValue(),
    load: await fieldset.getByLabel("Load", { exact: true }).inputValue(),
    unit: await fieldset.getByLabel("Unit").inputValue(),
    duration: await fieldset.getByLabel("Duration (s)").inputValue(),
    notes: await fieldset.getByLabel("Notes for the athlete").inputValue(),
  };
}

const squat = { name: "Back squat", sets: "3", reps: "8", load: "80", unit: "kg", duration: "", notes: "Knees out" };
const plank = { name: "Plank", sets: "2", reps: "", load: "", unit: "bodyweight", duration: "60", notes: "Brace hard" };

test("moving an exercise up keeps each row's own values, on screen and when saved", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const id = await joinedSession(trainer, athlete, named("Mia Mover"), named("Ari Order"));
  // Every field typed (so the browser holds its own value for each one).
  const builder = trainer.getByTestId("round-builder");
  await fillExercise(trainer, 0, { Exercise: squat.name, Sets: squat.sets, Reps: squat.reps, Load: squat.load, Unit: squat.unit, Notes: squat.notes });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(builder.getByTestId("exercise-row-1")).toBeVisible();
  await fillExercise(trainer, 1, { Exercise: plank.name, Sets: plank.sets, Unit: plank.unit, "Duration (s)": plank.duration, Notes: plank.notes });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(builder.getByTestId("exercise-row-2")).toBeVisible();

  await builder.getByRole("button", { name: "Move exercise 2 up" }).click();
  await expect.poll(() => rowValues(builder, 0)).toEqual(plank);
  expect(await rowValues(builder, 1)).toEqual(squat);

  // Saving again stores exactly what is on screen.
  // (The save may go over the live connection, not HTTP: wait for its
  // event in the session's log.)
  const logged = (await eventKinds(trainer, id)).length;
  await builder.getByRole("button", { name: "Save draft" }).click();
  await expect.poll(async () => (await eventKinds(trainer, id)).length).toBe(logged + 1);
  await trainer.reload();
  await hydrated(trainer);
  const reloaded = trainer.getByTestId("round-builder");
  expect(await rowValues(reloaded, 0)).toEqual(plank);
  expect(await rowValues(reloaded, 1)).toEqual(squat);

  // A typed, unsaved change in a row travels with the row when it moves.
  await reloaded.getByTestId("exercise-row-0").getByLabel("Notes for the athlete").fill("Brace harder");
  await reloaded.getByRole("button", { name: "Move exercise 1 down" }).click();
  await expect.poll(() => rowValues(reloaded, 1)).toEqual({ ...plank, notes: "Brace harder" });
  expect(await rowValues(reloaded, 0)).toEqual(squat);
  await close();
});

test("releasing right after typing an exercise releases it too, never drops it", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const id = await joinedSession(trainer, athlete, named("Rita Release"), named("Ben Bench"));
  await fillExercise(trainer, 0, { Exercise: "Bench press", Reps: "5" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  // Typed into "Add an exercise", not saved, then straight to release.
  await fillExercise(trainer, 1, { Exercise: "Farmer carry", Sets: "2", "Duration (s)": "40" });
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  const released = athlete.getByTestId("released-round");
  await expect(released.locator(".exercise")).toHaveText([/Bench press/, /Farmer carry.*2 sets · 40 s/]);
  await expect(trainer.getByTestId("released-round").locator(".exercise")).toHaveCount(2);
  // One transaction: the round's last revision and its release (the
  // phone's receipt for it may follow).
  const changes = (await eventKinds(trainer, id)).filter((k) => k !== "round-opened");
  expect(changes.slice(-2)).toEqual(["round-updated", "round-released"]);

  // The carry has a duration, so the phone asks for the time done, and the
  // trainer sees it.
  const carry = athlete.getByTestId("feedback-1");
  await expect(carry.getByLabel("Time done (s)")).toHaveValue("40");
  await carry.getByLabel("Time done (s)").fill("35");
  await expect(athlete.getByTestId("feedback-0").getByLabel("Time done (s)")).toHaveCount(0);
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(trainer.getByTestId("completed-round-1").getByRole("row", { name: /Farmer carry/ })).toContainText("2 sets · 35 s");
  await close();
});

test("over-long text is counted, refused with a message and kept whole, never cut", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  const id = await joinedSession(trainer, athlete, named("Lena Long"), named("Tom Text"));
  const row = trainer.getByTestId("exercise-row-0");
  await row.getByLabel("Exercise", { exact: true }).fill("Deadlift");
  await row.getByLabel("Reps", { exact: true }).fill("5");
  const notes = row.getByLabel("Notes for the athlete");
  const count = row.locator(".field", { has: trainer.getByLabel("Notes for the athlete") }).locator(".char-count");

  await notes.fill("a".repeat(900));
  await expect(count).toHaveText("900 of 1000 characters");
  const pasted = "b".repeat(10_000);
  await notes.fill(pasted);
  await expect(count).toHaveText("Notes for the athlete is 10000 characters, 9000 over the limit of 1000: shorten it to send");
  await expect(notes).toHaveAttribute("aria-invalid", "true");
  expect((await notes.inputValue()).length).toBe(10_000);

  const before = await eventKinds(trainer, id);
  await trainer.getByRole("button", { name: "Save draft" }).click();
  // The browser refuses the form: no request, nothing stored, nothing cut.
  expect(await notes.evaluate((el: HTMLTextAreaElement) => el.validationMessage)).toContain("9000 over the limit");
  await trainer.waitForTimeout(300); // a request, if one were sent, would be answered by now
  expect(await eventKinds(trainer, id)).toEqual(before);
  expect(await notes.inputValue()).toBe(pasted);

  // Shortened, it goes through.
  await notes.fill("b".repeat(1000));
  await expect(count).toHaveText("1000 of 1000 characters");
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(trainer.getByRole("button", { name: "Release round 1" })).toBeVisible();
  expect((await eventKinds(trainer, id)).slice(-1)).toEqual(["round-updated"]);
  await close();
});

test.describe("a refused save", () => {
test.use({ allowedStatuses: [422] });
test("the next-round form and the released round's editor have their own ids and their own errors", async ({ browser, baseURL, problems, allowedStatuses }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems, baseURL, allowedStatuses);
  await joinedSession(trainer, athlete, named("Ida Ident"), named("Leo Label"));
  await releaseRound(trainer, 1, "Goblet squat");
  await trainer.getByText("Edit round 1", { exact: true }).click();
  const ids = await trainer.evaluate(() => [...document.querySelectorAll("[id]")].map((el) => el.id));
  expect(ids.filter((id, i) => ids.indexOf(id) !== i), "duplicate ids").toEqual([]);
  // Every label points into its own form.
  const stray = await trainer.evaluate(() =>
    [...document.querySelectorAll("label[for]")]
      .filter((label) => label.closest("form") !== document.getElementById(label.getAttribute("for")!)?.closest("form"))
      .map((label) => label.getAttribute("for")),
  );
  expect(stray).toEqual([]);

  // Opening the editor closes the next-round form: one form open at a time.
  const [edit, next] = [trainer.getByTestId("round-builder").first(), trainer.getByTestId("round-builder").last()];
  await expect(next).not.toHaveAttribute("open", "");
  await next.locator("summary").click();
  await expect(edit).not.toHaveAttribute("open", "");

  // Clicking the label focuses this form's field.
  await next.getByTestId("exercise-row-0").getByText("Exercise", { exact: true }).click();
  const focused = await trainer.evaluate(() => (document.activeElement as HTMLInputElement).name + "|" + document.activeElement!.closest("[data-testid=round-builder]")!.querySelector("h2")!.textContent);
  expect(focused).toBe("exercises[0][name]|Next round");

  // A row with reps but no name: the message is under that row's name in
  // the next-round form only, and goes once the field is edited.
  await next.getByTestId("exercise-row-0").getByLabel("Reps", { exact: true }).fill("12");
  await next.getByRole("button", { name: "Save draft" }).click();
  const nameError = next.getByTestId("exercise-row-0").locator(".field-error").first();
  await expect(nameError).toHaveText("Give the exercise a name");
  await edit.locator("summary").click(); // the editor opens, the next round's form closes
  await expect(next).not.toHaveAttribute("open", "");
  await expect(edit.locator(".field-error:not(:empty)")).toHaveCount(0);
  await next.locator("summary").click();
  await expect(edit).not.toHaveAttribute("open", "");
  await next.getByTestId("exercise-row-0").getByLabel("Exercise", { exact: true }).fill("Lunge");
  await expect(nameError).toBeEmpty();
  await close();
});
});

test("without JavaScript: the header is in the first HTML, the indicator says to refresh, a failed login keeps the email", async ({ browser, baseURL, problems, request }) => {
  // 1. The account links are in the HTML itself, before any streamed part,
  // on every load (streaming made 12 of 20 loads lack them).
  for (const path of ["/", "/login", "/register"]) {
    for (let i = 0; i < 20; i++) {
      const html = await (await request.get(path)).text();
      const header = html.split("<template")[0].split('<header class="site-header"')[1]?.split("</header>")[0] ?? "";
      expect(header, `${path} load ${i}`).toContain('href="/login"');
      expect(header, `${path} load ${i}`).toContain('href="/register"');
    }
  }

  const plain = await browser.newContext({ baseURL, javaScriptEnabled: false });
  const page = await plain.newPage();
  watch(page, "plain", problems, [], { javaScriptDisabled: true });
  // 2. A failed login: back on the login page, email kept, the message
  // under the password, nothing encoded in the address bar.
  const email = uniqueEmail("plain-login");
  await page.goto("/login?next=%2Fdashboard");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
  expect(page.url()).not.toContain("__err");
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page.locator("#field-password-error")).toHaveText("That email and password do not match an account");
  // Read once: a reload shows a clean form.
  await page.reload();
  await expect(page.getByLabel("Email")).toHaveValue("");
  await expect(page.locator("#field-password-error")).toBeEmpty();

  // 3. The live indicator does not pretend: it says to refresh.
  const athleteName = named("Nia NoScript");
  const js = await browser.newContext({ baseURL });
  const trainer = await js.newPage();
  watch(trainer, "trainer", problems);
  const coach = named("Cal Coach");
  await register(trainer, coach, "trainer");
  await page.goto("/register");
  await page.getByLabel("Your name").fill(athleteName);
  await page.getByLabel("Email").fill(uniqueEmail("plain-athlete"));
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("an athlete").check();
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByLabel("Trainer").selectOption({ label: coach });
  await page.getByRole("button", { name: "Start session" }).click();
  await expect(page).toHaveURL(/\/sessions\/\d+$/);
  await expect(page.getByText("Refresh to see changes")).toBeVisible();
  await expect(page.getByTestId("live-status")).toBeHidden();
  await js.close();
  await plain.close();
});

test("the desk and the phone: feedback in the laptop's first screen, the round in the phone's", async ({ browser, baseURL, problems }, testInfo) => {
  const laptop = await browser.newContext({ baseURL, viewport: { width: 1366, height: 768 } });
  const phone = await browser.newContext({ baseURL, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 });
  const trainer = await laptop.newPage();
  const athlete = await phone.newPage();
  watch(trainer, "trainer", problems);
  watch(athlete, "athlete", problems);
  await joinedSession(trainer, athlete, named("Dana Desk"), named("Pia Phone"));
  await fillExercise(trainer, 0, { Exercise: "Back squat", Sets: "3", Reps: "8", Load: "80", Unit: "kg" });
  await trainer.getByRole("button", { name: "Save draft" }).click();
  await expect(trainer.getByTestId("exercise-row-1")).toBeVisible();
  await fillExercise(trainer, 1, { Exercise: "Plank", Sets: "3", "Duration (s)": "45", Notes: "Squeeze glutes, breathe" });
  await trainer.getByRole("button", { name: "Release round 1" }).click();
  await expect(trainer.getByRole("button", { name: "Release round 1" })).toHaveCount(0);
  await expect(trainer.getByTestId("released-round")).toBeVisible();

  // The phone: the round heading within the first screen, nothing wider
  // than the screen, tap targets of 44 px.
  const heading = athlete.getByTestId("released-round").getByRole("heading", { name: /Round 1/ });
  await expect(heading).toBeVisible();
  const top = (await heading.boundingBox())!.y;
  expect(top, "round heading top on a 390x844 phone").toBeLessThan(844 - 40);
  expect(await athlete.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  const pain = athlete.getByTestId("feedback-0").getByLabel("Pain or discomfort");
  const box = (await pain.boundingBox())!;
  expect(Math.min(box.width, box.height)).toBeGreaterThanOrEqual(44);
  await shot(athlete, "athlete-released-round", testInfo);

  await athlete.getByTestId("feedback-0").getByLabel("RPE (0–10)").fill("8");
  await athlete.getByTestId("feedback-1").getByLabel("Notes for your trainer").fill("Shook at 40 s");
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(trainer.getByTestId("completed-round-1")).toBeVisible();
  // The trainer plans round 2 while round 1's feedback is in view, and
  // releases it straight from the new-round form.
  await fillExercise(trainer, 0, { Exercise: "Split squat", Sets: "3", Reps: "10", Load: "20", Unit: "kg" });
  await trainer.getByRole("button", { name: "Release round 2" }).click();
  await expect(trainer.getByTestId("released-round")).toContainText("Split squat");
  const feedback = trainer.getByTestId("completed-round-1");
  const feedbackTop = (await feedback.boundingBox())!.y;
  expect(feedbackTop, "latest feedback top on a 1366x768 laptop").toBeLessThan(768 - 60);
  console.log(`[${testInfo.project.name}] phone: round heading top ${Math.round(top)} px of 844; laptop: latest feedback top ${Math.round(feedbackTop)} px of 768`);
  const builderBox = (await trainer.getByTestId("round-builder").last().boundingBox())!;
  expect(builderBox.x + builderBox.width, "two panes: the builder on the left").toBeLessThanOrEqual((await feedback.boundingBox())!.x);
  // Units readable in full.
  const unit = trainer.getByTestId("round-builder").last().getByTestId("exercise-row-0").getByLabel("Unit");
  const room = await unit.evaluate((el: HTMLSelectElement) => {
    const style = getComputedStyle(el);
    const context = document.createElement("canvas").getContext("2d")!;
    context.font = style.font;
    // Inside the padding, less about 20 px for the arrow.
    const inner = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
    return inner - context.measureText("bodyweight").width;
  });
  expect(room, "'bodyweight' fits in the unit picker").toBeGreaterThanOrEqual(0);
  await shot(trainer, "trainer-feedback", testInfo);

  // The athlete's history on the phone: each exercise a card, no sideways scroll.
  await expect(athlete.getByTestId("completed-round-1")).toBeVisible();
  expect(await athlete.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  const card = athlete.getByTestId("completed-round-1").getByRole("row", { name: /Plank/ });
  await expect(card).toContainText("Shook at 40 s");
  expect((await card.boundingBox())!.width).toBeLessThanOrEqual(390);
  await laptop.close();
  await phone.close();
});

/// Serious or critical axe-core violations on `page`, as readable lines.
async function violations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

async function auditEveryPage(browser: Browser, baseURL: string | undefined, problems: string[], viewport: { width: number; height: number }, colorScheme: "light" | "dark") {
  const who = `${viewport.width} ${colorScheme}`;
  const trainerContext = await browser.newContext({ baseURL, viewport, colorScheme });
  const athleteContext = await browser.newContext({ baseURL, viewport, colorScheme, isMobile: viewport.width < 600, hasTouch: viewport.width < 600 });
  const trainer = await trainerContext.newPage();
  const athlete = await athleteContext.newPage();
  watch(trainer, "trainer", problems);
  watch(athlete, "athlete", problems);
  const found: string[] = [];
  const audit = async (page: Page, what: string) => {
    await hydrated(page);
    for (const v of await violations(page)) found.push(`${what}: ${v}`);
  };
  for (const path of ["/", "/login", "/register"]) {
    await athlete.goto(path);
    await audit(athlete, path);
  }
  const id = await joinedSession(trainer, athlete, named(`Axe Trainer ${who}`), named(`Axe Athlete ${who}`));
  await audit(trainer, "trainer dashboard (after join)");
  await releaseRound(trainer, 1, "Box jump");
  await trainer.getByText("Edit round 1", { exact: true }).click();
  await audit(trainer, "trainer session, round released, editor open");
  await audit(athlete, "athlete session, round released");
  await athlete.getByRole("button", { name: "Send feedback and finish the round" }).click();
  await expect(trainer.getByTestId("completed-round-1")).toBeVisible();
  await audit(trainer, "trainer session with feedback");
  await athlete.goto("/dashboard");
  await audit(athlete, "athlete dashboard");
  await trainer.goto("/dashboard");
  await audit(trainer, "trainer dashboard");
  await athlete.goto(`/sessions/${id}/history`);
  await audit(athlete, "history");
  await trainerContext.close();
  await athleteContext.close();
  return found;
}

test("no serious or critical accessibility violations on any page, laptop in light, phone in dark", async ({ browser, baseURL, problems }) => {
  test.setTimeout(90_000);
  const found = [
    ...(await auditEveryPage(browser, baseURL, problems, { width: 1366, height: 768 }, "light")),
    ...(await auditEveryPage(browser, baseURL, problems, { width: 390, height: 844 }, "dark")),
  ];
  expect(found).toEqual([]);
});

test("the builder suggests the exercise names the trainer used before, updated after each save without a reload", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, close } = await trainerAndAthlete(browser, baseURL, problems);
  await joinedSession(trainer, athlete, named("Dana Datalist"), named("Eli Earlier"));
  const options = () => trainer.getByTestId("exercise-names").locator("option");
  await expect(options()).toHaveCount(0);
  await markWindow(trainer);
  await releaseRound(trainer, 1, "Turkish get-up");
  // The next round's name field offers what round 1 used.
  await expect(options()).toHaveCount(1);
  await expect(options().first()).toHaveAttribute("value", "Turkish get-up");
  const name = trainer.getByTestId("exercise-row-0").first().getByLabel("Exercise", { exact: true });
  await expect(name).toHaveAttribute("list", "exercise-names");
  await windowWasNotReloaded(trainer);
  await close();
});
