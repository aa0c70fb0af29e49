#!/usr/bin/env node
// Packaging smoke test: pack every public package, install the tarballs into a fresh project
// outside the workspace, and run each package README's quick start (its first ```js or ```ts
// block, TypeScript through tsx as a user would) there.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const packages = ['core', 'transport-http', 'transport-ws', 'transport-nats'];
const work = mkdtempSync(join(tmpdir(), 'resilient-rpc-smoke-'));
const tarballs = join(work, 'tarballs');
const project = join(work, 'project');
mkdirSync(tarballs);
mkdirSync(project);
const run = (command, args, cwd, extra = {}) =>
  execFileSync(command, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 180_000,
    ...extra,
  });

let failures = 0;
try {
  // Pack what a release would publish: build first, so the tarballs hold a fresh dist/.
  run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], root, {
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  for (const name of packages) {
    run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'packages', name));
  }
  const files = readdirSync(tarballs).filter((file) => file.endsWith('.tgz'));
  console.log(`smoke: packed ${files.join(', ')}`);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'smoke', private: true, type: 'module' }, null, 2),
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      'tsx@4',
      ...files.map((file) => join(tarballs, file)),
    ],
    project,
  );
  for (const name of packages) {
    const readme = readFileSync(join(root, 'packages', name, 'README.md'), 'utf8');
    const match = readme.match(/```(js|ts)\n([\s\S]*?)```/);
    if (!match) {
      console.log(`smoke: FAIL ${name}: README has no \`\`\`js or \`\`\`ts quick start`);
      failures++;
      continue;
    }
    const file = join(project, `quick-start-${name}.${match[1] === 'ts' ? 'mts' : 'mjs'}`);
    writeFileSync(file, match[2]);
    try {
      const output = run(process.execPath, ['--import', 'tsx', file], project, { timeout: 60_000 });
      console.log(`smoke: ok   ${name} quick start\n${output.trim().replace(/^/gm, '       ')}`);
    } catch (error) {
      failures++;
      console.log(
        `smoke: FAIL ${name} quick start\n${String(error.stdout ?? '')}${String(error.stderr ?? error.message)}`,
      );
    }
  }
} catch (error) {
  failures++;
  console.log(`smoke: FAIL ${error.message}\n${String(error.stderr ?? '')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failures === 0 ? 0 : 1);
