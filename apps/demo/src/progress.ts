/**
 * Live progress: in a TTY a block redrawn in place (progress bar, calls/s, success so far,
 * endpoint states, active faults) with notable events scrolling above it; otherwise plain log
 * lines (events, and a progress line every two seconds).
 */
import type { Writable } from 'node:stream';
import { pct } from './stats.js';

export interface ProgressSnapshot {
  run: string;
  elapsedMs: number;
  durationMs: number;
  calls: number;
  succeeded: number;
  failed: number;
  inFlight: number;
  /** Calls finished per second over the last second. */
  rate: number;
  endpoints: Array<{ name: string; url: string; state: string; process: string }>;
  activeFaults: string[];
}

const ESC = '\x1b[';
const STATE_COLOR: Record<string, string> = {
  healthy: '32',
  probing: '36',
  suspect: '33',
  down: '31',
  ejected: '35',
};

export interface Progress {
  /** A notable event (fault injected, endpoint state change). */
  event(elapsedMs: number, text: string): void;
  /** The current state; drawn at the view's own pace. */
  update(snapshot: ProgressSnapshot): void;
  /** Plain text (headers, messages) outside the live block. */
  log(text: string): void;
  /** Ends the live block. */
  done(): void;
}

function stamp(elapsedMs: number): string {
  return `[${(elapsedMs / 1000).toFixed(1).padStart(5)}s]`;
}

export function createProgress(
  out: Writable & { isTTY?: boolean; columns?: number },
  quiet = false,
): Progress {
  if (quiet) return { event() {}, update() {}, log() {}, done() {} };
  return out.isTTY ? ttyProgress(out) : plainProgress(out);
}

function plainProgress(out: Writable): Progress {
  let lastLine = Number.NEGATIVE_INFINITY;
  return {
    event(elapsedMs, text) {
      out.write(`${stamp(elapsedMs)} ${text}\n`);
    },
    update(s) {
      if (s.elapsedMs - lastLine < 2_000) return;
      lastLine = s.elapsedMs;
      const done = s.calls === 0 ? null : s.succeeded / s.calls;
      out.write(
        `${stamp(s.elapsedMs)} ${s.run}: ${s.calls} calls, ${pct(done)} ok, ${Math.round(s.rate)} calls/s, ` +
          `${s.endpoints.map((e) => `${e.name}=${e.state}`).join(' ')}\n`,
      );
    },
    log(text) {
      out.write(`${text}\n`);
    },
    done() {
      lastLine = Number.NEGATIVE_INFINITY;
    },
  };
}

function ttyProgress(out: Writable & { columns?: number }): Progress {
  let drawn = 0;
  let last: ProgressSnapshot | undefined;
  let lastDraw = 0;
  const clear = () => {
    if (drawn > 0) out.write(`${ESC}${drawn}A${ESC}0J`);
    drawn = 0;
  };
  const draw = (s: ProgressSnapshot) => {
    const width = Math.max(10, Math.min(40, (out.columns ?? 80) - 50));
    const share = Math.min(1, s.elapsedMs / s.durationMs);
    const filled = Math.round(share * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const ok = s.calls === 0 ? null : s.succeeded / s.calls;
    const lines = [
      `${ESC}1m${s.run}${ESC}0m [${bar}] ${(s.elapsedMs / 1000).toFixed(1)}/${(s.durationMs / 1000).toFixed(0)}s  ` +
        `${Math.round(s.rate)} calls/s  success ${pct(ok)} (${s.succeeded}/${s.calls}, ${s.failed} failed, ${s.inFlight} in flight)`,
      ...s.endpoints.map(
        (e) =>
          `  ${e.name}  ${ESC}${STATE_COLOR[e.state] ?? '0'}m${e.state.padEnd(8)}${ESC}0m  ${e.process.padEnd(9)} ${e.url}`,
      ),
      `  faults: ${s.activeFaults.length > 0 ? s.activeFaults.join(', ') : 'none'}`,
    ];
    out.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  return {
    event(elapsedMs, text) {
      clear();
      out.write(`${stamp(elapsedMs)} ${text}\n`);
      if (last) draw(last);
    },
    update(s) {
      last = s;
      const now = performance.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      clear();
      draw(s);
    },
    log(text) {
      clear();
      out.write(`${text}\n`);
      if (last) draw(last);
    },
    done() {
      if (last) {
        clear();
        draw(last);
      }
      drawn = 0;
      last = undefined;
    },
  };
}
