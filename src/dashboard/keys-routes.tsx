/**
 * The dashboard's API keys page: the list with each key's limit, creating one (the key is shown
 * once, in the answer to the form that created it, and never again), revoking with confirmation.
 * The same service as /v1/keys and the same permission (admin), checked on every request.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { grants, PERMISSIONS, type Permission } from "../domain/permissions";
import {
  burstProblem,
  effectiveRateLimit,
  RATE_LIMIT_BOUNDS,
  requestedRateLimit,
} from "../domain/rate-limits";
import { ApiError } from "../lib/problem";
import {
  type ApiKeyRow,
  createApiKey,
  listApiKeys,
  revokeApiKey,
} from "../services/accounts/api-keys";
import {
  ConfirmAction,
  Csrf,
  Field,
  FieldError,
  NoticeLine,
  Pager,
  SelectField,
  Table,
} from "./components";
import { type FieldErrors, fieldErrorsOf } from "./forms";
import { Layout, StatusPill } from "./layout";
import { type Notice, problemNotice, render, setFlash, tOf, useUi } from "./ui";

const KEY_ID = /^key_[0-9A-Z]{26}$/;

/** Only an admin reaches keys, as in the API. */
export function requireAdmin(c: Context<AppEnv>): void {
  if (!grants(c.get("caller").scopes, "admin")) {
    throw new ApiError("forbidden", tOf(c)("common.forbidden"));
  }
}

interface KeyDraft {
  name: string;
  mode: string;
  scopes: string[];
  per_second: string;
  burst: string;
}

export function KeysPage(props: {
  keys: ApiKeyRow[];
  cursor?: string;
  nextCursor: string | null;
  created?: { row: ApiKeyRow; key: string };
  notice?: Notice;
  draft?: KeyDraft;
  errors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  const draft = props.draft;
  return (
    <Layout title={t("keys.title")}>
      <NoticeLine notice={props.notice} />
      {props.created ? (
        <div class="card">
          <h2>{t("keys.created_title", { name: props.created.row.name })}</h2>
          <p class="muted">{t("keys.created_once")}</p>
          <pre class="text mono new-key">{props.created.key}</pre>
        </div>
      ) : null}
      <div class="card">
        <h2>{t("keys.create_title")}</h2>
        <form method="post" action="/dashboard/keys">
          <Csrf />
          <Field
            name="name"
            label={t("keys.name")}
            required
            maxlength={100}
            value={draft?.name}
            errors={props.errors}
          />
          <SelectField
            name="mode"
            label={t("keys.mode")}
            value={draft?.mode ?? "live"}
            options={[
              { value: "live", label: t("keys.mode_live") },
              { value: "test", label: t("keys.mode_test") },
            ]}
            errors={props.errors}
          />
          <fieldset class={props.errors?.scopes ? "field has-error" : "field"}>
            <legend>{t("keys.scopes")}</legend>
            {PERMISSIONS.map((p) => (
              <label class="check">
                <input
                  type="checkbox"
                  name="scopes"
                  value={p}
                  checked={draft ? draft.scopes.includes(p) : p === "messages:send"}
                />{" "}
                <span class="mono">{p}</span>
              </label>
            ))}
            <FieldError error={props.errors?.scopes} />
          </fieldset>
          <Field
            name="rate_limit.per_second"
            label={t("keys.per_second")}
            type="number"
            hint={t("keys.limit_hint")}
            value={draft?.per_second}
            errors={props.errors}
          />
          <Field
            name="rate_limit.burst"
            label={t("keys.burst")}
            type="number"
            value={draft?.burst}
            errors={props.errors}
          />
          <button type="submit">{t("keys.create")}</button>
        </form>
      </div>
      <div class="card">
        <Table
          head={[
            t("keys.name"),
            t("keys.prefix"),
            t("keys.mode"),
            t("keys.scopes"),
            t("keys.limit"),
            t("keys.status"),
            t("keys.created"),
            t("common.actions"),
          ]}
          empty={props.keys.length === 0}
        >
          {props.keys.map((k) => {
            const limit = effectiveRateLimit(k);
            return (
              <tr data-key={k.id}>
                <td>{k.name}</td>
                <td class="mono">{k.prefix}…</td>
                <td>{t(k.mode === "live" ? "keys.mode_live" : "keys.mode_test")}</td>
                <td class="mono">{k.scopes.join(", ")}</td>
                <td>
                  {t("keys.limit_value", {
                    perSecond: fmt.number(limit.perSecond),
                    burst: fmt.number(limit.burst),
                  })}
                </td>
                <td>
                  <StatusPill status={k.revokedAt === null ? "active" : "revoked"} />
                </td>
                <td>{fmt.dateTime(k.createdAt)}</td>
                <td>
                  {k.revokedAt === null ? (
                    <ConfirmAction
                      action={`/dashboard/keys/${k.id}/revoke`}
                      label={t("keys.revoke")}
                      question={t("keys.confirm_revoke", { name: k.name, prefix: k.prefix })}
                    />
                  ) : (
                    fmt.dateTime(k.revokedAt)
                  )}
                </td>
              </tr>
            );
          })}
        </Table>
        <Pager base="/dashboard/keys" cursor={props.cursor} nextCursor={props.nextCursor} />
      </div>
    </Layout>
  );
}

async function renderKeys(
  c: Context<AppEnv>,
  view: {
    notice?: Notice;
    created?: { row: ApiKeyRow; key: string };
    draft?: KeyDraft;
    errors?: FieldErrors;
  } = {},
  status: 200 | 201 | 403 | 404 | 409 | 422 = 200,
) {
  requireAdmin(c);
  const raw = c.req.method === "GET" ? c.req.query("cursor") : undefined;
  const cursor = raw && KEY_ID.test(raw) ? raw : undefined;
  const page = await listApiKeys(c.env, c.get("caller"), { limit: 50, cursor });
  return render(
    c,
    <KeysPage keys={page.data} cursor={cursor} nextCursor={page.nextCursor} {...view} />,
    status,
  );
}

/** A whole number from a form field, or a field error at `pointer`. */
function wholeNumber(
  c: Context<AppEnv>,
  value: string,
  pointer: string,
  bounds: { min: number; max: number },
): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < bounds.min || n > bounds.max) {
    const detail = tOf(c)("keys.bad_number", { min: bounds.min, max: bounds.max });
    throw new ApiError("validation-error", detail, { errors: [{ pointer, detail }] });
  }
  return n;
}

