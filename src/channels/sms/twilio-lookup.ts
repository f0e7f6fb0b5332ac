/**
 * Whether Twilio already has a message an earlier attempt may have sent (`lookup`), through its
 * Messages list (`GET /2010-04-01/Accounts/{AccountSid}/Messages.json`, newest first). Twilio's
 * create call takes no client reference of ours, so a message is matched by what it has: the
 * same `To`, the same body, outbound, created at Twilio after the attempt began (less a margin for
 * the clocks). The list is filtered by `To` only: Twilio's `DateSent` filter has day precision and
 * a message still queued at Twilio has no `date_sent` yet, so the time is compared here, on
 * `date_created`. Two matches cannot tell which one is ours; neither can a full page whose last
 * entry is still inside the window. A body Twilio rewrote (a Messaging Service's smart encoding)
 * is not matched: that message would be sent again, as it was before lookups.
 */
import type {
  AdapterIO,
  LookupOutcome,
  ProviderSettings,
  SmsSendRequest,
  UnansweredAttempt,
} from "./adapter";
import { carrierTimeout, lookupCall } from "./carrier-call";

const DEFAULT_BASE_URL = "https://api.twilio.com";
/** Newest first: more than one recipient's messages in one window is already unusual. */
const PAGE_SIZE = 50;
/** How far Twilio's clock may be from ours, and the time a request takes to reach it. */
const CLOCK_MARGIN_MS = 120_000;

interface ListedMessage {
  sid?: unknown;
  to?: unknown;
  body?: unknown;
  direction?: unknown;
  date_created?: unknown;
}

export async function lookupTwilioMessage(
  request: SmsSendRequest,
  attempt: UnansweredAttempt,
  settings: ProviderSettings,
  io: AdapterIO,
): Promise<LookupOutcome> {
  const accountSid = configString(settings, "account_sid");
  const credentials = accountSid ? credentialsOf(settings, accountSid) : null;
  if (!accountSid || !credentials) {
    return { kind: "cannot_tell", reason: "the Twilio settings lack the account or credentials" };
  }
  const baseUrl = (configString(settings, "base_url") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  const query = new URLSearchParams({ To: request.to, PageSize: String(PAGE_SIZE) });
  const answer = await lookupCall(
    "Twilio",
    io,
    `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json?${query}`,
    {
      method: "GET",
      headers: { authorization: `Basic ${credentials}`, accept: "application/json" },
    },
    carrierTimeout(settings),
  );
  if (answer.kind !== "answer") {
    return answer;
  }
  if (!answer.response.ok) {
    return {
      kind: "cannot_tell",
      reason: `Twilio's Messages list answered ${answer.response.status}`,
    };
  }
  const listed = messagesOf(answer.text);
  if (listed === null) {
    return { kind: "cannot_tell", reason: "Twilio's Messages list answered without `messages`" };
  }
  return matchOf(listed, request, attempt.startedAt - CLOCK_MARGIN_MS);
}

/** The message of ours among a page of Twilio's list, newest first, created since `since`. */
export function matchOf(
  listed: readonly ListedMessage[],
  request: Pick<SmsSendRequest, "to" | "body">,
  since: number,
): LookupOutcome {
  const matches = listed.filter(
    (m) =>
      m.to === request.to &&
      m.body === request.body &&
      typeof m.direction === "string" &&
      m.direction.startsWith("outbound") &&
      createdAt(m) >= since,
  );
  const [only, ...more] = matches;
  if (only && more.length === 0 && typeof only.sid === "string" && only.sid !== "") {
    return { kind: "found", providerMessageId: only.sid };
  }
  if (only) {
    return {
      kind: "cannot_tell",
      reason: `Twilio lists ${matches.length} messages with this text to this number since the attempt`,
    };
  }
  const oldest = listed.at(-1);
  if (listed.length >= PAGE_SIZE && oldest && createdAt(oldest) >= since) {
    return {
      kind: "cannot_tell",
      reason: "Twilio's first page does not reach back to the attempt",
    };
  }
  return { kind: "absent" };
}

/** `date_created` (RFC 2822, "Thu, 30 Jul 2015 20:12:31 +0000") in unix ms; NaN if unreadable. */
function createdAt(message: ListedMessage): number {
  return typeof message.date_created === "string" ? Date.parse(message.date_created) : Number.NaN;
}

function messagesOf(text: string): ListedMessage[] | null {
  try {
    const value: unknown = JSON.parse(text);
    const messages =
      typeof value === "object" && value !== null
        ? (value as { messages?: unknown }).messages
        : undefined;
    return Array.isArray(messages)
      ? messages.filter((m): m is ListedMessage => typeof m === "object" && m !== null)
      : null;
  } catch {
    return null;
  }
}

/** Base64 `user:password` for Basic auth: an API key when one is set, else the account's token. */
export function credentialsOf(settings: ProviderSettings, accountSid: string): string | null {
  const {
    api_key_sid: keySid,
    api_key_secret: keySecret,
    auth_token: authToken,
  } = settings.secrets;
  if (keySid && keySecret) {
    return base64Utf8(`${keySid}:${keySecret}`);
  }
  if (authToken) {
    return base64Utf8(`${accountSid}:${authToken}`);
  }
  return null;
}

function base64Utf8(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary);
}

function configString(settings: ProviderSettings, key: string): string | undefined {
  const value = settings.config[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}
