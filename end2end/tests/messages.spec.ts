import { test, expect, trainerAndAthlete, joinedSession, named, releaseRound, eventKinds, markWindow, windowWasNotReloaded } from "./fixtures";

test("messages go both ways live, a quick reply is one tap, and a message sent offline waits in order behind a set", async ({ browser, baseURL, problems }) => {
  const { trainer, athlete, phone, close } = await trainerAndAthlete(browser, baseURL, problems);
  const coach = named("Tess Talk");
  const id = await joinedSession(trainer, athlete, coach, named("Abe Answer"));
  await releaseRound(trainer, 1, "Goblet squat");
  await markWindow(trainer);
  await markWindow(athlete);
  const send = (page: typeof trainer) => page.getByTestId("thread").getByRole("button", { name: "Send", exact: true });

  // The trainer writes; the phone shows it at once, with the trainer's name.
  await trainer.getByTestId("thread").getByLabel("Message", { exact: true }).fill("Drop to 90 kg for the last set");
  await send(trainer).click();
  const onPhone = athlete.getByTestId("thread").getByTestId("message");
  await expect(onPhone).toHaveCount(1);
  await expect(onPhone.first()).toContainText(coach);
  await expect(onPhone.first()).toContainText("Drop to 90 kg for the last set");
  await expect(trainer.getByTestId("thread").getByTestId("message").first()).toContainText("You");
  // The box is empty again, ready for the next one.
  await expect(trainer.getByTestId("thread").getByLabel("Message", { exact: true })).toHaveValue("");

  // One tap on the phone, no keyboard.
  await athlete.getByTestId("quick-replies").getByRole("button", { name: "Need more rest" }).click();
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
  await athlete.getByTestId("set-0-1").getByRole("button", { name: "Set done" }).click();
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
