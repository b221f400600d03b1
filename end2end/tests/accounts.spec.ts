import { test, expect, hydrated, logOut, markWindow, windowWasNotReloaded, uniqueEmail } from "./fixtures";

const password = "correct horse battery";

test("a trainer registers, logs out and logs back in, without full page loads", async ({ page }) => {
  const email = uniqueEmail("trainer");
  await page.goto("/register");
  await hydrated(page);
  await markWindow(page);

  await page.getByLabel("Your name").fill("Tina Trainer");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("a trainer").check();
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("current-user")).toContainText("Tina Trainer");
  await expect(page.getByTestId("dashboard-role")).toHaveText("You are signed in as trainer.");
  await windowWasNotReloaded(page);

  await logOut(page);
  await expect(page.getByRole("link", { name: "Log in" }).first()).toBeVisible();
  await expect(page.getByTestId("current-user")).toHaveCount(0);

  await page.getByRole("navigation").getByRole("link", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("current-user")).toContainText("Tina Trainer");
  await windowWasNotReloaded(page);
});

test.describe("refusals", () => {
test.use({ allowedStatuses: [422] });

test("bad input shows a message next to the field and keeps what was typed", async ({ page }) => {
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Your name").fill("Andy Athlete");
  await page.getByLabel("Email").fill(uniqueEmail("athlete"));
  await page.getByLabel("Password").fill("short");
  await page.getByLabel("an athlete").check();
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page.locator("#field-password-error")).toHaveText("Your password must be at least 8 characters");
  await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Your name")).toHaveValue("Andy Athlete");
  await expect(page).toHaveURL(/\/register$/);
});

test("registering without choosing a role asks for it", async ({ page }) => {
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Your name").fill("Rolf");
  await page.getByLabel("Email").fill(uniqueEmail("norole"));
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#field-role-error")).toHaveText("Choose whether you are a trainer or an athlete");
  await expect(page.getByLabel("Password")).toHaveValue(password);
});

test("a wrong password is refused with a message, and a logged-out visitor is sent to log in", async ({ page }) => {
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?next=\/dashboard$/);
  await hydrated(page);
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("whatever it is");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.locator("#field-password-error")).toHaveText("That email and password do not match an account");
  await expect(page.getByLabel("Email")).toHaveValue("nobody@example.com");
});
});
