/**
 * The dashboard's languages: a catalog per language (en.ts is the reference, zh.ts must match it
 * key for key), the request's locale (the `rbx_lang` cookie the language switch sets, else the
 * browser's Accept-Language: any `zh*` is Chinese, else English) and `Intl` formats for numbers,
 * money in the tenant's currency and times in the tenant's zone.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { type Catalog, en, type MessageKey } from "./en";
import { zh } from "./zh";

export type { MessageKey } from "./en";

export const LOCALES = ["en", "zh"] as const;
export type Locale = (typeof LOCALES)[number];
export const CATALOGS: { readonly [l in Locale]: Catalog } = { en, zh };
export const LOCALE_COOKIE = "rbx_lang";
/** BCP 47 tags for `Intl` and `<html lang>`. */
export const LOCALE_TAGS: { readonly [l in Locale]: string } = { en: "en", zh: "zh-CN" };

export type Vars = Readonly<Record<string, string | number>>;
export type Translate = (key: MessageKey, vars?: Vars) => string;

export const isLocale = (value: unknown): value is Locale =>
  typeof value === "string" && (LOCALES as readonly string[]).includes(value);

/** The locale an Accept-Language header asks for: the first Chinese or English tag by weight. */
export function localeOfAcceptLanguage(header: string | undefined): Locale {
  const ranked = (header ?? "")
    .split(",")
    .map((part, index) => {
      const [tag = "", ...params] = part.trim().toLowerCase().split(";");
      const q = params.map((p) => /^\s*q=([0-9.]+)/.exec(p)?.[1]).find(Boolean);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((r) => r.tag && r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    if (tag === "zh" || tag.startsWith("zh-")) {
      return "zh";
    }
    if (tag === "en" || tag.startsWith("en-")) {
      return "en";
    }
  }
  return "en";
}

/** The request's locale: the remembered choice, else what the browser asks for. */
export function localeOf(c: Context): Locale {
  const chosen = getCookie(c, LOCALE_COOKIE);
  return isLocale(chosen) ? chosen : localeOfAcceptLanguage(c.req.header("accept-language"));
}

/** Fills `{name}` from vars; a variable not given stays visible, so a test can see it. */
function fill(text: string, vars: Vars | undefined): string {
  return vars ? text.replace(/\{(\w+)\}/g, (all, name: string) => String(vars[name] ?? all)) : text;
}

/**
 * The translate function for a locale. `missing` collects keys looked up that the catalog does not
 * have (only possible through `translateDynamic`); the render tests assert it stays empty.
 */
export function translator(locale: Locale, missing?: Set<string>): Translate {
  const catalog = CATALOGS[locale];
  return (key, vars) => {
    const text = catalog[key];
    if (text === undefined) {
      missing?.add(key);
      return key;
    }
    return fill(text, vars);
  };
}

/** For keys built at run time (`status.${s}`): the catalog's text, or `fallback` when it has none. */
export function hasKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** `Intl` formats for a locale, times in the tenant's IANA zone and money in its currency. */
export interface Formats {
  zone: string;
  number(n: number, options?: Intl.NumberFormatOptions): string;
  percent(ratio: number, fractionDigits?: number): string;
  /** A decimal amount (a number or the decimal strings prices and costs are stored as). */
  money(amount: number | string, currency?: string): string;
  /** Millionths of the currency (budgets: domain/budget). */
  moneyMicros(micros: number, currency?: string): string;
  date(ms: number | null): string;
  dateTime(ms: number | null): string;
}

export function formatsFor(locale: Locale, zone: string, currency: string): Formats {
  const tag = LOCALE_TAGS[locale];
  const dash = "—";
  const dateFormat = new Intl.DateTimeFormat(tag, {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const dateTimeFormat = new Intl.DateTimeFormat(tag, {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const money = (amount: number, cur: string) =>
    new Intl.NumberFormat(tag, {
      style: "currency",
      currency: cur,
      maximumFractionDigits: 6,
    }).format(amount);
  return {
    zone,
    number: (n, options) => new Intl.NumberFormat(tag, options).format(n),
    percent: (ratio, digits = 1) =>
      new Intl.NumberFormat(tag, { style: "percent", maximumFractionDigits: digits }).format(ratio),
    money: (amount, cur = currency) => money(Number(amount), cur),
    moneyMicros: (micros, cur = currency) => money(micros / 1_000_000, cur),
    date: (ms) => (ms === null ? dash : dateFormat.format(ms)),
    dateTime: (ms) => (ms === null ? dash : dateTimeFormat.format(ms)),
  };
}
