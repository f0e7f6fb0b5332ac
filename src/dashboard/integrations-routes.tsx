/**
 * The dashboard's Providers and routes (credentials write-only: never shown back; callback URLs to
 * copy; routing rules listed, created, deleted) and Webhooks (endpoints with their secret shown
 * once, deliveries with their attempts, replay) pages. The same services as /v1/providers,
 * /v1/routes and /v1/webhooks and the same permission (admin), checked on every request.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { PROVIDER_SETTINGS } from "../domain/providers";
import { isDestination } from "../domain/routing";
import {
  PROVIDERS,
  type ProviderName,
  WEBHOOK_EVENTS,
  type WebhookEvent,
} from "../domain/vocabulary";
import { ApiError } from "../lib/problem";
import {
  callbackUrls,
  deleteProvider,
  listProviders,
  type ProviderRow,
  putProvider,
  rotateHookToken,
} from "../services/carriers/providers";
import {
  deleteRoute,
  listRoutes,
  putRoute,
  type RouteRow,
} from "../services/carriers/routing-rules";
import {
  createWebhookEndpoint,
  type DeliveryStatus,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listDeliveries,
  listWebhookEndpoints,
  replayDelivery,
  rotateWebhookSecret,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
} from "../services/webhooks/endpoints";
import {
  ConfirmAction,
  Csrf,
  Field,
  FieldError,
  FilterField,
  FilterForm,
  NoticeLine,
  Pager,
  PostButton,
  SelectField,
  Table,
} from "./components";
import { type FieldErrors, fieldErrorsOf, fieldOf } from "./forms";
import { requireAdmin } from "./keys-routes";
import { Layout, StatusPill } from "./layout";
import { type Notice, problemNotice, render, setFlash, tOf, useUi } from "./ui";

const WEBHOOK_ID = /^whk_[0-9A-Z]{26}$/;
const DELIVERY_ID = /^whd_[0-9A-Z]{26}$/;
const ROUTE_ID = /^rte_[0-9A-Z]{26}$/;
/** How many provider rows the route form offers. */
const ROUTE_ROWS = 3;

type Status = 200 | 201 | 403 | 404 | 409 | 422;
const formStatus = (error: ApiError): Status =>
  error.status === 403 || error.status === 404 || error.status === 409 ? error.status : 422;

type Form = Record<string, string | File | (string | File)[]>;
const valuesOf = (form: Form, name: string): string[] =>
  [form[name] ?? []].flat().filter((v): v is string => typeof v === "string");

// ---------------------------------------------------------------- Providers and routes

const isProvider = (value: string): value is ProviderName =>
  (PROVIDERS as readonly string[]).includes(value);

/** A provider's field names, from its schema: the form offers exactly what the API accepts. */
function fieldsOf(provider: ProviderName, section: "config" | "credentials"): string[] {
  return Object.keys(PROVIDER_SETTINGS[provider][section].shape);
}

function ProviderCard(props: {
  provider: ProviderName;
  row?: ProviderRow;
  urls?: { status: string; inbound: string };
  draft?: Record<string, string>;
  errors?: FieldErrors;
}) {
  const { t } = useUi();
  const { provider, row } = props;
  const config = fieldsOf(provider, "config");
  const credentials = fieldsOf(provider, "credentials");
  const stored = (name: string) => {
    const value = row?.config[name];
    return value === undefined || value === null ? "" : String(value);
  };
  const providerForm = (
    <form method="post" action={`/dashboard/providers/${provider}`}>
      <Csrf />
      {config.map((name) => (
        <Field
          name={`config.${name}`}
          label={name}
          value={props.draft?.[`config.${name}`] ?? stored(name)}
          errors={props.errors}
        />
      ))}
      {credentials.length > 0 ? (
        <p class="muted">
          {row?.secretCiphertext ? t("providers.credentials_kept") : t("providers.credentials_new")}
        </p>
      ) : null}
      {credentials.map((name) => (
        // Write-only: never filled in, never shown back.
        <Field name={`credentials.${name}`} label={name} type="password" errors={props.errors} />
      ))}
      <FieldError error={props.errors?.credentials} />
      <div class="field">
        <label class="check">
          <input type="checkbox" name="enabled" value="true" checked={row ? row.enabled : true} />{" "}
          {t("providers.enabled")}
        </label>
      </div>
      <button type="submit">{row ? t("providers.save") : t("providers.set_up")}</button>
    </form>
  );
  const destructive = row ? (
    <div class="actions">
      <ConfirmAction
        action={`/dashboard/providers/${provider}/rotate-hook-token`}
        label={t("providers.rotate_token")}
        question={t("providers.confirm_rotate_token", { provider })}
      />
      <ConfirmAction
        action={`/dashboard/providers/${provider}/delete`}
        label={t("providers.delete")}
        question={t("providers.confirm_delete", { provider })}
      />
    </div>
  ) : null;
  return (
    <div class="card provider" id={`provider-${provider}`}>
      <h2>
        {provider}{" "}
        <StatusPill status={row ? (row.enabled ? "enabled" : "disabled") : "not_configured"} />
      </h2>
      {props.urls ? (
        <div class="callbacks">
          <p class="muted">{t("providers.callbacks_hint")}</p>
          <Field name={`${provider}-status-url`} label={t("providers.status_url")}>
            <input
              id={`field-${provider}-status-url`}
              class="mono copy"
              readonly
              value={props.urls.status}
            />
          </Field>
          <Field name={`${provider}-inbound-url`} label={t("providers.inbound_url")}>
            <input
              id={`field-${provider}-inbound-url`}
              class="mono copy"
              readonly
              value={props.urls.inbound}
            />
          </Field>
        </div>
      ) : null}
      {/* Not set up: the form opens on demand (kept open when it came back with errors). */}
      {row ? (
        <>
          {providerForm}
          {destructive}
        </>
      ) : (
        <details open={props.errors !== undefined}>
          <summary class="button secondary">{t("providers.set_up")}</summary>
          {providerForm}
        </details>
      )}
    </div>
  );
}

