/**
 * Composing one message: the rules every send goes through (single, preview, batch row), in one
 * place. The recipient's number is read and checked against the allowed countries; the text comes
 * from a free body or an approved template with its variables; marketing gets its opt-out line;
 * the text is screened for sensitive words; Chinese routes get the sender signature; then the
 * segments and the cost are counted. Synchronous once the template and the screener are loaded,
 * so a batch composes 100,000 rows without an await per row.
 */
import type { TemplateKind } from "../db/schema";
import { normalisePhone } from "../domain/phone";
import { costMicros } from "../domain/pricing";
import { type Encoding, segmentsOf } from "../domain/segments";
import { smartEncode } from "../domain/smart-encoding";
import { checkVariables, renderTemplate, withOptOutLine } from "../domain/templates";
import type { FieldError } from "../lib/problem";
import type { TenantConfig } from "../middleware/context";
import type { Screening, SensitiveHit } from "./sensitive-words";
import type { ServingTemplate } from "./serving-templates";

export type Content =
  | { body: string }
  | { template: ServingTemplate; variables: Record<string, unknown> };

export interface ComposeOptions {
  /** Replace look-alike characters so the text stays GSM-7 where it can. */
  smartEncoding: boolean;
  /** Where the errors point, e.g. `` for a request body or `/recipients/7` for a batch row. */
  pointer: string;
  /** A preview reports sensitive words instead of refusing the text. */
  reportOnly?: boolean;
}

export interface Composed {
  /** E.164; null for a preview made for a country rather than a number */
  recipient: string | null;
  country: string;
  text: string;
  kind: TemplateKind;
  encoding: Encoding;
  characters: number;
  segments: number;
  costMicros: number;
  hits: SensitiveHit[];
  /** A template's checked variables in their declared order; null for a free body. */
  templateParams: { name: string; value: string }[] | null;
}

export type Composition =
  | { ok: true; value: Composed }
  /** `hits`: the sensitive words that refused the text, when they did. */
  | { ok: false; errors: FieldError[]; hits?: SensitiveHit[] };

// Chinese carriers require the signature at the start; one already there is not doubled.
const LEADING_SIGNATURE = /^【[^】]{1,30}】/;

export function composeMessage(
  tenant: TenantConfig,
  screen: (text: string) => Screening,
  to: string | { country: string },
  content: Content,
  options: ComposeOptions,
): Composition {
  const phone =
    typeof to === "string"
      ? normalisePhone(to, tenant.homeCountry)
      : { ok: true as const, e164: null, country: to.country };
  if (!phone.ok) {
    return fail(`${options.pointer}/to`, phone.error.detail);
  }
  if (typeof to === "string" && !tenant.allowedCountries.includes(phone.country)) {
    return fail(
      `${options.pointer}/to`,
      `Sending to ${phone.country} is not enabled for this account (allowed: ${tenant.allowedCountries.join(", ")}).`,
    );
  }
  const rendered = renderContent(content, options.pointer);
  if (!rendered.ok) {
    return rendered;
  }
  let text =
    rendered.kind === "marketing" ? withOptOutLine(rendered.text, phone.country) : rendered.text;

  const screening = screen(text);
  const blocking = (options.reportOnly ? [] : screening.hits).filter(
    // An approved template's own review words were approved by a person; a free body has had
    // no reviewer, so review words hold it back too.
    (hit) => hit.policy === "block" || (hit.policy === "review" && !("template" in content)),
  );
  if (blocking.length > 0) {
    const field = "template" in content ? "/variables" : "/body";
    return {
      ok: false,
      hits: blocking,
      errors: blocking.map((hit) => ({
        pointer: `${options.pointer}${field}`,
        detail:
          hit.policy === "block"
            ? `contains the blocked word "${hit.word}" at ${hit.start}–${hit.end}`
            : `contains "${hit.word}" at ${hit.start}–${hit.end}, which needs a reviewer: send it from an approved template`,
      })),
    };
  }
  text = screening.masked;

  if (phone.country === "CN" && tenant.signature && !LEADING_SIGNATURE.test(text)) {
    text = tenant.signature + text;
  }
  if (options.smartEncoding) {
    text = smartEncode(text);
  }
  const count = segmentsOf(text);
  return {
    ok: true,
    value: {
      recipient: phone.e164,
      country: phone.country,
      text,
      kind: rendered.kind,
      encoding: count.encoding,
      characters: count.characters,
      segments: count.segments,
      costMicros: costMicros(tenant, phone.country, count.segments),
      hits: screening.hits,
      templateParams: rendered.params,
    },
  };
}

function renderContent(
  content: Content,
  pointer: string,
):
  | {
      ok: true;
      text: string;
      kind: TemplateKind;
      params: { name: string; value: string }[] | null;
    }
  | { ok: false; errors: FieldError[] } {
  if ("body" in content) {
    return { ok: true, text: content.body, kind: "notification", params: null };
  }
  const { template, variables } = content;
  const checked = checkVariables(template.variables, variables);
  if (!checked.ok) {
    return {
      ok: false,
      errors: checked.errors.map((error) => ({ ...error, pointer: pointer + error.pointer })),
    };
  }
  return {
    ok: true,
    text: renderTemplate(template.compiled, checked.values),
    kind: template.kind,
    params: template.variables.map(({ name }) => ({ name, value: checked.values[name] ?? "" })),
  };
}

function fail(pointer: string, detail: string): Composition {
  return { ok: false, errors: [{ pointer, detail }] };
}
