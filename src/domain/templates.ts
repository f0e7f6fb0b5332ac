/**
 * Message templates: `{{name}}` placeholders, declared variables and the values sent for them,
 * rendering (the opt-out line of marketing messages is in opt-out.ts). A body is compiled once and
 * rendered many times (a batch renders it once per recipient), so rendering is a plain join of
 * precomputed parts.
 *
 * A placeholder is `{{name}}`, optionally with spaces inside the braces (`{{ name }}`); names are
 * `[a-z_][a-z0-9_]*` and case-sensitive. `compileTemplate` never fails: text that is not a
 * placeholder is literal. `checkDeclarations` refuses a stray `{{` or `}}`, so the bodies that can
 * be stored never have one and no text is silently treated as literal by mistake.
 */
import type { VariableDeclaration, VariableType } from "./vocabulary";

export type { VariableDeclaration, VariableType };

export interface CompiledTemplate {
  /** Literal text around the placeholders: always one more than `names`. */
  parts: string[];
  /** The placeholder at each gap between parts, in order (a name may repeat). */
  names: string[];
}

export interface FieldProblem {
  pointer: string;
  detail: string;
}

export const VARIABLE_NAME = /^[a-z_][a-z0-9_]*$/;
export const MAX_LENGTH_BOUNDS = { min: 1, max: 500 } as const;

const PLACEHOLDER = /\{\{ *([a-z_][a-z0-9_]*) *\}\}/g;

export function compileTemplate(body: string): CompiledTemplate {
  const parts: string[] = [];
  const names: string[] = [];
  let from = 0;
  for (const match of body.matchAll(PLACEHOLDER)) {
    parts.push(body.slice(from, match.index));
    names.push(match[1] ?? "");
    from = match.index + match[0].length;
  }
  parts.push(body.slice(from));
  return { parts, names };
}

/** Each placeholder's name once, in order of first use. */
export function placeholdersOf(body: string): string[] {
  return [...new Set(compileTemplate(body).names)];
}

export function renderTemplate(compiled: CompiledTemplate, values: Record<string, string>): string {
  const { parts, names } = compiled;
  let out = parts[0] ?? "";
  for (let i = 0; i < names.length; i++) {
    out += (values[names[i] ?? ""] ?? "") + (parts[i + 1] ?? "");
  }
  return out;
}

/** `{{` or `}}` left in the literal text: a placeholder that is misspelt or unbalanced. */
function strayBraces(compiled: CompiledTemplate): string[] {
  const found: string[] = [];
  for (const part of compiled.parts) {
    const at = part.search(/\{\{|\}\}/);
    if (at >= 0) {
      found.push(part.slice(Math.max(0, at - 10), at + 12));
    }
  }
  return found;
}

/**
 * Rules a template's body and variables must keep together: every placeholder declared, every
 * declaration used, names unique and well-formed, max lengths within bounds. Pointers are into a
 * body `{body, variables: [{name, type, max_length}]}`; empty when all is well.
 */
export function checkDeclarations(
  body: string,
  declarations: readonly VariableDeclaration[],
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const compiled = compileTemplate(body);
  for (const near of strayBraces(compiled)) {
    problems.push({
      pointer: "/body",
      detail: `\`{{\` or \`}}\` that is not a placeholder near "${near}": write placeholders as {{name}} with a name of lowercase letters, digits and _`,
    });
  }
  const used = new Set(compiled.names);
  const declared = new Set<string>();
  declarations.forEach((declaration, index) => {
    const at = `/variables/${index}`;
    if (!VARIABLE_NAME.test(declaration.name)) {
      problems.push({
        pointer: `${at}/name`,
        detail:
          "must start with a lowercase letter or _ and hold only lowercase letters, digits and _",
      });
    } else if (declared.has(declaration.name)) {
      problems.push({ pointer: `${at}/name`, detail: `\`${declaration.name}\` is declared twice` });
    } else if (!used.has(declaration.name)) {
      problems.push({
        pointer: `${at}/name`,
        detail: `\`${declaration.name}\` is declared but the body has no {{${declaration.name}}}`,
      });
    }
    declared.add(declaration.name);
    const { min, max } = MAX_LENGTH_BOUNDS;
    if (
      !Number.isInteger(declaration.maxLength) ||
      declaration.maxLength < min ||
      declaration.maxLength > max
    ) {
      problems.push({
        pointer: `${at}/max_length`,
        detail: `must be a whole number from ${min} to ${max}`,
      });
    }
  });
  for (const name of used) {
    if (!declared.has(name)) {
      problems.push({
        pointer: "/body",
        detail: `{{${name}}} is not declared in \`variables\``,
      });
    }
  }
  return problems;
}

