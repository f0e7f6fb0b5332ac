// DESIGN.md's "Parts" table as dependency-cruiser rules: arrows run down the table only, and no
// import cycles, type-only imports included. `npm run lint` runs it on src/.
// Each layer lists what it may import besides itself (a layer may always import its own files).

/** @type {Record<string, string[]>} layer → the layers it may import */
const mayImport = {
  app: ["app-env", "routes", "dashboard", "middleware", "services", "domain", "config", "lib"],
  routes: ["app-env", "services", "middleware", "domain", "config", "lib"],
  dashboard: ["app-env", "services", "middleware", "domain", "config", "lib"],
  queues: ["delivery", "channels", "domain", "db", "config", "lib"],
  "durable-objects": ["delivery", "channels", "domain", "db", "config", "lib"],
  services: ["delivery", "channels", "domain", "db", "config", "lib"],
  delivery: ["channels", "domain", "db", "config", "lib"],
  middleware: ["app-env", "domain", "db", "config", "lib"],
  // The Hono AppEnv type beside app.ts: what the HTTP layers share, made of domain types only.
  "app-env": ["domain"],
  channels: ["domain", "lib"],
  db: ["domain", "lib"],
  domain: ["lib"],
  config: ["lib"],
  lib: [],
  // The API client (package.json "exports": "./client"): it runs outside the Worker, on its own
  // generated types, and nothing of the Worker imports it.
  client: [],
};

// `app` is the Hono app and what sits beside it (its AppEnv type, its error handler); `index.ts`
// is the Worker entry and may import everything, so it has no rule.
const layerPath = (layer) => {
  if (layer === "app") {
    return "^src/app(-errors)?\\.ts$";
  }
  return layer === "app-env" ? "^src/app-env\\.ts$" : `^src/${layer}/`;
};

const forbidden = Object.entries(mayImport).map(([layer, allowed]) => {
  const others = Object.keys(mayImport).filter((l) => l !== layer && !allowed.includes(l));
  return {
    name: `${layer}-imports-only-${allowed.join("-") || "nothing"}`,
    comment: `DESIGN.md: ${layer} may import ${allowed.join(", ") || "nothing of ours"}`,
    severity: "error",
    from: { path: layerPath(layer) },
    to: { path: others.map(layerPath) },
  };
});

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: "no-circular",
      comment: "no import cycles, type-only imports included",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "status-changes-through-the-writer",
      comment:
        "DESIGN.md: every status change goes through delivery/status-writer.ts; its parts in status-writer/ are imported by it alone",
      severity: "error",
      from: { pathNot: "^src/delivery/status-writer(\\.ts$|/)" },
      to: { path: "^src/delivery/status-writer/" },
    },
    {
      name: "no-upward-to-entry",
      comment: "nothing imports the Worker entry",
      severity: "error",
      from: {},
      to: { path: "^src/index\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/static/" },
    // swc reads the TypeScript itself (TypeScript 7 has no compiler API for dependency-cruiser
    // yet) and keeps `import type` edges, so type-only cycles count too.
    parser: "swc",
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js", ".d.ts"] },
  },
};
