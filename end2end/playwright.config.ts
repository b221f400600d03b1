import { defineConfig } from "@playwright/test";
import { execSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// The suite runs the release server itself, on free ports (chosen by
// scripts/test.sh, or 3100 and 3101): once with a fresh SQLite database and,
// when scripts/test.sh gives it a fresh PostgreSQL database
// (SPOTTER_E2E_POSTGRES_URL), once more on PostgreSQL (scripts/test.sh runs
// the two side by side: SPOTTER_E2E_ONLY below). It stops them after.
const port = Number(process.env.SPOTTER_E2E_PORT ?? 3100);
const pgPort = port + 1;
const baseURL = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), "spotter-e2e-"));
const repoRoot = resolve(__dirname, "..");
const postgres = process.env.SPOTTER_E2E_POSTGRES_URL;
// scripts/test.sh runs the two projects side by side, one Playwright process
// each (SPOTTER_E2E_ONLY=sqlite or postgres): each starts only its server,
// and each server still sees one test at a time.
const only = process.env.SPOTTER_E2E_ONLY;
const wanted = (name: string) => !only || only === name;

function server(listen: number, databaseUrl: string) {
  return {
    command: `${repoRoot}/target/release/spotter`,
    cwd: repoRoot,
    url: `http://127.0.0.1:${listen}/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe" as const,
    stderr: "pipe" as const,
    env: {
      DATABASE_URL: databaseUrl,
      LEPTOS_SITE_ADDR: `127.0.0.1:${listen}`,
      SPOTTER_DEMO: "0",
      RUST_LOG: "warn",
      // Heartbeats every second (default 10): a dead path is noticed within
      // 2.5 s, so the field-condition tests take seconds, not half a minute.
      SPOTTER_HEARTBEAT_MS: "1000",
      // Every test registers from 127.0.0.1; the limits have their own
      // integration tests (tests/api/hostile.rs).
      SPOTTER_RATE_LIMITS: "off",
    },
  };
}

// Debian's Chromium, never a downloaded browser (the machines have no
// internet). The flags keep it from calling home.
const chromiumPath =
  process.env.CHROMIUM_PATH ?? execSync("command -v chromium").toString().trim();

export default defineConfig({
  testDir: "./tests",
  // One folder per process: Playwright empties its output folder when it
  // starts, which must not hit the other project's run.
  outputDir: only ? `test-results/${only}` : "test-results",
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0, // a flaky test is a bug to fix, not to retry
  reporter: [["list"]],
  use: {
    viewport: { width: 1280, height: 800 },
    trace: "off",
    launchOptions: {
      executablePath: chromiumPath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  projects: [
    ...(wanted("sqlite") ? [{ name: "sqlite", use: { baseURL } }] : []),
    ...(postgres && wanted("postgres") ? [{ name: "postgres", use: { baseURL: `http://127.0.0.1:${pgPort}` } }] : []),
  ],
  webServer: [
    ...(wanted("sqlite") ? [server(port, `sqlite://${dataDir}/spotter.db?mode=rwc`)] : []),
    ...(postgres && wanted("postgres") ? [server(pgPort, postgres)] : []),
  ],
});
