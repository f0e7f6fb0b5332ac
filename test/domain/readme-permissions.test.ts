/**
 * The README's permission tables are domain/permissions written out: a change of one without the
 * other fails here, so the documentation cannot drift from what the server enforces.
 */
import { describe, expect, it } from "vitest";
import readme from "../../README.md?raw";
import {
  BUILT_IN_ROLES,
  grants,
  PERMISSION_DESCRIPTIONS,
  PERMISSIONS,
  ROLE_PERMISSIONS,
} from "../../src/domain/permissions";

/** The rows of the Markdown table between `<!-- name:start -->` and `<!-- name:end -->`. */
function table(name: string): string[][] {
  const start = readme.indexOf(`<!-- ${name}:start -->`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  expect(start, `README.md has no <!-- ${name}:start --> marker`).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return readme
    .slice(start, end)
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) =>
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
}

const unquoted = (cell: string) => cell.replace(/^`(.*)`$/, "$1");

describe("README.md's roles and permissions", () => {
  it("describes every permission, in order, as domain/permissions does", () => {
    const [header, _rule, ...rows] = table("permissions");
    expect(header).toEqual(["permission", "what it allows"]);
    expect(rows.map(([p, description]) => [unquoted(p ?? ""), description])).toEqual(
      PERMISSIONS.map((p) => [p, PERMISSION_DESCRIPTIONS[p]]),
    );
  });

  it("writes out the matrix: a ✓ exactly where a built-in role holds the permission", () => {
    const [header, _rule, ...rows] = table("permission-matrix");
    expect(header).toEqual(["permission", ...BUILT_IN_ROLES]);
    expect(rows.map((row) => unquoted(row[0] ?? ""))).toEqual([...PERMISSIONS]);
    const expected = PERMISSIONS.map((p) => [
      `\`${p}\``,
      ...BUILT_IN_ROLES.map((role) => (grants(ROLE_PERMISSIONS[role], p) ? "✓" : "")),
    ]);
    expect(rows).toEqual(expected);
  });
});
