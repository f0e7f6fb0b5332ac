/**
 * The XML WeChat pushes (the passive replies we answer with are built in reply-xml.ts).
 *
 * Inbound bodies are small, flat `<xml>` documents whose string values come in CDATA. Parsing is
 * strict about everything else: no DTD at all (so no entity expansion, local or external), one
 * `<xml>` root, each field once, and nested elements only in the few containers WeChat sends
 * (menu events, mass-send and publish results, subscription-notice events). A container's content
 * is kept as a JSON string of its elements rather than flattened, so its fields cannot collide
 * with top-level ones (a location_select event's `SendLocationInfo` has its own `Location_X`) and
 * lists keep their order; messages.ts reads the ones we use.
 */

import { XMLParser, XMLValidator } from "fast-xml-parser";

/** WeChat's pushes are a few KB; anything this large is not one of them. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The elements WeChat nests other elements in, by the event that carries them. */
export const INBOUND_CONTAINERS: ReadonlySet<string> = new Set([
  "ScanCodeInfo", // scancode_push, scancode_waitmsg
  "SendPicsInfo", // pic_sysphoto, pic_photo_or_album, pic_weixin
  "SendLocationInfo", // location_select
  "CopyrightCheckResult", // MASSSENDJOBFINISH
  "ArticleUrlResult", // MASSSENDJOBFINISH
  "PublishEventInfo", // PUBLISHJOBFINISH
  "SubscribeMsgPopupEvent", // subscribe_msg_popup_event (also sent for subscribe_msg_change_event)
  "SubscribeMsgChangeEvent", // subscribe_msg_change_event
  "SubscribeMsgSentEvent", // subscribe_msg_sent_event
]);

/** List entries: always JSON arrays, even with one entry, so readers need not guess. */
const LIST_ELEMENTS: ReadonlySet<string> = new Set(["item", "List"]);

/** Levels below `<xml>`: PublishEventInfo > article_detail > item > article_url is the deepest. */
const MAX_DEPTH = 4;

export type WeChatXmlErrorCode =
  | "too-large"
  /** A `<!DOCTYPE` or `<!ENTITY` anywhere, even inside CDATA. */
  | "dtd"
  /** Not well-formed XML, an undeclared entity, or text mixed with elements. */
  | "malformed"
  /** The root is not one `<xml>` element. */
  | "wrong-root"
  /** Elements nested where WeChat never nests them, or deeper than it does. */
  | "unexpected-nesting"
  /** The same field twice at the top level, which would leave its value ambiguous. */
  | "duplicate-field";

export interface WeChatXmlError {
  code: WeChatXmlErrorCode;
  retryable: false;
  detail: string;
}

export type WeChatXmlResult =
  | { ok: true; fields: Record<string, string> }
  | { ok: false; error: WeChatXmlError };

export interface ParseOptions {
  /** Elements allowed to contain elements; `INBOUND_CONTAINERS` unless given. */
  containers?: ReadonlySet<string>;
}

const parser = new XMLParser({
  // CDATA "007" must stay "007", and MsgId (a 64-bit integer) must not lose digits.
  parseTagValue: false,
  // Entities are decoded here, the five predefined ones and character references only.
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Keeps CDATA apart from text, in document order, so only text gets entity-decoded.
  preserveOrder: true,
  cdataPropName: "#cdata",
  // A user's message keeps its spaces; whitespace between elements is skipped below.
  trimValues: false,
});

const encoder = new TextEncoder();

/**
 * The `<xml>` root's fields: each top-level element's text, and each container's content as a
 * JSON string (`{"ScanType":"qrcode","ScanResult":"1"}`). Values are never numbers.
 */
export function parseWeChatXml(body: string, options: ParseOptions = {}): WeChatXmlResult {
  try {
    return { ok: true, fields: fieldsOf(body, options.containers ?? INBOUND_CONTAINERS) };
  } catch (error) {
    if (error instanceof XmlRefusal) {
      return { ok: false, error: { code: error.code, retryable: false, detail: error.message } };
    }
    throw error;
  }
}

class XmlRefusal extends Error {
  override name = "XmlRefusal";
  constructor(
    readonly code: WeChatXmlErrorCode,
    detail: string,
  ) {
    super(detail);
  }
}

/** Entries of fast-xml-parser's `preserveOrder` output: `{tag: children}`, `{"#text": s}`. */
type Entry = Record<string, unknown>;