export function ProvidersPage(props: {
  providers: ProviderRow[];
  urls: Record<string, { status: string; inbound: string }>;
  routes: RouteRow[];
  notice?: Notice;
  failed?: { provider: ProviderName; draft: Record<string, string>; errors: FieldErrors };
  routeDraft?: Record<string, string>;
  routeErrors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  const configured = props.providers.map((p) => p.provider);
  return (
    <Layout title={t("providers.title")}>
      <NoticeLine notice={props.notice} />
      <h2>{t("providers.routes_title")}</h2>
      <div class="card">
        <Table
          head={[
            t("providers.destination"),
            t("providers.route_providers"),
            t("providers.updated"),
            t("common.actions"),
          ]}
          empty={props.routes.length === 0}
        >
          {props.routes.map((r) => (
            <tr>
              <td class="mono">{r.destination}</td>
              <td>
                {r.providers
                  .map((p) =>
                    t("providers.route_entry", {
                      provider: p.provider,
                      priority: p.priority,
                      weight: p.weight,
                    }),
                  )
                  .join("; ")}
              </td>
              <td>{fmt.dateTime(r.updatedAt)}</td>
              <td>
                <ConfirmAction
                  action={`/dashboard/routes/${r.id}/delete`}
                  label={t("providers.delete_route")}
                  question={t("providers.confirm_delete_route", { destination: r.destination })}
                />
              </td>
            </tr>
          ))}
        </Table>
        <h3>{t("providers.route_create")}</h3>
        <p class="muted">{t("providers.route_hint")}</p>
        <form method="post" action="/dashboard/routes">
          <Csrf />
          <Field
            name="destination"
            label={t("providers.destination")}
            required
            maxlength={16}
            placeholder="+86 / CN"
            value={props.routeDraft?.destination}
            errors={props.routeErrors}
          />
          {Array.from({ length: ROUTE_ROWS }, (_, i) => (
            <fieldset class="route-row">
              <legend>{t("providers.route_row", { n: i + 1 })}</legend>
              <SelectField
                name={`providers.${i}.provider`}
                label={t("providers.provider")}
                value={
                  props.routeDraft?.[`providers.${i}.provider`] ?? (i === 0 ? configured[0] : "")
                }
                options={[
                  { value: "", label: t("common.dash") },
                  ...configured.map((p) => ({ value: p, label: p })),
                ]}
                errors={props.routeErrors}
              />
              <Field
                name={`providers.${i}.priority`}
                label={t("providers.priority")}
                type="number"
                value={props.routeDraft?.[`providers.${i}.priority`] ?? "1"}
                errors={props.routeErrors}
              />
              <Field
                name={`providers.${i}.weight`}
                label={t("providers.weight")}
                type="number"
                value={props.routeDraft?.[`providers.${i}.weight`] ?? "1"}
                errors={props.routeErrors}
              />
            </fieldset>
          ))}
          <button type="submit">{t("providers.route_save")}</button>
        </form>
      </div>
      <h2>{t("providers.providers_title")}</h2>
      <p class="muted">{t("providers.write_only")}</p>
      {PROVIDERS.map((p) => (
        <ProviderCard
          provider={p}
          row={props.providers.find((r) => r.provider === p)}
          urls={props.urls[p]}
          draft={props.failed?.provider === p ? props.failed.draft : undefined}
          errors={props.failed?.provider === p ? props.failed.errors : undefined}
        />
      ))}
    </Layout>
  );
}

async function renderProviders(
  c: Context<AppEnv>,
  view: Omit<Parameters<typeof ProvidersPage>[0], "providers" | "urls" | "routes"> = {},
  status: Status = 200,
) {
  requireAdmin(c);
  const caller = c.get("caller");
  const [providers, routes] = await Promise.all([
    listProviders(c.env, caller),
    listRoutes(c.env, caller),
  ]);
  const urls = Object.fromEntries(providers.map((row) => [row.provider, callbackUrls(c.env, row)]));
  return render(
    c,
    <ProvidersPage providers={providers} urls={urls} routes={routes} {...view} />,
    status,
  );
}

/** A form number, or the text itself (the service's schema then says why it is not one). */
function numberOrText(value: string): number | string {
  return /^-?\d+$/.test(value) ? Number(value) : value;
}

// ---------------------------------------------------------------- Webhooks

function EventChecks(props: { selected: readonly string[]; errors?: FieldErrors }) {
  const { t } = useUi();
  return (
    <fieldset class={props.errors?.events ? "field has-error" : "field"}>
      <legend>{t("webhooks.events")}</legend>
      {WEBHOOK_EVENTS.map((e) => (
        <label class="check">
          <input type="checkbox" name="events" value={e} checked={props.selected.includes(e)} />{" "}
          <span class="mono">{e}</span>
        </label>
      ))}
      <FieldError error={props.errors?.events} />
    </fieldset>
  );
}

export function WebhooksPage(props: {
  endpoints: WebhookEndpointRow[];
  cursor?: string;
  nextCursor: string | null;
  /** A secret shown once: a new endpoint's, or a rotated one's (`rotated`). */
  created?: { row: WebhookEndpointRow; secret: string; rotated?: boolean };
  notice?: Notice;
  draft?: { url: string; description: string; events: string[] };
  errors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("webhooks.title")}>
      <NoticeLine notice={props.notice} />
      {props.created ? (
        <div class="card">
          <h2>
            {props.created.rotated ? t("webhooks.rotated_title") : t("webhooks.secret_title")}
          </h2>
          <p class="muted">{t("webhooks.secret_once")}</p>
          <pre class="text mono new-secret">{props.created.secret}</pre>
        </div>
      ) : null}
      <div class="card">
        <h2>{t("webhooks.create_title")}</h2>
        <form method="post" action="/dashboard/webhooks">
          <Csrf />
          <Field
            name="url"
            label={t("webhooks.url")}
            type="url"
            required
            maxlength={2048}
            placeholder="https://"
            value={props.draft?.url}
            errors={props.errors}
          />
          <Field
            name="description"
            label={t("webhooks.description")}
            maxlength={200}
            value={props.draft?.description}
            errors={props.errors}
          />
          <EventChecks
            selected={props.draft?.events ?? ["message.delivered", "message.failed"]}
            errors={props.errors}
          />
          <button type="submit">{t("webhooks.create")}</button>
        </form>
      </div>
      <div class="card">
        <Table
          head={[
            t("webhooks.url"),
            t("webhooks.events"),
            t("webhooks.description"),
            t("webhooks.created"),
            t("common.actions"),
          ]}
          empty={props.endpoints.length === 0}
        >
          {props.endpoints.map((e) => (
            <tr>
              <td class="mono">
                <a href={`/dashboard/webhooks/${e.id}`}>{e.url}</a>
              </td>
              <td class="mono">{e.events.join(", ")}</td>
              <td>{e.description ?? t("common.dash")}</td>
              <td>{fmt.dateTime(e.createdAt)}</td>
              <td>
                <div class="actions">
                  <a href={`/dashboard/webhooks/${e.id}`}>{t("webhooks.deliveries")}</a>
                  <ConfirmAction
                    action={`/dashboard/webhooks/${e.id}/rotate-secret`}
                    label={t("webhooks.rotate")}
                    question={t("webhooks.confirm_rotate", { url: e.url })}
                  />
                  <ConfirmAction
                    action={`/dashboard/webhooks/${e.id}/delete`}
                    label={t("webhooks.delete")}
                    question={t("webhooks.confirm_delete", { url: e.url })}
                  />
                </div>
              </td>
            </tr>
          ))}
        </Table>
        <Pager base="/dashboard/webhooks" cursor={props.cursor} nextCursor={props.nextCursor} />
      </div>
    </Layout>
  );
}

