/**
 * What a request says about a message: the send body, one shape per channel; the preview body; and
 * the content parts the batch routes share.
 */
import { z } from "@hono/zod-openapi";
import {
  CONTROL_CHARACTER_RULE,
  hasControlCharacter,
  isWellFormedText,
} from "../../domain/templates";

export const TemplateId = z
  .string()
  .regex(/^tpl_[0-9A-Z]{26}$/, "must be a template id (tpl_…)")
  .openapi({ example: "tpl_01JD3M6Y8Z5Q7K2N4P6R8T0V2X" });

// Values are checked against the template's declarations when the message is composed, so that
// every missing, extra, mistyped or too long one is a 422 naming it.
export const Variables = z
  .record(z.string(), z.unknown())
  .refine((v) => Object.keys(v).length <= 100, "at most 100 variables")
  .openapi({ description: "Values for the template's variables", example: { code: "123456" } });

/** A free text: no control characters but those GSM 03.38 has, and no lone surrogate. */
export const MessageText = z
  .string()
  .min(1)
  .max(1600)
  .refine((text) => !hasControlCharacter(text), CONTROL_CHARACTER_RULE)
  .refine(isWellFormedText, "must be well-formed text (no lone surrogate)");

const Body = MessageText.openapi({ example: "Your code is 123456" });
const SmartEncoding = z.boolean().optional().openapi({
  description:
    "Replace look-alike characters (curly quotes, long dashes, no-break spaces…) with their GSM-7 twins when that keeps the whole text GSM-7",
});

/** Exactly one of a free `body` or a `template_id` (with its `variables`). */
export function requireOneContent(
  value: { body?: string; template_id?: string; variables?: unknown },
  ctx: z.RefinementCtx,
): void {
  if ((value.body === undefined) === (value.template_id === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["body"],
      message: "give either body or template_id (with variables), not both or neither",
    });
  }
  if (value.variables !== undefined && value.template_id === undefined) {
    ctx.addIssue({ code: "custom", path: ["variables"], message: "variables need a template_id" });
  }
}

export const SendAt = z.iso.datetime({ offset: true }).openapi({
  description: "When to send: any future time up to 35 days ahead (RFC 3339). Omit to send now.",
  example: "2026-12-01T09:30:00+08:00",
});

const WeChatData = z.record(
  z.string().min(1).max(32),
  z.object({ value: z.string().max(200), color: z.string().max(16).optional() }).strict(),
);

export const WeChatContentSchema = z
  .discriminatedUnion("type", [
    z
      .object({
        type: z.literal("template"),
        wechat_template_id: z.string().min(1).max(64).openapi({
          description: "The template's id in the WeChat account (not one of ours)",
        }),
        data: WeChatData,
        url: z.url().optional(),
        miniprogram: z
          .object({ appid: z.string().min(1).max(32), pagepath: z.string().max(256).optional() })
          .strict()
          .optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal("subscribe_notice"),
        wechat_template_id: z.string().min(1).max(64).openapi({
          description: "The subscription-notice template's id in the WeChat account",
        }),
        data: z
          .record(z.string().min(1).max(32), z.object({ value: z.string().max(64) }).strict())
          .openapi({ description: "The template's keys with their values: {thing1: {value}}" }),
        page: z.string().max(256).optional().openapi({ description: "The page opened (a URL)" }),
        miniprogram: z
          .object({ appid: z.string().min(1).max(32), pagepath: z.string().max(256) })
          .strict()
          .optional(),
      })
      .strict(),
    z.object({ type: z.literal("text"), content: z.string().min(1).max(2000) }).strict(),
    z.object({ type: z.literal("image"), media_id: z.string().min(1).max(128) }).strict(),
    z
      .object({
        type: z.literal("news"),
        articles: z
          .array(
            z
              .object({
                title: z.string().min(1).max(64),
                description: z.string().max(120).optional(),
                url: z.url(),
                picurl: z.url().optional(),
              })
              .strict(),
          )
          .length(1),
      })
      .strict(),
  ])
  .openapi("WeChatContent", {
    description:
      "A template message, a subscription notice (订阅通知, to a follower who accepted it), or a customer-service message (text, image, one news article) inside the 48-hour window opened by the follower's last message, menu click, follow or scan",
  });

const AppId = z
  .string()
  .regex(/^wx[0-9a-f]{16}$/, "a WeChat app id")
  .openapi({ description: "The Official Account that sends" });
const Contact = z.string().min(1).max(128).openapi({
  description: "A contact's external_id: sent to its binding in the account",
});
const Metadata = z
  .record(z.string().max(40), z.string().max(500))
  .refine((m) => Object.keys(m).length <= 20, "at most 20 keys")
  .openapi({ description: "Your own key-value pairs, returned with the message" });

const CONTENT_FIELDS = {
  body: Body.optional(),
  template_id: TemplateId.optional(),
  variables: Variables.optional(),
};

/**
 * The content fields as the content they carry, once requireOneContent has let exactly one of
 * `body` and `template_id` through: a text, or a template with its variables (none given is
 * none, as for a batch, whose variables come with each recipient).
 */
export function asContent<
  T extends { body?: string; template_id?: string; variables?: Record<string, unknown> },
>(value: T, ctx: z.RefinementCtx) {
  if (value.body !== undefined) {
    return { ...value, body: value.body, template_id: undefined, variables: undefined };
  }
  if (value.template_id !== undefined) {
    const variables: Record<string, unknown> = value.variables ?? {};
    return { ...value, body: undefined, template_id: value.template_id, variables };
  }
  // Not reached: the refinement before it has refused both and neither.
  requireOneContent(value, ctx);
  return z.NEVER;
}

