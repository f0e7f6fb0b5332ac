/**
 * Sending a message: the rules every entry point (API, dashboard) goes through, from the request
 * to its hand-over to the tenant's dispatcher; and the preview that stops short of it. Reading and
 * listing are in message-reads.ts, canceling in cancel.ts.
 */
import { acceptRouted, dispatcherOf } from "../../delivery/dispatcher";
import type {
  AcceptedMessage,
  AcceptRequest,
  OutboxMessage,
} from "../../delivery/dispatcher-types";
import type { Caller } from "../../domain/caller";
import { previousShardOf, shardOf } from "../../domain/dispatch-shards";
import { fromMicros } from "../../domain/pricing";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { budgetExceeded, budgetPolicyOf } from "../accounts/budget";
import { currentSettings, StaleSettings, withCurrentSettings } from "../accounts/tenants";
import { loadScreener, type SensitiveHit } from "../content/sensitive-words";
import { servingTemplate } from "../content/serving-templates";
import { type Content, composeMessage } from "./compose";
import { idempotencyKeyOf } from "./idempotency";
import { type OutboxOrigin, smsOutboxMessage } from "./outbox-message";

/** How far ahead a message or batch may be scheduled. */
export const MAX_SCHEDULE_MS = 35 * 24 * 60 * 60 * 1000;
/** A `send_at` this little in the past (a client's clock running behind) means "now". */
const SEND_AT_SLACK_MS = 60_000;

export type ContentInput =
  | { body: string; template_id?: undefined; variables?: undefined }
  | { body?: undefined; template_id: string; variables: Record<string, unknown> };

export type SendInput = ContentInput & {
  to: string;
  from?: string;
  metadata?: Record<string, string>;
  send_at?: string;
  smart_encoding?: boolean;
};

/** A body, or the approved version of a template with these variables. */
export async function loadContent(env: Env, caller: Caller, input: ContentInput): Promise<Content> {
  if (input.template_id === undefined) {
    return { body: input.body };
  }
  return {
    template: await servingTemplate(env, caller.tenant.id, input.template_id),
    variables: input.variables,
  };
}

/**
 * When a message may go: its `send_at` (checked), else now. Marketing inside the tenant's quiet
 * hours waits for their end as well, which the dispatcher decides by the hours it holds.
 */
export function scheduledTime(sendAt: string | undefined, now: number): number {
  if (sendAt === undefined) {
    return now;
  }
  const at = Date.parse(sendAt);
  if (at < now - SEND_AT_SLACK_MS) {
    throw new ApiError("unprocessable-entity", "send_at must not be in the past.", {
      errors: [{ pointer: "/send_at", detail: `${sendAt} has passed` }],
    });
  }
  if (at > now + MAX_SCHEDULE_MS) {
    throw new ApiError("unprocessable-entity", "send_at may be at most 35 days ahead.", {
      errors: [{ pointer: "/send_at", detail: `${sendAt} is more than 35 days away` }],
    });
  }
  return Math.max(at, now);
}

export function acceptMessage(
  env: Env,
  caller: Caller,
  input: SendInput,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
  options: { optOutExempt?: boolean } = {},
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  return withCurrentSettings(env, caller, (current) =>
    composeAndHandOver(env, current, input, idempotencyKey, now, options),
  );
}

async function composeAndHandOver(
  env: Env,
  caller: Caller,
  input: SendInput,
  idempotencyKey: string | undefined,
  now: number,
  options: { optOutExempt?: boolean },
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  const { tenant } = caller;
  const [content, screen] = await Promise.all([
    loadContent(env, caller, input),
    loadScreener(env, tenant.id),
  ]);
  const composition = composeMessage(tenant, screen, input.to, content, {
    smartEncoding: input.smart_encoding ?? false,
    pointer: "",
  });
  if (!composition.ok) {
    throw refusal(composition.errors, composition.hits);
  }
  const origin: OutboxOrigin = {
    tenantId: tenant.id,
    mode: caller.mode,
    sender: input.from ?? null,
    metadata: input.metadata ?? null,
    idempotencyKey: idempotencyKey ?? null,
    createdAt: now,
    sendAt: scheduledTime(input.send_at, now),
    batchId: null,
    template: "template" in content ? content.template : null,
  };
  const message = smsOutboxMessage(origin, newId("msg", now), input.to, composition.value);
  return handOver(env, caller, message, input, idempotencyKey, options);
}

/**
 * Gives an accepted message to the tenant's dispatcher (one RPC; durable when it returns), with the
 * idempotency key's record; or replays the key's first answer. Throws StaleSettings when the
 * caller's copy of the tenant's settings is outdated (see withCurrentSettings), and a 422 for a
 * recipient who opted out (checked by the dispatcher in the same call): verification codes pass
 * when the tenant exempts them, and `options.optOutExempt` lets an opt-out's own confirmation by.
 * A live message whose cost would pass the monthly budget or the balance is a 422
 * `budget-exceeded`, decided by the dispatcher in the same call (verification codes included).
 */