const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["pending", "delivered", "failed"];

export function DeliveriesPage(props: {
  endpoint: WebhookEndpointRow;
  deliveries: WebhookDeliveryRow[];
  status?: DeliveryStatus;
  cursor?: string;
  nextCursor: string | null;
}) {
  const { t, fmt } = useUi();
  const base = `/dashboard/webhooks/${props.endpoint.id}`;
  return (
    <Layout title={t("webhooks.deliveries_title")}>
      <p>
        <a href="/dashboard/webhooks">{t("webhooks.back")}</a>
      </p>
      <p class="mono">{props.endpoint.url}</p>
      <div class="card">
        <FilterForm action={base}>
          <FilterField
            name="status"
            label={t("webhooks.status")}
            value={props.status}
            options={[
              { value: "", label: t("common.all") },
              ...DELIVERY_STATUSES.map((s) => ({ value: s, label: s })),
            ]}
          />
        </FilterForm>
        <Table
          head={[
            t("webhooks.event"),
            t("webhooks.status"),
            t("webhooks.attempts"),
            t("webhooks.created"),
            t("common.actions"),
          ]}
          empty={props.deliveries.length === 0}
        >
          {props.deliveries.map((d) => (
            <tr>
              <td>
                <span class="mono">{d.eventType}</span>
                <br />
                <span class="muted mono">{d.eventId}</span>
              </td>
              <td>
                <StatusPill status={d.status} />
              </td>
              <td>
                {d.attempts.length === 0 ? (
                  t("common.dash")
                ) : (
                  <details>
                    <summary>{t("webhooks.attempt_count", { n: d.attemptCount })}</summary>
                    <ol class="attempts">
                      {d.attempts.map((a) => (
                        <li>
                          {fmt.dateTime(a.at)} ·{" "}
                          {a.statusCode === null ? t("common.dash") : `HTTP ${a.statusCode}`} ·{" "}
                          {t("webhooks.latency", { ms: fmt.number(a.latencyMs) })}
                          {a.error ? <span class="muted"> · {a.error}</span> : null}
                        </li>
                      ))}
                    </ol>
                  </details>
                )}
              </td>
              <td>{fmt.dateTime(d.createdAt)}</td>
              <td>
                <PostButton
                  action={`${base}/deliveries/${d.id}/replay`}
                  label={t("webhooks.replay")}
                />
              </td>
            </tr>
          ))}
        </Table>
        <Pager
          base={base}
          query={{ status: props.status }}
          cursor={props.cursor}
          nextCursor={props.nextCursor}
        />
      </div>
    </Layout>
  );
}

