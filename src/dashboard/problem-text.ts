/**
 * The one place a service's problem text (an ApiError's detail, its `errors[].detail`) is put in
 * the page's language. The services speak English (the API's problem+json is English); a page
 * shows their texts through here: a known detail by its catalog key, zod's size messages by
 * pattern, and any other detail under the problem's translated title (by its `type` slug), with
 * the original kept in brackets so nothing the service said is lost. Texts the dashboard built
 * itself with `t` are already in the page's language and pass through.
 */
import type { ProblemSlug } from "../lib/problem";
import type { Locale, MessageKey, Translate } from "./i18n";

/** The services' fixed field and problem details, by their English text. */
const DETAILS: Readonly<Record<string, MessageKey>> = {
  "already used": "problem.detail.already_used",
  "required for exact, prefix and contains": "problem.detail.required_keyword",
  "write the number in E.164, with its +": "problem.detail.e164",
  "under 30 characters": "problem.detail.under_30",
  "the follower's customer-service window is closed": "problem.detail.window_closed",
  "reused with another body": "problem.detail.reused_body",
  required: "problem.detail.required",
  "required with target_type": "problem.detail.required_with_target_type",
  "required when a provider is first set up": "problem.detail.required_first_setup",
  "not one of your webhook endpoints": "problem.detail.not_your_endpoint",
  "not one of this account's contacts": "problem.detail.not_your_contact",
  "not declared by the template": "problem.detail.not_declared",
  "not an approved template": "problem.detail.not_approved_template",
  "not a webhook endpoint of this account": "problem.detail.not_account_endpoint",
  "not a cursor of this list": "problem.detail.bad_cursor",
  "no rows after the header": "problem.detail.no_rows",
  "neither a following WeChat binding nor a phone": "problem.detail.no_binding",
  "needs a {{code}} variable for the code": "problem.detail.code_variable",
  "name at least one day (1 to 7)": "problem.detail.one_day",
  "must not be empty": "problem.detail.not_empty",
  "must be a built-in role or one of your roles' ids": "problem.detail.bad_role",
  "is wrong": "problem.detail.is_wrong",
  "is taken": "problem.detail.is_taken",
  "is taken by another user": "problem.detail.taken_by_user",
  "is not a valid, unexpired invitation": "problem.detail.bad_invitation",
  empty: "problem.detail.empty",
  "already taken": "problem.detail.already_taken",
  "already in your lexicon": "problem.detail.in_lexicon",
  "already exists": "problem.detail.already_exists",
  "The file is empty.": "problem.detail.file_empty",
  "WeChat keeps a remark under 30 characters.": "problem.detail.remark_too_long",
  "Another agent has this conversation.": "problem.detail.another_agent",
  "Only its agent or a supervisor transfers a conversation.": "problem.detail.not_your_transfer",
  "Invalid URL": "problem.detail.bad_url",
};

/**
 * zod's English messages (the services' schemas) and the services' own sizes, with the numbers
 * they carry (`names`: the catalog's variable for each captured group, in order).
 */