const SmsFields = z.strictObject({
  channel: z.literal("sms").optional().openapi({ description: "sms, or left out" }),
  to: z.string().min(1).max(32).openapi({
    description: "E.164, or a national number of the account's home country",
    example: "+8613800138000",
  }),
  ...CONTENT_FIELDS,
  from: z.string().min(1).max(20).optional().openapi({ description: "Sender id or number" }),
  metadata: Metadata.optional(),
  send_at: SendAt.optional(),
  smart_encoding: SmartEncoding,
});

const WeChatFields = z.strictObject({
  channel: z.literal("wechat"),
  app_id: AppId,
  openid: z.string().min(1).max(64).optional().openapi({ description: "The follower" }),
  contact: Contact.optional(),
  wechat: WeChatContentSchema,
  metadata: Metadata.optional(),
  send_at: SendAt.optional(),
});

const AutoFields = z.strictObject({
  channel: z.literal("auto"),
  app_id: AppId,
  contact: Contact,
  wechat: WeChatContentSchema,
  sms: z
    .strictObject({ ...CONTENT_FIELDS, smart_encoding: SmartEncoding })
    .superRefine(requireOneContent)
    .transform(asContent)
    .openapi({
      description: "The SMS part: a body, or a template with its variables",
    }),
  metadata: Metadata.optional(),
  send_at: SendAt.optional(),
});

const SEND_CHANNELS = ["sms", "wechat", "auto"] as const;

/** What each channel's body takes, and its rules across fields. */
const SHAPES = {
  sms: { fields: SmsFields, rules: requireOneContent },
  wechat: {
    fields: WeChatFields,
    rules: (value: { openid?: string; contact?: string }, ctx: z.RefinementCtx) => {
      if ((value.openid === undefined) === (value.contact === undefined)) {
        ctx.addIssue({
          code: "custom",
          path: ["openid"],
          message: "give either openid or contact",
        });
      }
    },
  },
  auto: { fields: AutoFields, rules: () => {} },
} satisfies Record<(typeof SEND_CHANNELS)[number], unknown>;

/**
 * The body checked as one object of every channel's fields: each field alone, whatever the
 * channel; then, unless one is malformed (zod skips refinements after a type error), against its
 * channel's shape, every problem at once: fields it does not take, fields it needs, its rules.
 */
const SendChecks = z
  .strictObject({
    ...SmsFields.shape,
    ...WeChatFields.shape,
    ...AutoFields.shape,
    channel: z.enum(SEND_CHANNELS),
  })
  .partial()
  .superRefine((fields, ctx) => {
    const channel = fields.channel ?? "sms";
    const { shape } = SHAPES[channel].fields;
    const given = Object.entries(fields).flatMap(([key, value]) =>
      value === undefined ? [] : [key],
    );
    for (const key of given) {
      if (!(key in shape)) {
        const takers = SEND_CHANNELS.filter((other) => key in SHAPES[other].fields.shape);
        const message = `only for channel ${takers.join(" or ")}`;
        ctx.addIssue({ code: "custom", path: [key], message });
      }
    }
    for (const [key, field] of Object.entries(shape)) {
      if (!given.includes(key) && !field.isOptional()) {
        ctx.addIssue({ code: "custom", path: [key], message: "required" });
      }
    }
    SHAPES[channel].rules(fields, ctx);
  });

const SendSmsBody = SmsFields.superRefine(requireOneContent)
  .transform(asContent)
  .openapi("SendSms", {
    description: "An SMS: a `body`, or an approved `template_id` with its `variables`",
  });
const SendWeChatBody = WeChatFields.openapi("SendWeChat", {
  description: "A WeChat message to a follower (`openid`) or to a bound contact (`contact`)",
});
const SendAutoBody = AutoFields.openapi("SendAuto", {
  description:
    "WeChat to a contact bound and following, else (or if WeChat refuses it) SMS to the contact's phone",
});

const SendShapes = z.discriminatedUnion("channel", [SendSmsBody, SendWeChatBody, SendAutoBody]);

/**
 * One shape per `channel` (sms when left out), parsed once per request. A body no shape takes is
 * reported by `sendBodyError`, as when the body was one object.
 */
export const SendMessageBody = SendShapes.openapi("SendMessage", {
  // No `discriminator`: OpenAPI requires its property in every shape, and a body without
  // `channel` is an SMS. The shapes exclude each other all the same (`channel`'s values, and
  // the fields each requires), so `oneOf` is exact and Redocly finds no overlap.
  description:
    "One of three shapes, told apart by `channel`: `sms` (or no `channel`), `wechat`, `auto`.",
});

/**
 * What a send body that SendMessageBody refused is told: SendChecks' problems (each field alone,
 * then its channel's rules, every one at once), unless unknown fields are all they are, which the
 * shapes report the same way. Only a refused body, rare on the hot path, pays for this second look.
 */
export function sendBodyError(input: unknown, shapesError: z.ZodError): z.ZodError {
  const checks = SendChecks.safeParse(input).error;
  return checks?.issues.some((issue) => issue.code !== "unrecognized_keys") ? checks : shapesError;
}

export type SendMessageInput = z.infer<typeof SendMessageBody>;

export const PreviewBody = z
  .strictObject({
    to: z.string().min(1).max(32).optional().openapi({
      description: "The recipient; without it, the account's home country is assumed",
    }),
    ...CONTENT_FIELDS,
    smart_encoding: SmartEncoding,
  })
  .superRefine(requireOneContent)
  .transform(asContent)
  .openapi("PreviewMessage");
