/**
 * Composing one message: the rules every send goes through (single, preview, batch row), in one
 * place. The recipient's number is read and checked against the allowed countries; the text comes
 * from a free body or an approved template with its variables; marketing gets its opt-out line;
 * the text is screened for sensitive words; Chinese routes get the sender signature; then the
 * segments and the cost are counted. Synchronous once the template and the screener are loaded,
 * so a batch composes 100,000 rows without an await per row.
 */

import type { TenantConfig } from "../../domain/caller";
import { withOptOutLine } from "../../domain/opt-out";
import { normalisePhone } from "../../domain/phone";
import { costMicros } from "../../domain/pricing";
import { type Encoding, segmentsOf } from "../../domain/segments";
import { leadingSignature } from "../../domain/sender-signature";
import { smartEncode } from "../../domain/smart-encoding";
import { checkVariables, renderTemplate } from "../../domain/templates";
import type { TemplateKind } from "../../domain/vocabulary";
import type { FieldError } from "../../lib/problem";
import type { Screening, SensitiveHit } from "../content/sensitive-words";
import type { ServingTemplate } from "../content/serving-templates";

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
  /** The name of the signature the text starts with (`Relaybox` for 【Relaybox】), if any. */
  signName: string | null;
  kind: TemplateKind;
  encoding: Encoding;
  characters: number;
  segments: number;
  costMicros: number;
  /** The tenant's currency, which `costMicros` counts in. */
  currency: string;
  hits: SensitiveHit[];
  /** A template's checked variables in their declared order; null for a free body. */
  templateParams: { name: string; value: string }[] | null;
}

export type Composition =
  | { ok: true; value: Composed }
  /** `hits`: the sensitive words that refused the text, when they did. */
  | { ok: false; errors: FieldError[]; hits?: SensitiveHit[] };

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
    rendered.kind === "marketing"
      ? withOptOutLine(rendered.text, phone.country, rendered.ownText)
      : rendered.text;
  // Before screening, so the words screened are the words sent: smart encoding maps look-alikes
  // (Greek capitals among them) to the letters the screen would otherwise not see.
  if (options.smartEncoding) {
    text = smartEncode(text);
  }
  const field = "template" in content ? "/variables" : "/body";

  const screening = screen(text);
  const blocking = (options.reportOnly ? [] : screening.hits).filter(
    // An approved template's own review words were approved by a person; a free body has had
    // no reviewer, so review words hold it back too.
    (hit) => hit.policy === "block" || (hit.policy === "review" && !("template" in content)),
  );
  if (blocking.length > 0) {
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
  let hits = screening.hits;

  if (phone.country === "CN") {
    const signed = signedForChina(text, tenant.signature);
    if (!signed.ok) {
      return fail(`${options.pointer}${field}`, signed.detail);
    }
    // The hits' offsets move past the signature, so that they point into the text as sent.
    const shift = signed.text.length - text.length;
    hits = hits.map((hit) => ({ ...hit, start: hit.start + shift, end: hit.end + shift }));
    text = signed.text;
  }
  const count = segmentsOf(text);
  return {
    ok: true,
    value: {
      recipient: phone.e164,
      country: phone.country,
      text,
      // Read here, once: Aliyun and Tencent are given it apart from the text.
      signName: leadingSignature(text)?.name ?? null,
      kind: rendered.kind,
      encoding: count.encoding,
      characters: count.characters,
      segments: count.segments,
      costMicros: costMicros(tenant, phone.country, count.segments),
      currency: tenant.currency,
      hits,
      templateParams: rendered.params,
    },
  };
}

/**
 * The text with the account's approved signature in front. A text that already starts with it is
 * left as it is; one that starts with any other 【…】 is refused, as is a Chinese route for an
 * account without an approved signature: carriers there send nothing unsigned. (Chinese carriers
 * read the signature from the start of the text, so only the account's own may stand there.)
 */
function signedForChina(
  text: string,
  signature: string | null,
): { ok: true; text: string } | { ok: false; detail: string } {
  if (!signature) {
    return {
      ok: false,
      detail:
        "Messages to Chinese numbers carry the account's approved signature, and this account has none yet (POST /v1/signatures, then have it approved).",
    };
  }
  const leading = leadingSignature(text)?.written;
  if (leading === undefined) {
    return { ok: true, text: signature + text };
  }
  if (leading === signature) {
    return { ok: true, text };
  }
  return {
    ok: false,
    detail: `The text starts with the signature ${leading}, which is not this account's approved one (${signature}); leave it out and ${signature} is added.`,
  };
}

function renderContent(
  content: Content,
  pointer: string,
):
  | {
      ok: true;
      text: string;
      /** The template's own words, without its variables' values. */
      ownText: string;
      kind: TemplateKind;
      params: { name: string; value: string }[] | null;
    }
  | { ok: false; errors: FieldError[] } {
  if ("body" in content) {
    return {
      ok: true,
      text: content.body,
      ownText: content.body,
      kind: "notification",
      params: null,
    };
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
    ownText: template.compiled.parts.join(""),
    kind: template.kind,
    params: template.variables.map(({ name }) => ({ name, value: checked.values[name] ?? "" })),
  };
}

function fail(pointer: string, detail: string): Composition {
  return { ok: false, errors: [{ pointer, detail }] };
}
