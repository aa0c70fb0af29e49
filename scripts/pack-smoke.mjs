#!/usr/bin/env node
// Packaging smoke test: what a new user gets from the published packages.
//
// 1. Packs every public package (as a release would: a fresh build, `prepack` ships the docs the
//    README links) and checks that every relative link of every Markdown file in each tarball
//    resolves inside that tarball and that no `workspace:` range is left.
// 2. Creates two fresh projects outside the workspace with `npm init -y`: one as npm makes it
//    (CommonJS) and one ES module project, and installs the tarballs, `typescript`, `@types/node`
//    and `tsx` into each (once per project).
// 3. Runs every program among the ```js and ```ts blocks of each package README and of the root
//    README (a block with an `import` statement: the quick starts, the root README's "Use it"
//    snippet; a block without one is a fragment of the text around it, such as an option's
//    example, and is listed as skipped), unchanged, in both projects through tsx, as a user would
//    (`npx tsx quick-start.ts`). Each must exit by itself with status 0 (CommonJS has no
//    top-level await: snippets wrap their work in an async main).
// 4. Type-checks the TypeScript snippets plus a file importing every entry point with
//    `tsc --strict` without skipLibCheck, with `module` `nodenext` and with `bundler` resolution.
//
// The NATS quick start gets a nats-server of its own (NATS_URL); the root snippet is run over
// HTTP and over WebSocket by configuration alone (LISTEN_URL, ENDPOINTS).
import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const packages = ['core', 'transport-http', 'transport-ws', 'transport-nats'];
const entryPoints = [
  '@resilient-rpc/core',
  '@resilient-rpc/core/testing',
  '@resilient-rpc/core/transport',
  '@resilient-rpc/transport-http',
  '@resilient-rpc/transport-ws',
  '@resilient-rpc/transport-nats',
];
/** How long a snippet may take to run and exit, ms. */
const SNIPPET_TIMEOUT_MS = 60_000;
/** What the fresh projects install besides the tarballs (a user's usual TypeScript set-up). */
const TOOLS = ['typescript@5', '@types/node@20', 'tsx@4'];

