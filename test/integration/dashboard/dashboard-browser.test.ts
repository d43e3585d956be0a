/**
 * The dashboard in a real browser (headless Debian chromium through playwright-core) against a
 * real daemon: one browser for the whole file. With MN_UPDATE_SCREENSHOTS=1 the main pages are
 * saved under docs/screenshots/ for the README.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/cli.js';
import { type DashboardDaemon, launchChromium, startDashboardDaemon } from '../../helpers/dashboard.js';
import { eventually } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { scheduleCall } from '../../helpers/schedules.js';
import { fanOutManifest, machine } from '../../helpers/jobs.js';
import { JOB_SERVICE } from '../../../src/api/protos.js';

const TOKEN = 'dashboard-secret';
const NODE = 'dash-a@lab';
const OTHER = 'dash-b@lab';
const HOSTILE = '<img src=x onerror=alert(1)>';
const SHOTS = process.env.MN_UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'screenshots') : null;

const failing = JSON.stringify({
  manifest_version: '1',
  graph_id: 'fails',
  job_name: 'embedding backfill',
  entrypoints: ['embed'],
  nodes: [{ node_id: 'embed', agent_type: 'executor', config: { command: ['sh', '-c', "echo loading shard 7; echo 'CUDA out of memory: <script>alert(2)</script>' >&2; exit 3"] }, resources: { cpu_cores: 0.01, memory_mb: 1 } }],
  policies: { restart: { enabled: false } },
});
const longRunning = (name: string) => JSON.stringify({
  manifest_version: '1',
  graph_id: 'sleeper',
  job_name: name,
  entrypoints: ['wait'],
  nodes: [{ node_id: 'wait', agent_type: 'executor', config: { command: ['sleep', '30'] }, resources: { cpu_cores: 4, memory_mb: 6144 } }],
});

describe('the dashboard in a browser', () => {
  let d: DashboardDaemon;
  let chromium: { browser: BrowserContext; close(): Promise<void> };
  let page: Page;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];

  const shot = async (name: string): Promise<void> => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    [d, chromium] = await Promise.all([startDashboardDaemon({ name: NODE, token: TOKEN, env: { MN_EXECUTOR_MAX_CONCURRENCY: '64' } }), launchChromium()]);
    // A second machine in the cluster (registered and heartbeating, no daemon of its own): takes no work.
    await d.store.upsertNode({ name: OTHER, status: 'healthy', inventory: { ...machine(OTHER, { cpu_cores: 64, memory_mb: 262_144, disk_mb: 1_000_000 }), attributes: { zone: 'z2', rack: 'r07' } } });
    await d.store.heartbeat(OTHER, 10 * 60_000);
    await d.store.updateNode(OTHER, { scheduling_eligible: false });
    page = await chromium.browser.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await chromium?.close();
    await d?.close();
  });

  beforeEach(() => {
    pageErrors.length = 0;
  });

  it('lists the machines on the overview, with status, zone and usage bars', async () => {
    await page.goto(d.url);
    const own = page.locator(`tr[data-node="${NODE}"]`);
    await own.waitFor();
    await expect.poll(() => own.textContent()).toContain('healthy');
    expect(await own.textContent()).toContain('z1 / r01');
    const other = page.locator(`tr[data-node="${OTHER}"]`);
    expect(await other.textContent()).toContain('z2 / r07');
    expect(await other.textContent()).toContain('(not eligible)');
    expect(await own.locator('.bar').count()).toBe(2); // cpu and memory; no GPU on this machine
    expect(await page.locator('.card').first().textContent()).toContain('2 machines');
    expect(pageErrors).toEqual([]);
  });

  it('shows a submitted fan-out job appear and its counts rise to completed, without a reload', async () => {
    await page.goto(new URL('/jobs', d.url).href);
    await page.locator('h1').filter({ hasText: 'Jobs' }).waitFor();
    await page.locator('.live.live').waitFor();
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 17));
    const jobId = await d.submit(fanOutManifest('wide-fanout', 24, { command: ['sh', '-c', 'sleep 0.2; echo done'] }));
    const row = page.locator(`tr[data-job="${jobId}"]`);
    await row.waitFor({ timeout: 20_000 });
    // 24 workers + the router and the aggregator.
    await expect.poll(() => row.locator('td.completed').textContent(), { timeout: 30_000 }).toBe('26');
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 10_000 }).toBe('completed');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(17);
    await shot('jobs');

    await row.locator('a').click();
    await page.locator('svg.graph').waitFor();
    expect(await page.locator('svg.graph .gnode').count()).toBe(3);
    expect(await page.locator('svg.graph').textContent()).toContain('worker ×24');
    await expect.poll(() => page.locator('.counts b.completed').textContent()).toBe('26');
    expect(await page.locator('table.by-node').textContent()).toContain(NODE);
    await page.goto(new URL(`/jobs/${jobId}`, d.url).href);
    await page.locator('pre.result').waitFor();
    // The job's placement decisions: its submit evaluation placed all 26 agents.
    await expect.poll(() => page.locator('table.evaluations tbody tr').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('table.evaluations tbody').textContent()).toMatch(/submit.*complete.*26/);
    await shot('job');
    expect(pageErrors).toEqual([]);
  });

  it("shows a failing agent's error and its logs, as text", async () => {
    const jobId = await d.submit(failing);
    await page.goto(new URL(`/jobs/${jobId}`, d.url).href);
    const box = page.locator('.failure-box');
    await box.waitFor({ timeout: 20_000 });
    await expect.poll(() => box.textContent(), { timeout: 20_000 }).toContain('embed: exited with 3');
    await page.locator('tr[data-agent="embed"] button').click();
    const log = page.locator('pre.log');
    await log.waitFor();
    expect(await log.textContent()).toContain('loading shard 7');
    expect(await log.textContent()).toContain('CUDA out of memory: <script>alert(2)</script>');
    expect(await page.locator('pre.log script').count()).toBe(0);
    await shot('failed-job');
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it(`renders a job named ${HOSTILE} as text`, async () => {
    const jobId = await d.submit(longRunning(HOSTILE));
    for (const where of ['/jobs', `/jobs/${jobId}`]) {
      await page.goto(new URL(where, d.url).href);
      const name = page.locator('.jname').filter({ hasText: HOSTILE });
      await name.first().waitFor({ timeout: 20_000 });
      expect(await page.locator('main img').count()).toBe(0);
    }
    expect(dialogs).toEqual([]);
    await d.daemon.jobs.control(jobId, 'cancel');
  });

  it('refuses cancel without the token, and cancels with it', async () => {
    const jobId = await d.submit(longRunning('sleeper'));
    if (SHOTS) {
      await page.goto(d.url);
      await expect.poll(() => page.locator(`tr[data-node="${NODE}"] .bar span`).first().textContent(), { timeout: 10_000 }).not.toMatch(/^0 /);
      await shot('overview');
    }
    await page.goto(new URL(`/jobs/${jobId}`, d.url).href);
    const cancel = page.getByRole('button', { name: 'Cancel', exact: true });
    await cancel.waitFor({ timeout: 20_000 });
    await cancel.click();
    await expect.poll(() => page.locator('.action .error').textContent()).toMatch(/^Cancel refused: CancelJob requires the gRPC auth token/);
    expect((await d.store.getJob(jobId))!.status).not.toBe('cancelled');

    await page.locator('input[name=token]').fill(TOKEN);
    await page.getByRole('button', { name: 'Use', exact: true }).click();
    await cancel.click();
    await eventually(async () => (await d.store.getJob(jobId))!.status === 'cancelled');
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 10_000 }).toBe('cancelled');
  });

  it("shows a deployment's versions and canary batch, and promotes it with the token", async () => {
    const api = (command: string[]) => ({
      manifest_version: '1', graph_id: 'agent_api', deployment: { key: 'agent-api' }, type: 'service', entrypoints: ['api'],
      nodes: [{ node_id: 'api', agent_type: 'executor', count: 3, config: { command }, resources: { cpu_cores: 0.05, memory_mb: 16 } }],
      policies: { update: { strategy: 'canary', canary: 1, max_parallel: 2, min_healthy_ms: 0, healthy_deadline_ms: 15_000 } },
    });
    const deploy = (manifest: object) => rawCall<{ result_json: string }>(d.target, JOB_SERVICE, 'DeployJob', { manifest_json: JSON.stringify(manifest), deployment_key: '', update_policy_json: '{}' }, TOKEN);
    expect((await deploy(api(['sleep', '600']))).details).toBe('');
    await eventually(async () => JSON.parse((await rawCall<{ result_json: string }>(d.target, JOB_SERVICE, 'GetDeployment', { id_or_key: 'agent-api' })).res!.result_json).deployment.status === 'successful', 30_000);
    expect((await deploy(api(['sleep', '601']))).details).toBe('');

    await page.goto(new URL('/deployments', d.url).href);
    const row = page.locator('table.deployments tbody tr').first();
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 30_000 }).toBe('awaiting_promotion');
    expect(await row.textContent()).toContain('agent-api');
    await row.locator('a').click();
    await page.locator('table.versions').waitFor();
    expect(await page.locator('table.versions tbody tr').count()).toBe(2);
    expect(await page.locator('table.batches').textContent()).toContain('(canary)');
    await shot('deployment');
    await page.locator('input[name=token]').fill(TOKEN);
    await page.locator('input[name=token]').press('Enter');
    await page.getByRole('button', { name: 'Promote', exact: true }).click();
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 30_000 }).toBe('successful');
    expect(pageErrors).toEqual([]);
  });

  it('lists a schedule with its next runs in its time zone, and pauses it with the token', async () => {
    const created = await scheduleCall<{ schedule_id: string }>(d.target, 'CreateSchedule', { manifest_json: longRunning('nightly report'), schedule_json: JSON.stringify({ cron: '0 2 * * *', timezone: 'Europe/Paris' }), kind: '' }, TOKEN);
    await page.goto(new URL('/schedules', d.url).href);
    const row = page.locator(`tr[data-schedule="${created.schedule_id}"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await row.textContent()).toContain('0 2 * * *');
    expect(await row.locator('td.upcoming div').count()).toBe(3);
    expect(await row.locator('td.upcoming div').first().textContent()).toMatch(/02:00/);
    await shot('schedules');
    await row.getByRole('button', { name: 'Pause', exact: true }).click();
    await expect.poll(() => row.locator('.badge').first().textContent(), { timeout: 10_000 }).toBe('paused');
  });

  it('answers an unknown route with a 404 page', async () => {
    const res = await page.goto(new URL('/no/such/page', d.url).href);
    expect(res?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toContain('404');
  });
});