export const keyPages = new Hono<AppEnv>()
  .get("/dashboard/keys", (c) => renderKeys(c))
  .post("/dashboard/keys", async (c) => {
    // Read by the session check already (a bad body is its 400); `all` keeps every scope ticked.
    const form = await c.req.parseBody({ all: true });
    const scopes = [form.scopes ?? []].flat().filter((s): s is string => typeof s === "string");
    const one = (name: string) => (typeof form[name] === "string" ? (form[name] as string) : "");
    const draft: KeyDraft = {
      name: one("name").trim(),
      mode: one("mode"),
      scopes,
      per_second: one("rate_limit.per_second").trim(),
      burst: one("rate_limit.burst").trim(),
    };
    try {
      requireAdmin(c);
      const t = tOf(c);
      const errors: { pointer: string; detail: string }[] = [];
      if (draft.name.length === 0 || draft.name.length > 100) {
        errors.push({ pointer: "/name", detail: t("keys.bad_name") });
      }
      const chosen = scopes.filter((s): s is Permission =>
        (PERMISSIONS as readonly string[]).includes(s),
      );
      if (chosen.length === 0 || chosen.length !== scopes.length) {
        errors.push({ pointer: "/scopes", detail: t("keys.bad_scopes") });
      }
      if (draft.mode !== "live" && draft.mode !== "test") {
        errors.push({ pointer: "/mode", detail: t("keys.bad_mode") });
      }
      if (errors.length > 0) {
        throw new ApiError("validation-error", t("common.form_errors"), { errors });
      }
      let rateLimit: { perSecond: number; burst?: number } | undefined;
      if (draft.per_second !== "" || draft.burst !== "") {
        const perSecond = wholeNumber(
          c,
          draft.per_second,
          "/rate_limit/per_second",
          RATE_LIMIT_BOUNDS.perSecond,
        );
        const burst =
          draft.burst === ""
            ? undefined
            : wholeNumber(c, draft.burst, "/rate_limit/burst", {
                min: perSecond,
                max: RATE_LIMIT_BOUNDS.burst.max,
              });
        const problem = burstProblem(requestedRateLimit({ perSecond, burst }));
        if (problem) {
          throw new ApiError("validation-error", problem, {
            errors: [{ pointer: "/rate_limit/burst", detail: problem }],
          });
        }
        rateLimit = { perSecond, burst };
      }
      const created = await createApiKey(c.env, c.get("caller"), {
        name: draft.name,
        scopes: chosen,
        mode: draft.mode as "live" | "test",
        rateLimit,
      });
      const text = t("keys.created_ok", { name: created.row.name });
      return renderKeys(c, { notice: { kind: "ok", text }, created }, 201);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      const status = error.status === 403 ? 403 : 422;
      return renderKeys(
        c,
        { notice: problemNotice(error), draft, errors: fieldErrorsOf(error) },
        status,
      );
    }
  })
  .post("/dashboard/keys/:id/revoke", async (c) => {
    const id = c.req.param("id");
    if (!KEY_ID.test(id)) {
      throw new ApiError("not-found", `No API key ${id}.`);
    }
    requireAdmin(c);
    await revokeApiKey(c.env, c.get("caller"), id);
    setFlash(c, "ok", "keys.revoked", { id });
    return c.redirect("/dashboard/keys", 303);
  });