async function renderWebhooks(
  c: Context<AppEnv>,
  view: Omit<Parameters<typeof WebhooksPage>[0], "endpoints" | "nextCursor"> = {},
  status: Status = 200,
) {
  requireAdmin(c);
  const raw = c.req.method === "GET" ? c.req.query("cursor") : undefined;
  const cursor = raw && WEBHOOK_ID.test(raw) ? raw : undefined;
  const page = await listWebhookEndpoints(c.env, c.get("caller"), { limit: 50, cursor });
  return render(
    c,
    <WebhooksPage endpoints={page.data} cursor={cursor} nextCursor={page.nextCursor} {...view} />,
    status,
  );
}

function providerParam(c: Context<AppEnv>): ProviderName {
  const provider = c.req.param("provider") ?? "";
  if (!isProvider(provider)) {
    throw new ApiError("not-found", `No provider ${provider}.`);
  }
  return provider;
}

function webhookIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!WEBHOOK_ID.test(id)) {
    throw new ApiError("not-found", `No webhook endpoint ${id}.`);
  }
  return id;
}

export const integrationPages = new Hono<AppEnv>()
  .get("/dashboard/providers", (c) => renderProviders(c))
  .post("/dashboard/providers/:provider", async (c) => {
    const provider = providerParam(c);
    requireAdmin(c);
    const form = (await c.req.parseBody({ all: true })) as Form;
    const draft: Record<string, string> = {};
    const config: Record<string, unknown> = {};
    for (const name of fieldsOf(provider, "config")) {
      const value = fieldOf(form, `config.${name}`).trim();
      draft[`config.${name}`] = value;
      if (value !== "") {
        config[name] = name === "timeout_ms" ? numberOrText(value) : value;
      }
    }
    const credentials: Record<string, unknown> = {};
    for (const name of fieldsOf(provider, "credentials")) {
      const value = fieldOf(form, `credentials.${name}`);
      if (value !== "") {
        credentials[name] = value;
      }
    }
    try {
      await putProvider(c.env, c.get("caller"), provider, {
        enabled: fieldOf(form, "enabled") === "true",
        config,
        // Left empty: the stored credentials stay (they are never shown back to fill in).
        credentials:
          Object.keys(credentials).length > 0 || provider === "sandbox" ? credentials : undefined,
      });
      setFlash(c, "ok", "providers.saved", { provider });
      return c.redirect(`/dashboard/providers#provider-${provider}`, 303);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderProviders(
        c,
        {
          notice: problemNotice(error),
          failed: { provider, draft, errors: fieldErrorsOf(error) },
        },
        formStatus(error),
      );
    }
  })
  .post("/dashboard/routes", async (c) => {
    requireAdmin(c);
    const form = (await c.req.parseBody({ all: true })) as Form;
    const draft: Record<string, string> = { destination: fieldOf(form, "destination").trim() };
    const providers: { provider: ProviderName; priority: number; weight: number }[] = [];
    /** The form row of each provider sent: a blank row is skipped, so the two may differ. */
    const formRows: number[] = [];
    const errors: { pointer: string; detail: string }[] = [];
    const t = tOf(c);
    for (let i = 0; i < ROUTE_ROWS; i++) {
      for (const part of ["provider", "priority", "weight"]) {
        draft[`providers.${i}.${part}`] = fieldOf(form, `providers.${i}.${part}`).trim();
      }
      const name = draft[`providers.${i}.provider`] ?? "";
      if (name === "") {
        continue;
      }
      const priority = Number(draft[`providers.${i}.priority`]);
      const weight = Number(draft[`providers.${i}.weight`]);
      if (!isProvider(name)) {
        errors.push({ pointer: `/providers/${i}/provider`, detail: t("providers.bad_provider") });
      }
      if (!Number.isInteger(priority) || priority < 1 || priority > 10) {
        errors.push({ pointer: `/providers/${i}/priority`, detail: t("providers.bad_priority") });
      }
      if (!Number.isInteger(weight) || weight < 0 || weight > 1000) {
        errors.push({ pointer: `/providers/${i}/weight`, detail: t("providers.bad_weight") });
      }
      if (isProvider(name)) {
        providers.push({ provider: name, priority, weight });
        formRows.push(i);
      }
    }
    if (!isDestination(draft.destination ?? "")) {
      errors.push({ pointer: "/destination", detail: t("providers.bad_destination") });
    }
    if (providers.length === 0 && errors.length === 0) {
      errors.push({ pointer: "/providers/0/provider", detail: t("providers.bad_provider") });
    }
    try {
      if (errors.length > 0) {
        throw new ApiError("validation-error", t("common.form_errors"), { errors });
      }
      await putRoute(c.env, c.get("caller"), {
        destination: draft.destination ?? "",
        providers,
      }).catch((error: unknown) => {
        // The service's pointers index the rows sent: point them at the form's rows.
        if (!(error instanceof ApiError) || !error.errors) {
          throw error;
        }
        throw new ApiError(error.slug, error.message, {
          errors: error.errors.map((e) => ({
            ...e,
            pointer: e.pointer.replace(
              /^\/providers\/(\d+)/,
              (_, n: string) => `/providers/${formRows[Number(n)] ?? n}`,
            ),
          })),
        });
      });
      setFlash(c, "ok", "providers.route_saved", { destination: draft.destination ?? "" });
      return c.redirect("/dashboard/providers", 303);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderProviders(
        c,
        {
          notice: problemNotice(error),
          routeDraft: draft,
          routeErrors: fieldErrorsOf(error),
        },
        formStatus(error),
      );
    }
  })
  .post("/dashboard/providers/:provider/delete", async (c) => {
    const provider = providerParam(c);
    requireAdmin(c);
    await deleteProvider(c.env, c.get("caller"), provider);
    setFlash(c, "ok", "providers.deleted", { provider });
    return c.redirect("/dashboard/providers", 303);
  })
  .post("/dashboard/providers/:provider/rotate-hook-token", async (c) => {
    const provider = providerParam(c);
    requireAdmin(c);
    await rotateHookToken(c.env, c.get("caller"), provider);
    setFlash(c, "ok", "providers.token_rotated", { provider });
    return c.redirect(`/dashboard/providers#provider-${provider}`, 303);
  })
  .post("/dashboard/routes/:id/delete", async (c) => {
    const id = c.req.param("id");
    if (!ROUTE_ID.test(id)) {
      throw new ApiError("not-found", `No route ${id}.`);
    }
    requireAdmin(c);
    await deleteRoute(c.env, c.get("caller"), id);
    setFlash(c, "ok", "providers.route_deleted");
    return c.redirect("/dashboard/providers", 303);
  })
  .get("/dashboard/webhooks", (c) => renderWebhooks(c))
  .post("/dashboard/webhooks", async (c) => {
    requireAdmin(c);
    const form = (await c.req.parseBody({ all: true })) as Form;
    const draft = {
      url: fieldOf(form, "url").trim(),
      description: fieldOf(form, "description").trim(),
      events: valuesOf(form, "events"),
    };
    const t = tOf(c);
    try {
      const events = draft.events.filter((e): e is WebhookEvent =>
        (WEBHOOK_EVENTS as readonly string[]).includes(e),
      );
      const errors: { pointer: string; detail: string }[] = [];
      if (events.length === 0 || events.length !== draft.events.length) {
        errors.push({ pointer: "/events", detail: t("webhooks.bad_events") });
      }
      if (!URL.canParse(draft.url) || draft.url.length > 2048) {
        errors.push({ pointer: "/url", detail: t("webhooks.bad_url") });
      }
      if (draft.description.length > 200) {
        errors.push({ pointer: "/description", detail: t("webhooks.bad_description") });
      }
      if (errors.length > 0) {
        throw new ApiError("validation-error", t("common.form_errors"), { errors });
      }
      const created = await createWebhookEndpoint(c.env, c.get("caller"), {
        url: draft.url,
        events,
        description: draft.description || undefined,
      });
      const text = t("webhooks.created_ok", { url: created.row.url });
      return renderWebhooks(c, { notice: { kind: "ok", text }, created }, 201);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderWebhooks(
        c,
        { notice: problemNotice(error), draft, errors: fieldErrorsOf(error) },
        formStatus(error),
      );
    }
  })
  .post("/dashboard/webhooks/:id/delete", async (c) => {
    const id = webhookIdParam(c);
    requireAdmin(c);
    await deleteWebhookEndpoint(c.env, c.get("caller"), id);
    setFlash(c, "ok", "webhooks.deleted");
    return c.redirect("/dashboard/webhooks", 303);
  })
  .post("/dashboard/webhooks/:id/rotate-secret", async (c) => {
    const id = webhookIdParam(c);
    requireAdmin(c);
    const rotated = await rotateWebhookSecret(c.env, c.get("caller"), id);
    const text = tOf(c)("webhooks.rotated_ok", { url: rotated.row.url });
    // Shown once, on this answer: never stored where a later page could show it again.
    return renderWebhooks(c, {
      notice: { kind: "ok", text },
      created: { ...rotated, rotated: true },
    });
  })
  .get("/dashboard/webhooks/:id", async (c) => {
    const id = webhookIdParam(c);
    requireAdmin(c);
    const caller = c.get("caller");
    const status = DELIVERY_STATUSES.find((s) => s === c.req.query("status"));
    const raw = c.req.query("cursor");
    const cursor = raw && DELIVERY_ID.test(raw) ? raw : undefined;
    const endpoint = await getWebhookEndpoint(c.env, caller, id);
    const page = await listDeliveries(c.env, caller, id, { status, limit: 50, cursor });
    return render(
      c,
      <DeliveriesPage
        endpoint={endpoint}
        deliveries={page.data}
        status={status}
        cursor={cursor}
        nextCursor={page.nextCursor}
      />,
    );
  })
  .post("/dashboard/webhooks/:id/deliveries/:delivery/replay", async (c) => {
    const id = webhookIdParam(c);
    const delivery = c.req.param("delivery");
    if (!DELIVERY_ID.test(delivery)) {
      throw new ApiError("not-found", `No delivery ${delivery}.`);
    }
    requireAdmin(c);
    await replayDelivery(c.env, c.get("caller"), id, delivery);
    setFlash(c, "ok", "webhooks.replayed", { id: delivery });
    return c.redirect(`/dashboard/webhooks/${id}`, 303);
  });
