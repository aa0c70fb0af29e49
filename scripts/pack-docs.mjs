#!/usr/bin/env node
// Ships the repository docs a package README links to inside the package's tarball.
//
// In the repository a package README links the shared docs as `../../docs/protocol.md`, which a
// tarball does not contain. Run as the package's `prepack` script (working directory: the package),
// this copies every repository file the README links outside the package into the package's
// `docs/` folder, follows the links of the copied docs (so `protocol.md` brings `security.md`),
// and rewrites the README's links to the copies. Links of a copied doc to something not shipped
// become plain text, so that nothing in the tarball points nowhere. `--restore` (the `postpack`
// script) puts the README back and removes the copies.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

const packageDirectory = process.cwd();
const readme = join(packageDirectory, 'README.md');
const saved = join(packageDirectory, '.README.md.prepack');
const shipped = join(packageDirectory, 'docs');

/** Puts the README back and removes the copied docs (also cleans up after an interrupted pack). */
function restore() {
  if (existsSync(saved)) renameSync(saved, readme);
  rmSync(shipped, { recursive: true, force: true });
}

// `[text](target)` with a relative target (no scheme, not an in-page anchor).
const LINK = /\[([^\]]*)\]\(((?![a-z][a-z0-9+.-]*:|#)[^)\s]+)\)/gi;

/** Splits `file#anchor` into the file and the `#anchor` suffix. */
function splitTarget(target) {
  const hash = target.indexOf('#');
  return hash === -1 ? [target, ''] : [target.slice(0, hash), target.slice(hash)];
}

/** The name a repository file gets in `docs/`: its base name, the root README as `resilient-rpc.md`. */
function shippedName(file, root) {
  return relative(root, file) === 'README.md' ? 'resilient-rpc.md' : basename(file);
}

function pack() {
  restore();
  const root = resolve(packageDirectory, '../..');
  const original = readFileSync(readme, 'utf8');
  /** Repository file → its name in docs/. */
  const copies = new Map();
  const queue = [];
  const ship = (file) => {
    if (!copies.has(file)) {
      const name = shippedName(file, root);
      if ([...copies.values()].includes(name)) throw new Error(`pack-docs: two docs named ${name}`);
      copies.set(file, name);
      queue.push(file);
    }
    return copies.get(file);
  };
  const outside = (file) => relative(packageDirectory, file).startsWith(`..${sep}`);

  const rewritten = original.replace(LINK, (whole, text, target) => {
    const [path, anchor] = splitTarget(target);
    const file = resolve(packageDirectory, path);
    if (!outside(file)) return whole;
    if (!existsSync(file) || !file.endsWith('.md')) {
      throw new Error(`pack-docs: README.md links ${target}, which is not a Markdown file of the repository`);
    }
    return `[${text}](docs/${ship(file)}${anchor})`;
  });

  const contents = new Map();
  while (queue.length > 0) {
    const file = queue.shift();
    const text = readFileSync(file, 'utf8').replace(LINK, (_whole, linkText, target) => {
      const [path, anchor] = splitTarget(target);
      const linked = resolve(dirname(file), path);
      // Docs next to each other ship together; anything else is not in the tarball.
      if (linked.endsWith('.md') && existsSync(linked) && dirname(linked) === dirname(file)) {
        return `[${linkText}](${ship(linked)}${anchor})`;
      }
      return linkText;
    });
    contents.set(file, text);
  }
  if (copies.size === 0) return;
  mkdirSync(shipped, { recursive: true });
  for (const [file, name] of copies) writeFileSync(join(shipped, name), contents.get(file));
  copyFileSync(readme, saved);
  writeFileSync(readme, rewritten);
  console.log(`pack-docs: shipped ${[...copies.values()].map((name) => `docs/${name}`).join(', ')}`);
}

if (process.argv.includes('--restore')) restore();
else pack();
