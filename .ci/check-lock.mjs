/**
 * Before `npm ci`: says exactly why the lock file and package.json disagree, instead of npm's
 * one-line refusal. Checks that every dependency of package.json is in the lock with the same
 * range, that each one the lock installs at the top level has the pinned version, and that no
 * lock entry lacks a version (placeholders like these broke `npm ci` on npm 11 with "Invalid
 * Version"). The fix is npm's own: `npm install --package-lock-only --ignore-scripts`.
 * Runs on any Node ≥ 18 with no dependencies. Exits 1 with the reasons.
 */
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const problems = [];

const root = lock.packages?.[""] ?? {};
for (const field of ["dependencies", "devDependencies", "optionalDependencies"]) {
  const wanted = pkg[field] ?? {};
  const locked = root[field] ?? {};
  for (const [name, range] of Object.entries(wanted)) {
    if (locked[name] !== range) {
      problems.push(`${field}.${name}: package.json wants ${range}, the lock has ${locked[name] ?? "nothing"}`);
      continue;
    }
    const installed = lock.packages[`node_modules/${name}`];
    if (/^\d+\.\d+\.\d+/.test(range) && installed && installed.version !== range) {
      problems.push(`${name}: pinned to ${range} in package.json, the lock installs ${installed.version}`);
    }
  }
  for (const name of Object.keys(locked)) {
    if (!(name in wanted)) {
      problems.push(`${field}.${name}: in the lock but not in package.json`);
    }
  }
}
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (path !== "" && !entry.link && !entry.version) {
    problems.push(`${path}: a lock entry with no version (a placeholder npm ≥ 11 refuses)`);
  }
}

if (problems.length > 0) {
  console.error("package-lock.json does not match package.json:");
  for (const problem of problems) {
    console.error(`  - ${problem}`);
  }
  console.error("Let npm rewrite the lock: npm install --package-lock-only --ignore-scripts");
  process.exit(1);
}
console.log(`package-lock.json matches package.json (${Object.keys(lock.packages).length} entries)`);
