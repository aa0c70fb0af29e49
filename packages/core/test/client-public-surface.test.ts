import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@resilient-rpc/core';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('public surface', () => {
  it('the root exports a curated list, not every module (internals stay inside)', () => {
    const names = Object.keys(core);
    for (const internal of [
      'TypedEmitter',
      'Endpoint',
      'Call',
      'DeadlineTimer',
      'EndpointSelector',
      'MethodRegistry',
      'RequestScope',
      'MAX_PLATFORM_TIMER_MS',
      'RetriesExhaustedError',
    ])
      expect(names, internal).not.toContain(internal);
    for (const kept of [
      'createClient',
      'createServer',
      'isRpcError',
      'TimeoutError',
      'systemClock',
      'refuse',
      'Reconnector',
      'validateRequest',
    ])
      expect(names, kept).toContain(kept);
    expect(names.length).toBeLessThan(100);
  });

  it('the root index lists its exports: no `export *`', () => {
    expect(readFileSync(join(src, 'index.ts'), 'utf8')).not.toMatch(/export \*/);
  });

  it('the call path never branches on an error message or class name', () => {
    const callPath = ['client', 'recovery', 'detection'].flatMap((dir) => files(join(src, dir)));
    const offenders = callPath.filter((path) =>
      /\.(message|name) ===|=== [A-Za-z]*\.(message|name)\b|instanceof [A-Z][A-Za-z]*Error/.test(
        readFileSync(path, 'utf8'),
      ),
    );
    expect(offenders).toEqual([]);
  });

  it('no code comment or message in the core points at a DESIGN.md the repo does not have', () => {
    const offenders = files(src).filter((path) => /DESIGN(\.md| §)/.test(readFileSync(path, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