export type VariablesCheck =
  | { ok: true; values: Record<string, string> }
  | { ok: false; errors: FieldProblem[] };

const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const CODE = /^[A-Za-z0-9]+$/;
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$/;
const WHITESPACE = /\s/;

const TYPE_RULES: Record<VariableType, string> = {
  string:
    "must be text without control characters (line feed, carriage return and form feed are allowed)",
  number: "must be a decimal number such as 42, -3 or 19.99",
  code: "must hold only letters A–Z, a–z and digits 0–9",
  date: "must be an ISO 8601 date (2025-03-01) or date-time (2025-03-01T09:30:00+08:00)",
  url: "must be an absolute http or https URL",
};

// Control characters (C0, DEL, C1) are never sent as text, except the three GSM 03.38 carries:
// line feed and carriage return (basic table) and form feed (extension table, 2 septets).
const CONTROL = /(?![\n\r\f])\p{Cc}/u;

/** What a message or template text may not contain: a control character GSM 03.38 has no place for. */
export const CONTROL_CHARACTER_RULE =
  "must not contain control characters other than line feed, carriage return and form feed";

export function hasControlCharacter(value: string): boolean {
  return CONTROL.test(value);
}

// In `u` mode a well-formed surrogate pair is one code point, so this finds only lone halves.
const LONE_SURROGATE = /\p{Cs}/u;

/** Whether the text is well-formed UTF-16: a lone surrogate cannot be encoded for sending. */
export function isWellFormedText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function isDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

function isUrl(value: string): boolean {
  if (WHITESPACE.test(value) || !/^https?:\/\//i.test(value)) {
    return false;
  }
  try {
    return new URL(value).hostname.length > 0;
  } catch {
    return false;
  }
}

function fitsType(type: VariableType, value: string): boolean {
  switch (type) {
    case "string":
      return !hasControlCharacter(value);
    case "number":
      return DECIMAL.test(value);
    case "code":
      return CODE.test(value);
    case "date":
      return isDate(value);
    case "url":
      return isUrl(value);
  }
}

/**
 * The string form of a value: strings as they are; JSON numbers for `number` variables, and whole
 * non-negative numbers for `code` ones (a code sent as 123456), in their decimal form.
 */
function stringFormOf(type: VariableType, value: unknown): string | undefined {
  if (typeof value === "string") {
    return value;
  }
  if (typeof value === "number" && Number.isFinite(value)) {
    if (type === "number" || (type === "code" && Number.isSafeInteger(value) && value >= 0)) {
      return String(value);
    }
  }
  return undefined;
}

/** Characters (code points), so one emoji or one 汉字 counts once. */
function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) {
    count++;
  }
  return count;
}

function variablePointer(name: string): string {
  return `/variables/${name.replaceAll("~", "~0").replaceAll("/", "~1")}`;
}

/**
 * Checks the values sent for a template against its declarations. Each variable that is missing,
 * not declared, of the wrong type, empty or too long is named once, in declaration order and then
 * the undeclared ones in the order sent. Max length counts characters of the string form.
 */
export function checkVariables(
  declarations: readonly VariableDeclaration[],
  values: Record<string, unknown>,
): VariablesCheck {
  const errors: FieldProblem[] = [];
  const checked: Record<string, string> = {};
  for (const { name, type, maxLength } of declarations) {
    const raw = Object.hasOwn(values, name) ? values[name] : undefined;
    if (raw === undefined || raw === null) {
      errors.push({
        pointer: variablePointer(name),
        detail: `missing: the template uses {{${name}}}`,
      });
      continue;
    }
    const value = stringFormOf(type, raw);
    if (value === "") {
      errors.push({ pointer: variablePointer(name), detail: "must not be empty" });
    } else if (value === undefined || !fitsType(type, value)) {
      errors.push({ pointer: variablePointer(name), detail: `${TYPE_RULES[type]} (${type})` });
    } else if (value.length > maxLength && characterCount(value) > maxLength) {
      errors.push({
        pointer: variablePointer(name),
        detail: `too long: ${characterCount(value)} characters, at most ${maxLength}`,
      });
    } else {
      checked[name] = value;
    }
  }
  for (const name of Object.keys(values)) {
    if (!declarations.some((declaration) => declaration.name === name)) {
      errors.push({ pointer: variablePointer(name), detail: "not declared by the template" });
    }
  }
  return errors.length === 0 ? { ok: true, values: checked } : { ok: false, errors };
}