const PATTERNS: readonly { re: RegExp; key: MessageKey; names?: readonly string[] }[] = [
  {
    re: /^Too small: expected \w+ to have >=?(\d+) characters?$/,
    key: "problem.detail.too_small",
    names: ["min"],
  },
  {
    re: /^Too big: expected \w+ to have <=?(\d+) characters?$/,
    key: "problem.detail.too_big",
    names: ["max"],
  },
  {
    re: /^Too small: expected number to be >=?(-?\d+)$/,
    key: "problem.detail.too_small_number",
    names: ["min"],
  },
  {
    re: /^Too big: expected number to be <=?(-?\d+)$/,
    key: "problem.detail.too_big_number",
    names: ["max"],
  },
  { re: /^(\d+) to (\d+) characters$/, key: "problem.detail.length_range", names: ["min", "max"] },
  { re: /^Invalid (input|option|string|URL)\b/, key: "problem.detail.invalid_input" },
  // A phone number (domain/phone) and what a send to it is refused for (a batch's rejected rows).
  { re: /^the phone number is empty$/, key: "problem.detail.phone_empty" },
  {
    re: /^"(.*)" does not start with a known country code$/,
    key: "problem.detail.phone_no_country",
    names: ["input"],
  },
  {
    re: /^"(.*)" is too short to be a phone number$/,
    key: "problem.detail.phone_too_short",
    names: ["input"],
  },
  {
    re: /^"(.*)" is too long to be a phone number$/,
    key: "problem.detail.phone_too_long",
    names: ["input"],
  },
  {
    re: /^"(.*)" is not a phone number: only digits, a leading \+/,
    key: "problem.detail.phone_characters",
    names: ["input"],
  },
  { re: /^"(.*)" is not a phone number$/, key: "problem.detail.not_phone", names: ["input"] },
  {
    re: /^(\S+) is not a valid number for (.+)$/,
    key: "problem.detail.phone_invalid_for",
    names: ["number", "where"],
  },
  {
    re: /^Sending to (\w+) is not enabled for this account \(allowed: (.*)\)\.$/,
    key: "problem.detail.country_not_enabled",
    names: ["country", "allowed"],
  },
  {
    re: /^(\S+) has opted out of your messages\b/,
    key: "problem.detail.opted_out",
    names: ["phone"],
  },
  {
    re: /^has (\d+) columns; the header has (\d+)$/,
    key: "problem.detail.row_columns",
    names: ["n", "header"],
  },
  {
    re: /^missing: the template uses \{\{(\w+)\}\}$/,
    key: "problem.detail.variable_missing",
    names: ["name"],
  },
  {
    re: /^too long: (\d+) characters, at most (\d+)$/,
    key: "problem.detail.variable_too_long",
    names: ["n", "max"],
  },
  {
    re: /^contains the blocked word "(.*)" at \d+–\d+$/,
    key: "problem.detail.blocked_word",
    names: ["word"],
  },
];

/** Han characters: a text the dashboard built with `t` in Chinese. */
const CHINESE = /\p{Script=Han}/u;

/** The detail in the catalog's words, or undefined when it is not one the catalog knows. */
export function knownDetail(t: Translate, detail: string): string | undefined {
  const key = DETAILS[detail.trim()];
  if (key) {
    return t(key);
  }
  for (const { re, key: patternKey, names = [] } of PATTERNS) {
    const match = re.exec(detail.trim());
    if (match) {
      return t(patternKey, Object.fromEntries(names.map((name, i) => [name, match[i + 1] ?? ""])));
    }
  }
  return undefined;
}

/**
 * A problem's text for the page: in English as the service said it; in Chinese the catalog's,
 * or the translated title with the service's words in brackets. `slug` is the problem's type
 * (a field error has none).
 */
export function problemText(
  ui: { locale: Locale; t: Translate },
  text: string,
  slug?: ProblemSlug,
): string {
  if (ui.locale === "en" || CHINESE.test(text)) {
    return text;
  }
  const known = knownDetail(ui.t, text);
  if (known !== undefined) {
    return known;
  }
  // A field's unknown detail says what is wrong with the value; a problem's, its kind.
  const title = slug ? ui.t(`problem.${slug}` as MessageKey) : ui.t("problem.detail.invalid_input");
  return ui.t("problem.untranslated", { title, detail: text });
}

/**
 * A batch's rejected row (services/messaging/batches: `field: detail`, several joined by `; `, or
 * a detail alone) in the page's language: each detail as problemText puts it, the fields (`to`,
 * `variables/name`) as they are, since they are the CSV's own column names.
 */
export function rowReasonText(ui: { locale: Locale; t: Translate }, reason: string): string {
  if (ui.locale === "en") {
    return reason;
  }
  return reason
    .split(/; (?=[\w/]+: )/)
    .map((part) => {
      const field = /^([\w/]+): (.+)$/s.exec(part);
      const detail = field?.[2] ?? part;
      const text = knownDetail(ui.t, detail) ?? problemText(ui, detail);
      return field ? `${field[1]}：${text}` : text;
    })
    .join("；");
}
