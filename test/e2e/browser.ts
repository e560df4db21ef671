/**
 * What the browser tests share: Debian's chromium driven by playwright-core (a
 * fresh profile per launch), the artifacts folder, and small readers of the demo
 * page and the dashboard as a user sees them.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = 'test-artifacts';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The status dot's colours (src/pages/demo/index.html), as getComputedStyle reports them. */
export const DOT_COLOURS = {
  green: 'rgb(31, 157, 85)',
  yellow: 'rgb(214, 158, 0)',
  red: 'rgb(214, 69, 69)',
  grey: 'rgb(138, 147, 163)',
} as const;

/** A gateway and a chromium for the calling test file: started before its tests, stopped after. */
export function gatewayAndChromium(): { readonly gw: TestGateway; readonly browser: Browser } {
  const held = {} as { gw: TestGateway; browser: Browser };
  beforeAll(async () => {
    held.gw = await startTestGateway();
    held.browser = await launchChromium();
  });
  afterAll(async () => {
    await held.browser?.close();
    await held.gw?.stop();
  });
  return held;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: run scripts/ensure-system-deps.sh (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  // launch() gives every run a fresh temporary profile (the user-data-dir).
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** The demo's window.tetherDemo, as plain data. */
export interface DemoRecord {
  received: string[];
  states: string[];
  attempts: number[];
  detailedState: unknown;
}

export function demoRecord(page: Page): Promise<DemoRecord> {
  return page.evaluate(() => {
    const demo = (
      window as unknown as {
        tetherDemo: {
          received: string[];
          states: string[];
          attempts: number[];
          client: { detailedState: unknown };
        };
      }
    ).tetherDemo;
    return {
      received: [...demo.received],
      states: [...demo.states],
      attempts: [...demo.attempts],
      detailedState: demo.client.detailedState,
    };
  });
}

/** What the status indicator shows: its text and the dot's colour. */
export async function status(page: Page): Promise<{ state: string; text: string; colour: string }> {
  return page.$eval('#status', (el) => ({
    state: (el as HTMLElement).dataset.state ?? '',
    text: (el.textContent ?? '').replace(/\s+/g, ' ').trim(),
    colour: getComputedStyle(el.querySelector('.dot') as Element).color,
  }));
}

/** The event IDs on the page, in order. */
export const shownIds = (page: Page) =>
  page.$$eval('#events li', (lis) => lis.map((li) => (li as HTMLElement).dataset.id));

/** Whether the newest message is on screen, not under the fixed composer. */
export function newestMessageVisible(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const last = document.querySelector('#events li:last-child');
    const composer = document.querySelector('#composer');
    if (!last || !composer) return false;
    return last.getBoundingClientRect().bottom <= composer.getBoundingClientRect().top;
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
