import { describe, expect, it } from "vitest";
import { fieldErrorsOf } from "../src/dashboard/forms";
import {
  CATALOGS,
  formatsFor,
  LOCALES,
  localeOfAcceptLanguage,
  translator,
} from "../src/dashboard/i18n";
import { en } from "../src/dashboard/i18n/en";
import { NAV, navFor } from "../src/dashboard/nav";
import { problemText, rowReasonText } from "../src/dashboard/problem-text";
import { normalisePhone } from "../src/domain/phone";
import { ApiError } from "../src/lib/problem";
import { optedOutDetail } from "../src/services/messaging/messages";
import { addUser, form, sessionCookieOf, signedIn } from "./support/dashboard";
import { CODE_TEMPLATE } from "./support/templates";
import { call, createTenant, messageReaches, postJson } from "./support/tenants";
import { sandboxApp } from "./support/wechat-sandbox";

const KEYS = Object.keys(en);

/** Every catalog key that shows in a page's HTML: a string rendered without its lookup. */
const rawKeysIn = (html: string) => KEYS.filter((key) => html.includes(key));

describe("dashboard languages", () => {
  it("has every key in every catalog, each with text, and no key that English lacks", () => {
    for (const locale of LOCALES) {
      const catalog: Record<string, string> = CATALOGS[locale];
      expect(Object.keys(catalog).sort()).toEqual([...KEYS].sort());
      for (const key of KEYS) {
        expect(catalog[key]?.trim(), `${locale} ${key}`).not.toBe("");
      }
    }
  });

  it("keeps each text's {variables} the same in every language", () => {
    const vars = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of KEYS) {
      for (const locale of LOCALES) {
        expect(vars(CATALOGS[locale][key as keyof typeof en]), `${locale} ${key}`).toEqual(
          vars(en[key as keyof typeof en]),
        );
      }
    }
  });

  it("names every nav entry's label in the catalog", () => {
    for (const item of NAV) {
      expect(KEYS).toContain(item.labelKey);
    }
  });

  it("picks Chinese for any zh tag the browser prefers, English otherwise", () => {
    expect(localeOfAcceptLanguage("zh-CN,zh;q=0.9,en;q=0.8")).toBe("zh");
    expect(localeOfAcceptLanguage("zh-TW")).toBe("zh");
    expect(localeOfAcceptLanguage("en-US,en;q=0.9,zh;q=0.8")).toBe("en");
    expect(localeOfAcceptLanguage("fr-FR,zh;q=0.5")).toBe("zh");
    expect(localeOfAcceptLanguage("de-DE")).toBe("en");
    expect(localeOfAcceptLanguage(undefined)).toBe("en");
  });

  it("formats times in the tenant's zone and money in its currency, per locale", () => {
    const at = Date.UTC(2026, 0, 2, 23, 30, 0);
    expect(formatsFor("en", "Asia/Shanghai", "CNY").dateTime(at)).toContain("07:30:00");
    expect(formatsFor("zh", "Asia/Shanghai", "CNY").date(at)).toBe("2026/01/03");
    expect(formatsFor("en", "UTC", "USD").date(at)).toBe("01/02/2026");
    expect(formatsFor("zh", "UTC", "CNY").money("0.045")).toBe("¥0.045");
    expect(formatsFor("en", "UTC", "USD").moneyMicros(1_500_000)).toBe("$1.50");
    expect(formatsFor("en", "UTC", "USD").number(12345)).toBe("12,345");
  });

  it("keys a problem's field errors by the form field its pointer names", () => {
    const problem = new ApiError("validation-error", "no", {
      errors: [
        { pointer: "/to", detail: "not a number" },
        { pointer: "/to", detail: "second" },
        { pointer: "/variables/code", detail: "too long" },
        { pointer: "/a~1b", detail: "escaped" },
        { pointer: "", detail: "the whole body" },
      ],
    });
    expect(fieldErrorsOf(problem)).toEqual({
      to: "not a number",
      "variables.code": "too long",
      "a/b": "escaped",
    });
  });

  it("puts a service's problem texts in the page's language, keeping what it cannot translate", () => {
    const zh = { locale: "zh" as const, t: translator("zh") };
    const en = { locale: "en" as const, t: translator("en") };
    expect(problemText(zh, "already used")).toBe("已被使用");
    expect(problemText(zh, "Too small: expected string to have >=1 characters")).toBe(
      "至少需要 1 个字符",
    );
    expect(problemText(zh, "Too big: expected number to be <=1000")).toBe("不能大于 1000");
    expect(problemText(zh, "No WeChat app wx1.", "not-found")).toBe(
      "未找到（原文：No WeChat app wx1.）",
    );
    // Built by the dashboard in Chinese already: as it is.
    expect(problemText(zh, "有字段需要修改。", "validation-error")).toBe("有字段需要修改。");
    expect(problemText(en, "already used", "conflict")).toBe("already used");
  });

  it("puts a batch's rejected rows in the page's language, as the services word them", () => {
    const zh = { locale: "zh" as const, t: translator("zh") };
    const en = { locale: "en" as const, t: translator("en") };
    const detailOf = (input: string) => {
      const phone = normalisePhone(input, "CN");
      return phone.ok ? "" : phone.error.detail;
    };
    expect(rowReasonText(zh, `to: ${detailOf("not-a-number")}`)).toBe(
      "to：“not-a-number”不是电话号码：只能包含数字、开头的 +、空格、短横线、点、括号和斜杠",
    );
    expect(rowReasonText(zh, `to: ${detailOf("+8612")}`)).toBe("to：+8612 不是 CN 的有效号码");
    expect(rowReasonText(zh, `to: ${detailOf("+99912345")}`)).toBe(
      "to：“+99912345”不以已知的国家代码开头",
    );
    expect(rowReasonText(zh, `to: ${optedOutDetail("+8613800138000")}`)).toBe(
      "to：+8613800138000 已退订您的消息，未发送",
    );
    expect(
      rowReasonText(
        zh,
        "variables/code: missing: the template uses {{code}}; variables/name: too long: 31 characters, at most 30",
      ),
    ).toBe(
      "variables/code：缺少变量：模板使用了 {{code}}；variables/name：太长：31 个字符，最多 30 个",
    );
    expect(rowReasonText(zh, "has 3 columns; the header has 2")).toBe("本行有 3 列，表头有 2 列");
    // An unknown detail keeps the service's words under a translated title.
    expect(rowReasonText(zh, "to: something new")).toBe("to：不是有效的值（原文：something new）");
    expect(rowReasonText(en, `to: ${detailOf("not-a-number")}`)).toBe(
      `to: ${detailOf("not-a-number")}`,
    );
  });

  it("shows only the entries a role's permissions reach", () => {
    const analyst = navFor(["messages:read", "templates:read"], "/dashboard/messages/x");
    const paths = analyst.flatMap((s) => s.items.map((i) => i.path));
    expect(paths).toContain("/dashboard/messages");
    expect(paths).not.toContain("/dashboard/users");
    const current = analyst.flatMap((s) => s.items).find((i) => i.current);
    expect(current?.path).toBe("/dashboard/messages");
  });
});

