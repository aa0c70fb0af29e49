import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { artifactsDir, checkInvariants, runQuick } from './helpers.js';

function chromiumPath(): string {
  let path = '';
  try {
    path = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    // not found
  }
  if (path === '' || !existsSync(path)) {
    throw new Error(
      'Chromium is not installed: the HTML report test needs it (Debian: apt-get install -y chromium). This test is never skipped.',
    );
  }
  return path;
}

describe('demo end to end over HTTP', () => {
  it('keeps its invariants with the quick scenario and renders the HTML report in Chromium', async () => {
    const html = `${artifactsDir}report-http.html`;
    const { result, report } = await runQuick('http', ['--html', html]);
    checkInvariants(report, 'http');
    // The terminal report and the plain (non-TTY) progress log.
    expect(result.stdout).toContain('fault: crash r0 (SIGKILL pid');
    expect(result.stdout).toContain('RESULT: OK');
    expect(result.stdout).toMatch(/Availability of calls/);
    expect(result.stdout).not.toContain('\x1b[');

    expect(statSync(html).size).toBeGreaterThan(1_000);
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      await page.goto(`file://${html}`);
      for (const id of ['#chart-success', '#chart-latency', '#chart-states']) {
        const box = await page.locator(id).boundingBox();
        expect(box, id).not.toBeNull();
        expect(box!.width).toBeGreaterThan(300);
        expect(box!.height).toBeGreaterThan(80);
      }
      // The chart draws both runs' success rate, the endpoint states and a marker per fault.
      expect(await page.locator('#chart-success polyline.series-recovery').count()).toBeGreaterThan(0);
      expect(await page.locator('#chart-success polyline.series-baseline').count()).toBeGreaterThan(0);
      expect(await page.locator('#chart-success rect.fault').count()).toBe(report.faults.length);
      expect(await page.locator('#chart-states rect.state').count()).toBeGreaterThanOrEqual(3);
      for (const id of [
        '#table-phases',
        '#table-baseline-phases',
        '#table-detections',
        '#table-availability',
        '#table-predictions',
      ]) {
        const table = page.locator(id);
        const box = await table.boundingBox();
        expect(box, id).not.toBeNull();
        expect(box!.height).toBeGreaterThan(20);
        expect(await table.locator('tbody tr').count()).toBeGreaterThan(0);
      }
      expect(await page.locator('#table-phases tbody tr').count()).toBe(report.phases.length);
      await page.screenshot({ path: `${artifactsDir}report-http.png`, fullPage: true });
      expect(statSync(`${artifactsDir}report-http.png`).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 150_000);
});