function fieldsOf(body: string, containers: ReadonlySet<string>): Record<string, string> {
  // Characters never outnumber UTF-8 bytes, so the encoding is only needed near the limit.
  if (body.length > MAX_BODY_BYTES || encoder.encode(body).length > MAX_BODY_BYTES) {
    throw new XmlRefusal("too-large", `the body is over ${MAX_BODY_BYTES} bytes`);
  }
  // fast-xml-parser reads DOCTYPE declarations even with processEntities off; refuse them first.
  if (/<!(?:doctype|entity)/i.test(body)) {
    throw new XmlRefusal("dtd", "DOCTYPE and ENTITY declarations are refused");
  }
  if (!onlyXmlCharacters(body)) {
    throw new XmlRefusal("malformed", "the body contains characters XML does not allow");
  }
  const valid = XMLValidator.validate(body);
  if (valid !== true) {
    throw new XmlRefusal("malformed", valid.err.msg);
  }
  let parsed: unknown;
  try {
    parsed = parser.parse(body);
  } catch (error) {
    // Names like __proto__ and over-deep nesting end here, as the parser's own refusals.
    throw new XmlRefusal("malformed", error instanceof Error ? error.message : String(error));
  }

  const roots = entriesOf(parsed).filter((entry) => !isBlankText(entry));
  const root = roots[0];
  if (roots.length !== 1 || root === undefined || nameOf(root) !== "xml") {
    throw new XmlRefusal("wrong-root", "the body must be a single <xml> element");
  }
  const fields: Record<string, string> = {};
  for (const entry of childrenOf(root, "xml")) {
    const name = nameOf(entry);
    if (name === "#text" || name === "#cdata") {
      if (isBlankText(entry)) {
        continue;
      }
      throw new XmlRefusal("malformed", "text directly inside <xml>");
    }
    if (Object.hasOwn(fields, name)) {
      throw new XmlRefusal("duplicate-field", `<${name}> appears more than once`);
    }
    const children = childrenOf(entry, name);
    if (!hasElements(children)) {
      fields[name] = textOf(children);
    } else if (containers.has(name)) {
      fields[name] = JSON.stringify(treeOf(children, 2));
    } else {
      throw new XmlRefusal("unexpected-nesting", `<${name}> may not contain elements`);
    }
  }
  return fields;
}

type Tree = string | Tree[] | { [name: string]: Tree };

function treeOf(children: Entry[], depth: number): Tree {
  if (!hasElements(children)) {
    return textOf(children);
  }
  if (depth > MAX_DEPTH) {
    throw new XmlRefusal("unexpected-nesting", `elements nested more than ${MAX_DEPTH} deep`);
  }
  // A Map, so that names like "toString" are never looked up on Object.prototype.
  const tree = new Map<string, Tree>();
  for (const entry of children) {
    const name = nameOf(entry);
    if (name === "#text" || name === "#cdata") {
      if (isBlankText(entry)) {
        continue;
      }
      throw new XmlRefusal("malformed", "text mixed with elements");
    }
    const value = treeOf(childrenOf(entry, name), depth + 1);
    const existing = tree.get(name);
    if (Array.isArray(existing)) {
      existing.push(value);
    } else if (existing !== undefined) {
      tree.set(name, [existing, value]);
    } else {
      tree.set(name, LIST_ELEMENTS.has(name) ? [value] : value);
    }
  }
  return Object.fromEntries(tree);
}

function textOf(children: Entry[]): string {
  let text = "";
  for (const entry of children) {
    const name = nameOf(entry);
    if (name === "#text") {
      text += decodeReferences(stringOf(entry[name]));
    } else if (name === "#cdata") {
      // `<![CDATA[a]]]]><![CDATA[>b]]>` arrives as two sections; joined they give "a]]>b".
      for (const part of entriesOf(entry[name])) {
        text += stringOf(part["#text"]);
      }
    }
  }
  return text;
}

const PREDEFINED: ReadonlyMap<string, string> = new Map([
  ["lt", "<"],
  ["gt", ">"],
  ["amp", "&"],
  ["quot", '"'],
  ["apos", "'"],
]);

/** The five predefined entities and character references; any other `&` is malformed. */
function decodeReferences(text: string): string {
  return text.replace(/&([^&;]*);|&/g, (match, reference: string | undefined) => {
    if (reference === undefined) {
      throw new XmlRefusal("malformed", "a bare '&' in text");
    }
    const predefined = PREDEFINED.get(reference);
    if (predefined !== undefined) {
      return predefined;
    }
    const hex = /^#x([0-9a-fA-F]{1,6})$/.exec(reference)?.[1];
    const decimal = /^#([0-9]{1,7})$/.exec(reference)?.[1];
    const code =
      hex !== undefined ? Number.parseInt(hex, 16) : decimal !== undefined ? Number(decimal) : -1;
    if (!isXmlCharacter(code)) {
      throw new XmlRefusal("malformed", `the reference ${match} is not allowed`);
    }
    return String.fromCodePoint(code);
  });
}

function entriesOf(value: unknown): Entry[] {
  if (!Array.isArray(value)) {
    throw new XmlRefusal("malformed", "unexpected parser output");
  }
  return value.filter((item): item is Entry => typeof item === "object" && item !== null);
}

function nameOf(entry: Entry): string {
  // ":@" holds attributes, which are ignored.
  return Object.keys(entry).find((key) => key !== ":@") ?? "";
}

function childrenOf(entry: Entry, name: string): Entry[] {
  return entriesOf(entry[name]);
}

function hasElements(children: Entry[]): boolean {
  return children.some((entry) => {
    const name = nameOf(entry);
    return name !== "#text" && name !== "#cdata";
  });
}

function isBlankText(entry: Entry): boolean {
  const name = nameOf(entry);
  return name === "#text" && /^\s*$/.test(stringOf(entry[name]));
}

function stringOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** XML 1.0's Char production: tab, newline, carriage return and everything from U+0020 on. */
export function isXmlCharacter(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

function onlyXmlCharacters(text: string): boolean {
  for (const char of text) {
    if (!isXmlCharacter(char.codePointAt(0) ?? -1)) {
      return false;
    }
  }
  return true;
}