export async function handOver(
  env: Env,
  caller: Caller,
  message: OutboxMessage,
  request: unknown,
  idempotencyKey: string | undefined,
  options: { optOutExempt?: boolean } = {},
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  const optOutExempt =
    options.optOutExempt === true ||
    (message.kind === "verification" && caller.tenant.verificationOptOutExempt);
  const accept: AcceptRequest = {
    message,
    idempotency: idempotencyKey
      ? {
          key: idempotencyKeyOf(caller, idempotencyKey),
          requestHash: await sha256Hex(JSON.stringify(request)),
        }
      : null,
    currency: caller.tenant.currency,
    settingsVersion: caller.tenant.settingsVersion,
    ...(optOutExempt ? { optOutExempt } : {}),
    budget: budgetPolicyOf(caller.tenant),
  };
  // Sharded dispatch (domain/dispatch-shards): the recipient's shard, behind its previous one
  // while N changes; a key lives on shard 0, which forwards. One shard: the one call as always.
  const { dispatchShards, previousDispatchShards } = caller.tenant;
  const target = shardOf(message.recipient, dispatchShards);
  const previous = previousShardOf(message.recipient, dispatchShards, previousDispatchShards);
  const result =
    dispatchShards === 1 && previous === null
      ? await dispatcherOf(env, caller.tenant.id).accept(accept)
      : accept.idempotency
        ? await dispatcherOf(env, caller.tenant.id).acceptAsHome(accept, target, previous)
        : await acceptRouted(env, accept, target, previous);
  if (result.kind === "stale-settings") {
    throw new StaleSettings();
  }
  if (result.kind === "opted-out") {
    throw optedOutRefusal(message.recipient, "/to");
  }
  if (result.kind === "over-budget") {
    throw budgetExceeded(result.refusal, caller.tenant.currency);
  }
  if (result.kind === "idempotency-conflict") {
    throw new ApiError(
      "idempotency-key-reused",
      "This Idempotency-Key was already used with a different request body in the last 24 hours.",
      { errors: [{ pointer: "/headers/idempotency-key", detail: "reused with another body" }] },
    );
  }
  return { replayed: result.kind === "replayed", message: result.response };
}

/** What a refused send to an opted-out number says, in a 422 or a batch's rejected row. */
export function optedOutDetail(phone: string): string {
  return `${phone} has opted out of your messages (opt-out rule: a STOP/退订 reply or your own suppression, see /v1/opt-outs); nothing was sent.`;
}

/** The 422 for a send to a number that opted out, naming the rule and the number. */
export function optedOutRefusal(phone: string, pointer: string): ApiError {
  return new ApiError("unprocessable-entity", optedOutDetail(phone), {
    errors: [{ pointer, detail: `${phone} opted out (rule: opt_out)` }],
  });
}

/** The 422 for a message that breaks a rule, naming each problem (and each sensitive word). */
export function refusal(
  errors: { pointer: string; detail: string }[],
  hits?: SensitiveHit[],
): ApiError {
  const detail =
    errors.length === 1
      ? `${errors[0]?.pointer || "/"}: ${errors[0]?.detail}`
      : `${errors.length} problems with this message; see errors.`;
  return new ApiError("unprocessable-entity", detail, {
    errors,
    extensions: hits ? { hits } : undefined,
  });
}

export interface Preview {
  text: string;
  encoding: "GSM-7" | "UCS-2";
  characters: number;
  segments: number;
  cost: number;
  currency: string;
  hits: SensitiveHit[];
}

/**
 * What a message would be, without sending it. Without `to`, the account's home country is
 * assumed (for the signature and the price), and the allowed-countries rule is not applied.
 * Sensitive words are reported, not refused: showing them is the point of a preview.
 * The settings are read from D1, not from the key's cached copy: a send would be refused by the
 * dispatcher under outdated ones, a preview has no such check, and it is not on the hot path.
 */
export async function previewMessage(
  env: Env,
  caller: Caller,
  input: ContentInput & { to?: string; smart_encoding?: boolean },
): Promise<Preview> {
  const [content, screen, tenant] = await Promise.all([
    loadContent(env, caller, input),
    loadScreener(env, caller.tenant.id),
    currentSettings(env, caller),
  ]);
  const composition = composeMessage(
    tenant,
    screen,
    input.to ?? { country: tenant.homeCountry },
    content,
    { smartEncoding: input.smart_encoding ?? false, pointer: "", reportOnly: true },
  );
  if (!composition.ok) {
    throw refusal(composition.errors);
  }
  const { value } = composition;
  return {
    text: value.text,
    encoding: value.encoding,
    characters: value.characters,
    segments: value.segments,
    cost: fromMicros(value.costMicros),
    currency: tenant.currency,
    hits: value.hits,
  };
}
