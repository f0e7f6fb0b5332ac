/**
 * Loads one of our TypeScript modules into Node for the micro-benchmarks (segments, matcher):
 * esbuild bundles it with its imports into a temporary ES module, which is then imported.
 * The bundle is what the Worker runs, minus wrangler's wrapping, so the figures are for our code.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { ROOT } from "./lib.mjs";

/** `relativePath` from the repository root, e.g. `src/domain/segments.ts`. */
export async function loadTs(relativePath) {
  const dir = mkdtempSync(join(tmpdir(), "relaybox-bench-"));
  const outfile = join(dir, "module.mjs");
  try {
    await build({
      entryPoints: [join(ROOT, relativePath)],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      outfile,
      logLevel: "error",
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
