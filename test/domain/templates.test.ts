import { describe, expect, it } from "vitest";
import {
  checkDeclarations,
  checkVariables,
  compileTemplate,
  placeholdersOf,
  renderTemplate,
} from "../../src/domain/templates";
import type { VariableDeclaration } from "../../src/domain/vocabulary";

const declare = (
  name: string,
  type: VariableDeclaration["type"],
  maxLength = 20,
): VariableDeclaration => ({ name, type, maxLength });

describe("compileTemplate and renderTemplate", () => {
  it("splits a body once into literal parts and placeholder names", () => {
    expect(compileTemplate("Hi {{name}}, your code is {{ code }}.")).toEqual({
      parts: ["Hi ", ", your code is ", "."],
      names: ["name", "code"],
    });
  });

  it("renders every use of a placeholder, including at the edges and side by side", () => {
    const compiled = compileTemplate("{{a}}{{b}} and {{a}}");
    expect(renderTemplate(compiled, { a: "1", b: "2" })).toBe("12 and 1");
  });

  it("renders a body without placeholders as it is", () => {
    expect(renderTemplate(compileTemplate("No variables here."), {})).toBe("No variables here.");
  });

  it("keeps values as text: a value that looks like a placeholder is not expanded again", () => {
    const compiled = compileTemplate("Hello {{name}}");
    expect(renderTemplate(compiled, { name: "{{name}} $& $1" })).toBe("Hello {{name}} $& $1");
  });

  it("treats names as case-sensitive and misspelt placeholders as literal text", () => {
    expect(compileTemplate("{{Name}} {{ na me }} {{1x}} {name} {{ok}}").names).toEqual(["ok"]);
  });

  it("lists each placeholder once in order of first use", () => {
    expect(placeholdersOf("{{b}} {{a}} {{ b }} {{c}}")).toEqual(["b", "a", "c"]);
  });

  it("renders a 100,000-recipient batch quickly", () => {
    const compiled = compileTemplate("Hi {{name}}, your order {{order}} ships on {{date}}.");
    const started = performance.now();
    let length = 0;
    for (let i = 0; i < 100_000; i++) {
      length += renderTemplate(compiled, {
        name: "Li",
        order: String(i),
        date: "2025-03-01",
      }).length;
    }
    expect(length).toBeGreaterThan(100_000 * 40);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("checkDeclarations", () => {
  it("accepts a body whose placeholders are exactly the declared variables", () => {
    const body = "Your code is {{code}}, valid for {{ minutes }} minutes.";
    expect(
      checkDeclarations(body, [declare("code", "code"), declare("minutes", "number")]),
    ).toEqual([]);
  });

  it("names each placeholder that is not declared", () => {
    expect(checkDeclarations("{{a}} {{b}} {{c}}", [declare("b", "string")])).toEqual([
      { pointer: "/body", detail: "{{a}} is not declared in `variables`" },
      { pointer: "/body", detail: "{{c}} is not declared in `variables`" },
    ]);
  });

  it("names each declaration the body does not use, and each declared twice", () => {
    const problems = checkDeclarations("{{a}}", [
      declare("a", "string"),
      declare("unused", "number"),
      declare("a", "code"),
    ]);
    expect(problems.map((p) => p.pointer)).toEqual(["/variables/1/name", "/variables/2/name"]);
    expect(problems[0]?.detail).toMatch(/`unused` is declared but the body has no \{\{unused\}\}/);
    expect(problems[1]?.detail).toMatch(/`a` is declared twice/);
  });

  it("refuses max lengths outside 1 to 500 and malformed names", () => {
    const problems = checkDeclarations("{{a}} {{b}}", [
      declare("a", "string", 0),
      declare("b", "string", 501),
      declare("Bad-Name", "string", 5),
    ]);
    expect(problems.map((p) => p.pointer)).toEqual([
      "/variables/0/max_length",
      "/variables/1/max_length",
      "/variables/2/name",
    ]);
  });

  it.each([
    "Your code is {{code}",
    "Your code is {code}}",
    "Your code is {{Code}} {{code}}",
    "Hello {{ first name }} {{code}}",
  ])("refuses stray braces in %s", (body) => {
    const problems = checkDeclarations(body, [declare("code", "code")]);
    expect(problems.some((p) => p.pointer === "/body" && /not a placeholder/.test(p.detail))).toBe(
      true,
    );
  });

  it("allows single braces as ordinary text", () => {
    expect(checkDeclarations("Use {x} or } or { {{a}}", [declare("a", "string")])).toEqual([]);
  });
});

describe("checkVariables", () => {
  const declarations = [
    declare("name", "string", 5),
    declare("amount", "number", 10),
    declare("code", "code", 6),
    declare("on", "date", 30),
    declare("link", "url", 40),
  ];
  const good = {
    name: "Li",
    amount: "19.99",
    code: "A1b2C3",
    on: "2025-03-01",
    link: "https://relaybox.dev/o/1",
  };

  it("accepts values that fit their declarations and returns their string forms", () => {
    expect(checkVariables(declarations, good)).toEqual({ ok: true, values: good });
  });

  it("names each missing, extra and too long variable", () => {
    const { name: _name, code: _code, ...rest } = good;
    const result = checkVariables(declarations, {
      ...rest,
      amount: "12345678901",
      coupon: "X",
      extra: 1,
    });
    expect(result).toEqual({
      ok: false,
      errors: [
        { pointer: "/variables/name", detail: "missing: the template uses {{name}}" },
        { pointer: "/variables/amount", detail: "too long: 11 characters, at most 10" },
        { pointer: "/variables/code", detail: "missing: the template uses {{code}}" },
        { pointer: "/variables/coupon", detail: "not declared by the template" },
        { pointer: "/variables/extra", detail: "not declared by the template" },
      ],
    });
  });

  it("counts characters, not UTF-16 units, against the max length", () => {
    expect(checkVariables([declare("name", "string", 3)], { name: "😀😀😀" }).ok).toBe(true);
    expect(checkVariables([declare("name", "string", 3)], { name: "王小明明" })).toEqual({
      ok: false,
      errors: [{ pointer: "/variables/name", detail: "too long: 4 characters, at most 3" }],
    });
  });

  it.each([
    { type: "number", value: "12a" },
    { type: "number", value: "1e5" },
    { type: "number", value: ".5" },
    { type: "number", value: true },
    { type: "number", value: Number.NaN },
    { type: "code", value: "12-34" },
    { type: "code", value: "１２３" },
    { type: "code", value: -5 },
    { type: "code", value: 1.5 },
    { type: "date", value: "2025-02-30" },
    { type: "date", value: "01/03/2025" },
    { type: "date", value: "2025-03-01T25:00:00Z" },
    { type: "url", value: "ftp://relaybox.dev/file" },
    { type: "url", value: "relaybox.dev/o/1" },
    { type: "url", value: "https://relay box.dev" },
    { type: "string", value: "bell\u0007" },
    { type: "string", value: "tab\there" },
    { type: "string", value: 42 },
    { type: "string", value: { nested: true } },
  ] as const)("names a $type variable given $value as of the wrong type", ({ type, value }) => {
    const result = checkVariables([declare("v", type)], { v: value });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]?.pointer).toBe("/variables/v");
      expect(result.errors[0]?.detail).toMatch(new RegExp(`\\(${type}\\)$`));
    }
  });

  it.each([
    { type: "number", value: "-3", shown: "-3" },
    { type: "number", value: "+0.50", shown: "+0.50" },
    { type: "number", value: 42.5, shown: "42.5" },
    { type: "code", value: "000123", shown: "000123" },
    { type: "code", value: 123456, shown: "123456" },
    { type: "date", value: "2025-03-01T09:30:00+08:00", shown: "2025-03-01T09:30:00+08:00" },
    { type: "date", value: "2024-02-29T09:30Z", shown: "2024-02-29T09:30Z" },
    { type: "url", value: "http://example.com/a?b=c#d", shown: "http://example.com/a?b=c#d" },
    { type: "string", value: "两行\n文本", shown: "两行\n文本" },
  ] as const)("accepts $value for a $type variable", ({ type, value, shown }) => {
    expect(checkVariables([declare("v", type, 40)], { v: value })).toEqual({
      ok: true,
      values: { v: shown },
    });
  });

  it("refuses an empty value and treats null as missing", () => {
    const result = checkVariables([declare("a", "string"), declare("b", "string")], {
      a: "",
      b: null,
    });
    expect(result).toEqual({
      ok: false,
      errors: [
        { pointer: "/variables/a", detail: "must not be empty" },
        { pointer: "/variables/b", detail: "missing: the template uses {{b}}" },
      ],
    });
  });

  it("does not mistake inherited properties for sent values", () => {
    const result = checkVariables([declare("constructor", "string")], {});
    expect(result.ok).toBe(false);
  });
});
