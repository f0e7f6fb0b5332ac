declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}

/** A file's text, imported with Vite's `?raw` suffix (the README, for the tests that read it). */
declare module "*.md?raw" {
  const text: string;
  export default text;
}

/** wrangler.toml's text (test/scripts/deploy-plan.test.ts checks the deploy plan against it). */
declare module "*.toml?raw" {
  const text: string;
  export default text;
}