describe("dashboard pages in both languages", () => {
  // Dozens of pages, each rendered twice: longer than the default 5 s on a loaded machine.
  it("render every converted page with no raw catalog key, in English and in Chinese", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const { cookie } = await signedIn(tenant, "admin");
    const sent = await tenant.api("/v1/messages", postJson({ to: "13800138401", body: "hello" }));
    const id = ((await sent.json()) as { id: string }).id;
    await messageReaches(tenant, id, "delivered");
    const template = await tenant.api("/v1/templates", postJson(CODE_TEMPLATE));
    const templateId = ((await template.json()) as { id: string }).id;
    const { appId } = await sandboxApp(tenant);
    const hook = await tenant.api(
      "/v1/webhooks",
      postJson({ url: "https://hooks.example.com/i18n", events: ["message.delivered"] }),
    );
    const hookId = ((await hook.json()) as { id: string }).id;
    const rule = await tenant.api(
      `/v1/wechat/apps/${appId}/auto-replies`,
      postJson({
        match: "prefix",
        keyword: "order",
        reply: { type: "query", endpoint_id: hookId },
      }),
    );
    expect(rule.status).toBe(201);
    const ruleId = ((await rule.json()) as { id: string }).id;
    const contact = await tenant.api("/v1/contacts", postJson({ external_id: "i18n-user" }));
    expect(contact.status).toBe(201);
    const batch = await tenant.api(
      "/v1/batches",
      postJson({ body: "hello", recipients: [{ to: "13800138402" }] }),
    );
    const batchId = ((await batch.json()) as { id: string }).id;
    // Every page a GET reaches, in both languages.
    const pages = [
      "/dashboard",
      "/dashboard/messages",
      `/dashboard/messages/${id}`,
      "/dashboard/reviews",
      "/dashboard/users",
      "/dashboard/account",
      // Content area (i19-c).
      "/dashboard/templates",
      "/dashboard/templates/new",
      `/dashboard/templates/${templateId}`,
      "/dashboard/signatures",
      "/dashboard/sensitive-words",
      "/dashboard/roles",
      "/dashboard/audit",
      "/dashboard/settings",
      "/dashboard/overview",
      "/dashboard/desk",
      "/dashboard/desk/supervise",
      "/dashboard/desk/canned",
      "/dashboard/desk/reports",
      "/dashboard/desk/reports?from=2026-12-01&to=2026-12-07",
      "/dashboard/desk/inspection",
      "/dashboard/desk/scores",
      "/dashboard/verification",
      // Messages area (i19-b).
      "/dashboard/send",
      "/dashboard/batches",
      `/dashboard/batches/${batchId}`,
      "/dashboard/scheduled",
      "/dashboard/messages?status=delivered&channel=sms&from=2026-01-01&until=2030-01-01",
      // WeChat (issue 19, area e)
      "/dashboard/wechat",
      `/dashboard/wechat/${appId}`,
      `/dashboard/wechat/${appId}/menu`,
      `/dashboard/wechat/${appId}/auto-replies`,
      `/dashboard/wechat/${appId}/auto-replies/${ruleId}`,
      `/dashboard/wechat/${appId}/followers`,
      `/dashboard/wechat/${appId}/qrcodes`,
      `/dashboard/wechat/${appId}/broadcasts`,
      `/dashboard/wechat/${appId}/media`,
      `/dashboard/wechat/${appId}/bindings`,
      "/dashboard/contacts",
      "/dashboard/contacts/i18n-user",
      "/dashboard/opt-outs",
      "/dashboard/keys",
      "/dashboard/providers",
      "/dashboard/webhooks",
      `/dashboard/webhooks/${hookId}`,
    ];
    for (const [lang, marker] of [
      ["en", "Sign out"],
      ["zh", "退出登录"],
    ] as const) {
      for (const path of pages) {
        const res = await call(path, null, { headers: { cookie: `${cookie}; rbx_lang=${lang}` } });
        expect(res.status, path).toBe(200);
        const html = await res.text();
        expect(rawKeysIn(html), `${lang} ${path}`).toEqual([]);
        expect(html, `${lang} ${path}`).toContain(marker);
      }
      const login = await (
        await call("/dashboard/login", null, { headers: { cookie: `rbx_lang=${lang}` } })
      ).text();
      expect(rawKeysIn(login)).toEqual([]);
      expect(login).toContain(lang === "zh" ? "登录" : "Sign in");
    }
  }, 30_000);

  it("remembers the language switch in a cookie and comes back to the page", async () => {
    const res = await call("/dashboard/lang/zh?back=%2Fdashboard%2Fusers%3Fcursor%3Dx", null);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/users?cursor=x");
    expect(res.headers.get("set-cookie")).toMatch(/^rbx_lang=zh;/);
    const away = await call("/dashboard/lang/en?back=https%3A%2F%2Fevil.example", null);
    expect(away.headers.get("location")).toBe("/dashboard");
    const slashes = await call("/dashboard/lang/en?back=%2F%2Fevil.example", null);
    expect(slashes.headers.get("location")).toBe("/dashboard");
    expect((await call("/dashboard/lang/fr", null)).status).toBe(404);
  });

  it("is Chinese by default for a browser that asks for it, and shows the tenant's name", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "analyst");
    const login = await call("/dashboard/login", null, {
      headers: { "accept-language": "zh-CN,zh;q=0.9" },
    });
    expect(await login.text()).toContain('<html lang="zh-CN">');
    const signed = await call(
      "/dashboard/login",
      null,
      form({ email: user.email, password: user.password }),
    );
    const cookie = sessionCookieOf(signed);
    const page = await (
      await call("/dashboard", null, { headers: { cookie, "accept-language": "zh-CN" } })
    ).text();
    expect(page).toContain("审核队列");
    // An analyst's menu has no Users entry.
    expect(page).not.toContain('href="/dashboard/users"');
  });
});
