/**
 * Writes src/client/schema.ts, the TypeScript types of the API document (test/lint/openapi.json)
 * in the shape `openapi-fetch` reads (`paths`, `operations`, `components`, `webhooks`), the shape
 * `openapi-typescript` writes. That generator needs TypeScript 5's compiler API, which this
 * project's TypeScript 7 does not have, so this script covers the JSON Schema the document uses:
 * `$ref`, `type` (and lists of types), `enum`, `const`, objects, arrays, `anyOf`/`oneOf`/`allOf`.
 *
 * `node scripts/client-types.mjs` writes the file; `--check` exits 1 when it is stale (a test
 * runs the check, so a route change without `npm run client:types` fails).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DOCUMENT = join(ROOT, "test", "lint", "openapi.json");
export const OUTPUT = join(ROOT, "src", "client", "schema.ts");
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const key = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));
const indent = (text, by = "  ") => text.replace(/\n/g, `\n${by}`);

function refType(ref) {
  const match = /^#\/components\/(\w+)\/(.+)$/.exec(ref);
  if (!match) {
    throw new Error(`Unsupported $ref ${ref}`);
  }
  return `components[${JSON.stringify(match[1])}][${JSON.stringify(match[2])}]`;
}

function literal(value) {
  return value === null ? "null" : JSON.stringify(value);
}

/** The TypeScript type of one JSON Schema. */
export function typeOf(schema) {
  if (!schema || schema === true || Object.keys(schema).length === 0) {
    return "unknown";
  }
  if (schema.$ref) {
    return refType(schema.$ref);
  }
  if ("const" in schema) {
    return literal(schema.const);
  }
  if (schema.enum) {
    return schema.enum.map(literal).join(" | ");
  }
  if (schema.allOf) {
    return schema.allOf.map((part) => `(${typeOf(part)})`).join(" & ");
  }
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    return union.map((part) => `(${typeOf(part)})`).join(" | ");
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length > 1) {
    return types.map((type) => typeOf({ ...schema, type })).join(" | ");
  }
  switch (types[0]) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      return `(${typeOf(schema.items)})[]`;
    case "object":
    case undefined:
      return objectType(schema);
    default:
      throw new Error(`Unsupported type ${types[0]}`);
  }
}

function objectType(schema) {
  const required = new Set(schema.required ?? []);
  const lines = Object.entries(schema.properties ?? {}).map(
    ([name, property]) =>
      `${key(name)}${required.has(name) ? "" : "?"}: ${indent(typeOf(property))};`,
  );
  const extra = schema.additionalProperties;
  if (extra && lines.length === 0) {
    return `Record<string, ${extra === true ? "unknown" : typeOf(extra)}>`;
  }
  if (extra) {
    lines.push(`[key: string]: ${extra === true ? "unknown" : `${typeOf(extra)} | unknown`};`);
  }
  if (lines.length === 0) {
    return schema.type === "object" ? "Record<string, unknown>" : "unknown";
  }
  return `{\n  ${lines.map((line) => indent(line)).join("\n  ")}\n}`;
}

function resolveParameter(document, parameter) {
  if (!parameter.$ref) {
    return parameter;
  }
  return document.components.parameters[parameter.$ref.split("/").pop()];
}

function parametersType(document, parameters = []) {
  const groups = ["query", "header", "path", "cookie"].map((place) => {
    const own = parameters.map((p) => resolveParameter(document, p)).filter((p) => p.in === place);
    if (own.length === 0) {
      return `${place}?: never;`;
    }
    const optional = own.every((p) => !p.required);
    const fields = own.map(
      (p) => `${key(p.name)}${p.required ? "" : "?"}: ${indent(typeOf(p.schema), "    ")};`,
    );
    return `${place}${optional ? "?" : ""}: {\n    ${fields.join("\n    ")}\n  };`;
  });
  return `{\n  ${groups.join("\n  ")}\n}`;
}

function contentType(content) {
  if (!content) {
    return "never";
  }
  const entries = Object.entries(content).map(
    ([media, value]) => `${JSON.stringify(media)}: ${indent(typeOf(value.schema))};`,
  );
  return `{\n  ${entries.map((line) => indent(line)).join("\n  ")}\n}`;
}

function operationType(document, pathParameters, operation) {
  const parameters = [...(pathParameters ?? []), ...(operation.parameters ?? [])];
  const lines = [`parameters: ${parametersType(document, parameters)};`];
  const body = operation.requestBody;
  if (body) {
    lines.push(
      `requestBody${body.required ? "" : "?"}: {\n  content: ${indent(contentType(body.content))};\n};`,
    );
  } else {
    lines.push("requestBody?: never;");
  }
  const responses = Object.entries(operation.responses ?? {}).map(([status, response]) => {
    const content = response.content ? contentType(response.content) : "never";
    return `${/^\d+$/.test(status) ? status : JSON.stringify(status)}: {\n  headers: { [name: string]: unknown };\n  content${response.content ? "" : "?"}: ${indent(content)};\n};`;
  });
  lines.push(`responses: {\n  ${responses.map((line) => indent(line)).join("\n  ")}\n};`);
  return `{\n  ${lines.map((line) => indent(line)).join("\n  ")}\n}`;
}

/** The whole generated file for `document`. */
export function generate(document) {
  const operations = [];
  const out = [
    "// Generated by scripts/client-types.mjs from test/lint/openapi.json: do not edit.",
    "// `npm run client:types` rewrites it.",
    "",
  ];
  const pathItems = (items) =>
    Object.entries(items ?? {}).map(([path, item]) => {
      const methods = METHODS.map((method) => {
        const operation = item[method];
        if (!operation) {
          return `${method}?: never;`;
        }
        const type = operationType(document, item.parameters, operation);
        if (operation.operationId) {
          operations.push(`${key(operation.operationId)}: ${indent(type)};`);
          return `${method}: operations[${JSON.stringify(operation.operationId)}];`;
        }
        return `${method}: ${indent(type, "    ")};`;
      });
      return `  ${JSON.stringify(path)}: {\n    parameters: ${indent(parametersType(document, item.parameters), "    ")};\n    ${methods.join("\n    ")}\n  };`;
    });
  out.push("export interface paths {", ...pathItems(document.paths), "}", "");
  out.push("export interface webhooks {", ...pathItems(document.webhooks), "}", "");
  const schemas = Object.entries(document.components?.schemas ?? {}).map(
    ([name, schema]) => `    ${key(name)}: ${indent(typeOf(schema), "    ")};`,
  );
  out.push("export interface components {", "  schemas: {", ...schemas, "  };", "}", "");
  out.push(
    "export interface operations {",
    ...operations.map((line) => `  ${indent(line)}`),
    "}",
    "",
  );
  return out.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = generate(JSON.parse(readFileSync(DOCUMENT, "utf8")));
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(OUTPUT, "utf8");
    } catch {}
    if (current !== text) {
      console.error("src/client/schema.ts is stale: run `npm run client:types`");
      process.exit(1);
    }
  } else {
    writeFileSync(OUTPUT, text);
  }
}
