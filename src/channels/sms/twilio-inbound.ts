/**
 * Twilio's incoming-message webhook (its "Twilio's request to your incoming message Webhook URL"
 * page): a form post to the number's (or Messaging Service's) "A message comes in" URL, signed
 * with X-Twilio-Signature as the status callbacks are. It carries MessageSid, AccountSid,
 * MessagingServiceSid, From, To, Body, NumMedia (with MediaUrl{N} and MediaContentType{N}),
 * NumSegments and the From/To geography; Twilio adds fields without notice, so all are kept raw.
 * It gives no time: the message is as of the callback.
 */
import {
  type InboundMessage,
  ReceiptAuthError,
  type ReceiptContext,
  ReceiptFormatError,
} from "./adapter";
import { bodySha256Of, isSignedByTwilio } from "./twilio-signature";

/** The fields of a Twilio callback, as strings, by name. */
export type TwilioFields = Readonly<Record<string, string>>;

/**
 * A Twilio callback's fields once its X-Twilio-Signature checks out for the URL Twilio was told to
 * call: the form's, or the JSON body's for a URL signed with `bodySHA256`. Throws
 * ReceiptAuthError (no auth token set, no signature, or not Twilio's) or ReceiptFormatError.
 */
export async function verifiedTwilioFields(
  request: Request,
  context: ReceiptContext,
): Promise<TwilioFields> {
  const authToken = context.settings.secrets.auth_token;
  if (!authToken) {
    throw new ReceiptAuthError("no Twilio auth token is configured to check X-Twilio-Signature");
  }
  const signature = request.headers.get("X-Twilio-Signature");
  if (!signature) {
    throw new ReceiptAuthError("the callback has no X-Twilio-Signature");
  }
  // Decoded by hand: workerd warns when .text() reads a form-encoded body.
  const body = new TextDecoder().decode(await request.arrayBuffer());
  if (!(await isSignedByTwilio(authToken, signature, context.publicUrl, body))) {
    throw new ReceiptAuthError("X-Twilio-Signature does not match the callback");
  }
  return bodySha256Of(context.publicUrl) === null ? formFields(body) : jsonFields(body);
}

/** An incoming-message webhook's fields as our inbound message; `now`: when it came. */
export function twilioInbound(fields: TwilioFields, now: number): InboundMessage {
  const { MessageSid: sid, From: from } = fields;
  if (!sid || !from) {
    throw new ReceiptFormatError("a Twilio incoming-message webhook has MessageSid and From");
  }
  return {
    from,
    to: fields.To ?? "",
    // A picture message may come with no text: NumMedia and MediaUrl{N} say what it carries.
    body: fields.Body ?? "",
    providerMessageId: sid,
    receivedAt: now,
    raw: fields,
  };
}

/** A name given twice counts with its first value, as `URLSearchParams.get` reads it. */
function formFields(body: string): TwilioFields {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    fields[name] ??= value;
  }
  return fields;
}

/** The JSON variant (signed with bodySHA256) carries the same names as the form. */
function jsonFields(body: string): TwilioFields {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = null;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ReceiptFormatError("a Twilio callback signed with bodySHA256 has a JSON object body");
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(json)) {
    if (typeof value === "string" || typeof value === "number") {
      fields[name] = String(value);
    }
  }
  return fields;
}
