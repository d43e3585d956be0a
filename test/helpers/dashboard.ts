import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { JOB_SERVICE } from '../../src/api/protos.js';
import { daemonConfigFromEnv } from '../../src/core/config.js';
import { type Daemon, startDaemon } from '../../src/daemon.js';
import { localPlanner } from '../../src/runtime/local-planner.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { rawCall } from './grpc.js';
import { machine } from './jobs.js';

/** Debian's chromium; `.ci/run` installs it when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** A real daemon (embedded store) with its HTTP port on a free port. */
export interface DashboardDaemon {
  daemon: Daemon;
  store: MemoryStore;
  /** `http://127.0.0.1:port/`. */
  url: string;
  target: string;
  token: string | null;
  /** Submits a manifest over gRPC with the token; returns the job id. */
  submit(manifest: string): Promise<string>;
  close(): Promise<void>;
}

export async function startDashboardDaemon(options: { name: string; token?: string; env?: Record<string, string> }): Promise<DashboardDaemon> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'mn-dashboard-'));
  const store = new MemoryStore();
  const env = {
    MN_GRPC_PORT: '0',
    MN_HTTP_PORT: '0',
    MN_NODE_NAME: options.name,
    MN_HEARTBEAT_INTERVAL_MS: '200',
    MN_SWEEP_INTERVAL_MS: '300',
    MN_HOME: home,
    ...(options.token ? { MN_GRPC_AUTH_TOKEN: options.token } : {}),
    ...options.env,
  };
  const { config, problems } = daemonConfigFromEnv(env, { hostname: 'test', homeDir: home });
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '));
  const daemon = await startDaemon({
    config: { ...config, host: '127.0.0.1' },
    store,
    inventory: async () => ({ ...machine(options.name, { cpu_cores: 16, memory_mb: 32_768, disk_mb: 100_000 }), attributes: { zone: 'z1', rack: 'r01' } }),
    planner: localPlanner(),
  });
  if (daemon.httpUrl === null) throw new Error('the daemon serves no HTTP port');
  const token = options.token ?? null;
  return {
    daemon,
    store,
    url: daemon.httpUrl,
    target: daemon.address,
    token,
    async submit(manifest) {
      const r = await rawCall<{ job_id: string }>(daemon.address, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest, payloads: {} }, token ?? undefined);
      if (!r.res) throw new Error(`SubmitJob: ${r.details}`);
      return r.res.job_id;
    },
    async close() {
      await daemon.stop();
      await store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Headless Debian chromium with a fresh profile. The flags keep it off the network it would
 * otherwise try to reach at start (updates, sync, field trials), which is slow on a closed one.
 */
export async function launchChromium(): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium); .ci/run does`);
  const profile = mkdtempSync(path.join(os.tmpdir(), 'mn-chromium-'));
  // A persistent context on a fresh directory: Playwright's way of passing --user-data-dir.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
