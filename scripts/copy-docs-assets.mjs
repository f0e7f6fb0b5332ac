/**
 * postinstall: copies Swagger UI's files from swagger-ui-dist into src/static/docs/swagger-ui-dist/,
 * where Workers static assets serve them as /docs/swagger-ui-dist/<file>, so the /docs page works
 * offline. The extra folder is what @hono/swagger-ui expects: it loads
 * `${baseUrl}/swagger-ui-dist/swagger-ui.css` (and `-bundle.js`), so `baseUrl: "/docs"` fits. src/static/ must exist
 * even without them, because `wrangler dev` and `wrangler deploy` refuse a missing assets folder;
 * an install without devDependencies therefore only creates the folders and exits 0.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const STATIC_DIR = join(ROOT, "src", "static");
const DOCS_DIR = join(STATIC_DIR, "docs", "swagger-ui-dist");

const FILES = [
  "swagger-ui.css",
  "swagger-ui-bundle.js",
  "swagger-ui-standalone-preset.js",
  "favicon-16x16.png",
  "favicon-32x32.png",
];

mkdirSync(DOCS_DIR, { recursive: true });

let sourceDir;
try {
  const require = createRequire(import.meta.url);
  sourceDir = dirname(require.resolve("swagger-ui-dist/package.json"));
} catch {
  console.log("swagger-ui-dist is not installed; /docs will have no local assets");
  process.exit(0);
}

for (const file of FILES) {
  copyFileSync(join(sourceDir, file), join(DOCS_DIR, file));
}
console.log(`Copied ${FILES.length} Swagger UI files to src/static/docs/swagger-ui-dist/`);
