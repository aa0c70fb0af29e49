#!/usr/bin/env node
/**
 * What the tests need beyond npm packages: `nats-server` (the NATS tests and the NATS demo start
 * their own) and Chromium (the demo's HTML report test renders the report in it). When one is
 * missing, installs it from Debian packages if it can (root and apt-get); otherwise stops with
 * one line saying what to install. Runs first in the root `test` script.
 *
 *   node scripts/ensure-system-deps.mjs          # check, install what is missing if root
 *   node scripts/ensure-system-deps.mjs --check  # check only, never install
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each need: the commands that satisfy it, and the Debian package that provides one. */
const NEEDS = [
  { what: 'nats-server', commands: ['nats-server'], debian: 'nats-server' },
  { what: 'Chromium', commands: ['chromium', 'chromium-browser'], debian: 'chromium' },
];

function onPath(command) {
  // Debian puts nats-server in /usr/sbin, which a non-login PATH may lack.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

const missing = () => NEEDS.filter((need) => !need.commands.some(onPath));

let lacking = missing();
if (lacking.length === 0) process.exit(0);

const packages = lacking.map((need) => need.debian);
const checkOnly = process.argv.includes('--check');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = onPath('apt-get');
if (!checkOnly && isRoot && hasApt) {
  console.log(`ensure-system-deps: installing ${packages.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (update.status === 0) {
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
      stdio: 'inherit',
      env,
    });
  }
  lacking = missing();
  if (lacking.length === 0) process.exit(0);
}

const how = hasApt
  ? `sudo apt-get install -y ${lacking.map((need) => need.debian).join(' ')}`
  : `install ${lacking.map((need) => need.debian).join(' and ')} with your package manager`;
console.error(
  `ensure-system-deps: the tests need ${lacking.map((need) => need.what).join(' and ')}, which ${lacking.length > 1 ? 'are' : 'is'} not installed: ${how}, then run the command again.`,
);
process.exit(1);