const work = mkdtempSync(join(tmpdir(), 'resilient-rpc-smoke-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const execFileAsync = promisify(execFile);
const run = (command, args, cwd, extra = {}) =>
  execFileAsync(command, args, { cwd, encoding: 'utf8', timeout: 300_000, maxBuffer: 16 << 20, ...extra });

let failures = 0;
const ok = (message, output = '') =>
  console.log(`smoke: ok   ${message}${output.trim() ? `\n${output.trim().replace(/^/gm, '       ')}` : ''}`);
const fail = (message, detail = '') => {
  failures++;
  console.log(`smoke: FAIL ${message}${detail.trim() ? `\n${detail.trim().replace(/^/gm, '       ')}` : ''}`);
};
const outputOf = (error) =>
  `${error.killed ? `killed after ${SNIPPET_TIMEOUT_MS} ms: it did not exit by itself\n` : ''}${String(error.stdout ?? '')}${String(error.stderr ?? error.message)}`;

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port, or rejects after `timeoutMs`. */
async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise((done) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.end();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

/** Every ```js and ```ts block of `markdown`, in order. */
function snippetsOf(markdown) {
  return [...markdown.matchAll(/^```(js|ts)\n([\s\S]*?)^```/gm)].map((match) => ({
    language: match[1],
    code: match[2],
  }));
}

/** A snippet that is a whole program (it imports what it uses), not a fragment of the text. */
function isProgram(snippet) {
  return /^import\s/m.test(snippet.code);
}

/** Relative links of Markdown files in an unpacked package that point to nothing inside it. */
function brokenLinks(directory) {
  const broken = [];
  const visit = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') visit(path);
        continue;
      }
      if (!entry.name.endsWith('.md')) continue;
      const text = readFileSync(path, 'utf8');
      for (const [, target] of text.matchAll(/\]\(((?![a-z][a-z0-9+.-]*:|#)[^)\s]+)\)/gi)) {
        const file = resolve(dirname(path), target.split('#')[0]);
        if (!file.startsWith(directory) || !existsSync(file))
          broken.push(`${path.slice(directory.length + 1)} → ${target}`);
      }
    }
  };
  visit(directory);
  return broken;
}

let nats;
try {
  // --- 1. pack ---------------------------------------------------------------------------------
  await run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], root, {
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  for (const name of packages) {
    await run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'packages', name));
  }
  const files = readdirSync(tarballs)
    .filter((file) => file.endsWith('.tgz'))
    .map((file) => join(tarballs, file));
  console.log(`smoke: packed ${files.map((file) => file.slice(tarballs.length + 1)).join(', ')}`);
  for (const file of files) {
    const unpacked = join(work, 'unpacked', file.slice(tarballs.length + 1, -4));
    mkdirSync(unpacked, { recursive: true });
    await run('tar', ['-xzf', file, '-C', unpacked]);
    const directory = join(unpacked, 'package');
    const broken = brokenLinks(directory);
    const manifest = readFileSync(join(directory, 'package.json'), 'utf8');
    if (manifest.includes('workspace:')) broken.push('package.json still has a workspace: range');
    if (broken.length > 0)
      fail(`${file.slice(tarballs.length + 1)}: links that point nowhere`, broken.join('\n'));
    else ok(`${file.slice(tarballs.length + 1)}: every README and doc link resolves inside the tarball`);
  }

  // --- 2. two fresh projects ---------------------------------------------------------------------
  const projects = { commonjs: join(work, 'commonjs'), esm: join(work, 'esm') };
  await Promise.all(
    Object.entries(projects).map(async ([kind, directory]) => {
      mkdirSync(directory);
      await run('npm', ['init', '-y'], directory);
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
      // `npm init -y` makes a CommonJS project (older npm leaves "type" out, which means the same).
      if (kind === 'esm') manifest.type = 'module';
      else if (manifest.type !== undefined && manifest.type !== 'commonjs')
        throw new Error(`npm init -y made a ${manifest.type} project`);
      writeFileSync(join(directory, 'package.json'), JSON.stringify(manifest, null, 2));
      await run(
        'npm',
        ['install', '--no-audit', '--no-fund', '--loglevel=error', ...TOOLS, ...files],
        directory,
      );
    }),
  );

  // --- 3. run every snippet in both ------------------------------------------------------------
  // Named `<readme>-<n>`: `transport-http-2` is the second snippet of transport-http's README.
  const snippets = [];
  for (const [readme, path] of [
    ...packages.map((name) => [name, join(root, 'packages', name, 'README.md')]),
    ['root', join(root, 'README.md')],
  ]) {
    const found = snippetsOf(readFileSync(path, 'utf8'));
    const where = path.slice(root.length + 1);
    if (!found.some(isProgram)) fail(`${where} has no \`\`\`js or \`\`\`ts snippet that runs (with imports)`);
    const fragments = [];
    for (const [index, snippet] of found.entries()) {
      const name = `${readme}-${index + 1}`;
      if (isProgram(snippet)) snippets.push({ readme, name, ...snippet });
      else fragments.push(name);
    }
    if (fragments.length > 0)
      console.log(`smoke: skip ${where}: fragments without imports ${fragments.join(', ')}`);
  }

  const natsServer = 'nats-server';
  const natsPort = await freePort();
  nats = spawn(natsServer, ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: 'ignore' });
  const natsFailed = new Promise((_, reject) => nats.once('error', reject));
  natsFailed.catch(() => {});
  await Promise.race([waitForPort(natsPort, 10_000), natsFailed]).catch((error) => {
    throw new Error(
      `could not start ${natsServer} for the NATS quick start (Debian: apt-get install nats-server): ${error.message}`,
    );
  });

  /** The configurations each snippet runs with: the root one over HTTP and over WebSocket. */
  const configurations = async (readme) => {
    if (readme === 'transport-nats')
      return [{ label: '', env: { NATS_URL: `nats://127.0.0.1:${natsPort}` } }];
    if (readme !== 'root') return [{ label: '', env: {} }];
    const [port, down] = [await freePort(), await freePort()];
    return ['http', 'ws'].map((scheme) => ({
      label: ` over ${scheme}`,
      env: {
        LISTEN_URL: `${scheme}://127.0.0.1:${port}/rpc`,
        // The second endpoint has nobody listening: the call fails over.
        ENDPOINTS: `${scheme}://127.0.0.1:${port}/rpc,${scheme}://127.0.0.1:${down}/rpc`,
      },
    }));
  };
  for (const [kind, directory] of Object.entries(projects)) {
    for (const snippet of snippets) {
      const file = join(directory, `${snippet.name}.${snippet.language}`);
      writeFileSync(file, snippet.code);
      for (const configuration of await configurations(snippet.readme)) {
        const what = `${snippet.name} snippet, ${kind} project${configuration.label}`;
        try {
          const { stdout } = await run(join(directory, 'node_modules/.bin/tsx'), [file], directory, {
            timeout: SNIPPET_TIMEOUT_MS,
            env: { ...process.env, ...configuration.env },
          });
          ok(what, stdout);
        } catch (error) {
          fail(what, outputOf(error));
        }
      }
    }
  }

  // --- 4. strict type-check, both module settings -------------------------------------------------
  for (const [kind, directory] of Object.entries(projects)) {
    writeFileSync(
      join(directory, 'entry-points.ts'),
      `${entryPoints.map((entry, index) => `import * as entry${index} from '${entry}';`).join('\n')}\n` +
        `export const entryPoints = [${entryPoints.map((_, index) => `entry${index}`).join(', ')}];\n`,
    );
    const sources = [
      'entry-points.ts',
      ...snippets.filter((s) => s.language === 'ts').map((s) => `${s.name}.ts`),
    ];
    const settings = {
      nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
      bundler: { module: 'esnext', moduleResolution: 'bundler' },
    };
    for (const [setting, moduleOptions] of Object.entries(settings)) {
      const config = `tsconfig.${setting}.json`;
      writeFileSync(
        join(directory, config),
        JSON.stringify(
          {
            compilerOptions: {
              strict: true,
              skipLibCheck: false,
              noEmit: true,
              target: 'es2022',
              lib: ['es2022'],
              types: ['node'],
              ...moduleOptions,
            },
            files: sources,
          },
          null,
          2,
        ),
      );
      const what = `tsc --strict (no skipLibCheck, module ${setting}), ${kind} project: ${sources.join(', ')}`;
      try {
        await run(join(directory, 'node_modules/.bin/tsc'), ['-p', config], directory);
        ok(what);
      } catch (error) {
        fail(what, outputOf(error));
      }
    }
  }
} catch (error) {
  fail(error.message, String(error.stderr ?? ''));
} finally {
  if (nats?.pid !== undefined && nats.exitCode === null) nats.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
console.log(`smoke: ${failures === 0 ? 'passed' : `${failures} failed`}`);
process.exit(failures === 0 ? 0 : 1);
