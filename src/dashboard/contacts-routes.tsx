/**
 * The dashboard's Contacts (list, look up, create, edit; WeChat bindings shown) and Opt-outs
 * (list, add, remove with confirmation) pages, over the same services as /v1/contacts and
 * /v1/opt-outs and with the same permissions. Each POST checks the permission itself.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { grants, type Permission } from "../domain/permissions";
import { ApiError } from "../lib/problem";
import {
  type Contact,
  createContact,
  getContact,
  listContacts,
  updateContact,
} from "../services/contacts/contacts";
import {
  addOptOut,
  listOptOuts,
  OPT_OUT_CURSOR,
  type OptOutRow,
  removeOptOut,
} from "../services/inbound/opt-outs";
import {
  ConfirmAction,
  Csrf,
  Field,
  FilterField,
  FilterForm,
  NoticeLine,
  Pager,
  Table,
} from "./components";
import { type FieldErrors, fieldErrorsOf, fieldOf, readForm } from "./forms";
import { Layout } from "./layout";
import { type Notice, problemNotice, render, setFlash, tOf, useUi } from "./ui";

const CONTACT_CURSOR = /^ctc_[0-9A-Z]{26}$/;
const EXTERNAL_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

function requirePermission(c: Context<AppEnv>, permission: Permission): void {
  if (!grants(c.get("caller").scopes, permission)) {
    throw new ApiError("forbidden", tOf(c)("common.forbidden"));
  }
}

const formStatus = (error: ApiError) =>
  error.status === 403 || error.status === 404 || error.status === 409 ? error.status : 422;

/** A form's optional text: trimmed; empty is "not given". */
const optional = (value: string) => (value.trim() === "" ? undefined : value.trim());

function checkExternalId(c: Context<AppEnv>, value: string): void {
  if (!EXTERNAL_ID.test(value)) {
    throw new ApiError("validation-error", tOf(c)("contacts.bad_external_id"), {
      errors: [{ pointer: "/external_id", detail: tOf(c)("contacts.bad_external_id") }],
    });
  }
}

function checkName(c: Context<AppEnv>, value: string | undefined): void {
  if (value !== undefined && value.length > 200) {
    throw new ApiError("validation-error", tOf(c)("contacts.bad_name"), {
      errors: [{ pointer: "/name", detail: tOf(c)("contacts.bad_name") }],
    });
  }
}

// ---------------------------------------------------------------- Contacts

interface ContactDraft {
  external_id: string;
  name: string;
  phone: string;
}

function ContactForm(props: {
  action: string;
  draft?: Partial<ContactDraft>;
  errors?: FieldErrors;
  editing?: boolean;
}) {
  const { t } = useUi();
  return (
    <form method="post" action={props.action}>
      <Csrf />
      {props.editing ? null : (
        <Field
          name="external_id"
          label={t("contacts.external_id")}
          hint={t("contacts.external_id_hint")}
          required
          maxlength={128}
          value={props.draft?.external_id}
          errors={props.errors}
        />
      )}
      <Field
        name="name"
        label={t("contacts.name")}
        maxlength={200}
        value={props.draft?.name}
        errors={props.errors}
      />
      <Field
        name="phone"
        label={t("contacts.phone")}
        type="tel"
        maxlength={64}
        hint={t("contacts.phone_hint")}
        value={props.draft?.phone}
        errors={props.errors}
      />
      <button type="submit">{props.editing ? t("contacts.save") : t("contacts.create")}</button>
    </form>
  );
}

const SOURCE_LABELS = {
  api: "contacts.source_api",
  oauth: "contacts.source_oauth",
  qrcode: "contacts.source_qrcode",
} as const;

function Bindings(props: { contact: Contact }) {
  const { t } = useUi();
  if (props.contact.wechat.length === 0) {
    return <span class="muted">{t("common.dash")}</span>;
  }
  return (
    <ul class="plain">
      {props.contact.wechat.map((b) => (
        <li>
          <span class="mono">{b.appId}</span> · <span class="mono">{b.openid}</span>{" "}
          <span class="muted">({t(SOURCE_LABELS[b.source])})</span>
        </li>
      ))}
    </ul>
  );
}

export function ContactsPage(props: {
  contacts: Contact[];
  q?: string;
  cursor?: string;
  nextCursor: string | null;
  canWrite: boolean;
  notice?: Notice;
  draft?: Partial<ContactDraft>;
  errors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("contacts.title")}>
      <NoticeLine notice={props.notice} />
      {props.canWrite ? (
        <div class="card">
          <h2>{t("contacts.create_title")}</h2>
          <ContactForm action="/dashboard/contacts" draft={props.draft} errors={props.errors} />
        </div>
      ) : null}
      <div class="card">
        <FilterForm action="/dashboard/contacts">
          <FilterField
            name="q"
            type="search"
            label={t("contacts.search_external_id")}
            value={props.q}
          />
        </FilterForm>
        <Table
          head={[
            t("contacts.external_id"),
            t("contacts.name"),
            t("contacts.phone"),
            t("contacts.wechat"),
            t("contacts.updated"),
            ...(props.canWrite ? [t("common.actions")] : []),
          ]}
          empty={props.contacts.length === 0}
        >
          {props.contacts.map((contact) => (
            <tr>
              <td class="mono">{contact.externalId}</td>
              <td>{contact.name ?? t("common.dash")}</td>
              <td class="mono">{contact.phone ?? t("common.dash")}</td>
              <td>
                <Bindings contact={contact} />
              </td>
              <td>{fmt.dateTime(contact.updatedAt)}</td>
              {props.canWrite ? (
                <td>
                  <a href={`/dashboard/contacts/${encodeURIComponent(contact.externalId)}`}>
                    {t("contacts.edit")}
                  </a>
                </td>
              ) : null}
            </tr>
          ))}
        </Table>
        <Pager base="/dashboard/contacts" cursor={props.cursor} nextCursor={props.nextCursor} />
      </div>
    </Layout>
  );
}

export function ContactPage(props: {
  contact: Contact;
  notice?: Notice;
  draft?: Partial<ContactDraft>;
  errors?: FieldErrors;
}) {
  const { t } = useUi();
  const c = props.contact;
  return (
    <Layout title={t("contacts.edit_title", { id: c.externalId })}>
      <NoticeLine notice={props.notice} />
      <p>
        <a href="/dashboard/contacts">{t("contacts.back")}</a>
      </p>
      <div class="card narrow">
        <ContactForm
          action={`/dashboard/contacts/${encodeURIComponent(c.externalId)}`}
          editing
          draft={props.draft ?? { name: c.name ?? "", phone: c.phone ?? "" }}
          errors={props.errors}
        />
      </div>
      <div class="card">
        <h2>{t("contacts.wechat")}</h2>
        <Bindings contact={c} />
      </div>
    </Layout>
  );
}

async function renderContacts(
  c: Context<AppEnv>,
  view: { notice?: Notice; draft?: Partial<ContactDraft>; errors?: FieldErrors } = {},
  status: 200 | 201 | 403 | 404 | 409 | 422 = 200,
) {
  requirePermission(c, "messages:read");
  const caller = c.get("caller");
  const q = c.req.query("q")?.trim() || undefined;
  const cursor = c.req.query("cursor");
  let contacts: Contact[] = [];
  let nextCursor: string | null = null;
  if (q !== undefined) {
    // A look-up by your own user id: the one contact, or none.
    if (EXTERNAL_ID.test(q)) {
      contacts = await getContact(c.env, caller, q).then(
        (found) => [found],
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 404) {
            return [];
          }
          throw error;
        },
      );
    }
  } else {
    const page = await listContacts(c.env, caller, {
      limit: 50,
      cursor: cursor && CONTACT_CURSOR.test(cursor) ? cursor : undefined,
    });
    contacts = page.data;
    nextCursor = page.nextCursor;
  }
  return render(
    c,
    <ContactsPage
      contacts={contacts}
      q={q}
      cursor={q ? undefined : cursor}
      nextCursor={nextCursor}
      canWrite={grants(caller.scopes, "messages:send")}
      {...view}
    />,
    status,
  );
}

function externalIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("externalId") ?? "";
  if (!EXTERNAL_ID.test(id)) {
    throw new ApiError("not-found", `No contact ${id}.`);
  }
  return id;
}

// ---------------------------------------------------------------- Opt-outs

export function OptOutsPage(props: {
  optOuts: OptOutRow[];
  phone?: string;
  cursor?: string;
  nextCursor: string | null;
  canWrite: boolean;
  notice?: Notice;
  draft?: { phone: string; reason: string };
  errors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("opt_outs.title")}>
      <NoticeLine notice={props.notice} />
      {props.canWrite ? (
        <div class="card">
          <h2>{t("opt_outs.add_title")}</h2>
          <form method="post" action="/dashboard/opt-outs">
            <Csrf />
            <Field
              name="phone"
              label={t("opt_outs.phone")}
              type="tel"
              required
              maxlength={64}
              value={props.draft?.phone}
              errors={props.errors}
            />
            <Field
              name="reason"
              label={t("opt_outs.reason")}
              maxlength={500}
              value={props.draft?.reason}
              errors={props.errors}
            />
            <button type="submit">{t("opt_outs.add")}</button>
          </form>
        </div>
      ) : null}
      <div class="card">
        <FilterForm action="/dashboard/opt-outs">
          <FilterField name="phone" type="search" label={t("opt_outs.phone")} value={props.phone} />
        </FilterForm>
        <Table
          head={[
            t("opt_outs.phone"),
            t("opt_outs.source"),
            t("opt_outs.reason"),
            t("opt_outs.since"),
            ...(props.canWrite ? [t("common.actions")] : []),
          ]}
          empty={props.optOuts.length === 0}
        >
          {props.optOuts.map((row) => (
            <tr>
              <td class="mono">{row.phone}</td>
              <td>{row.source}</td>
              <td>{row.reason ?? t("common.dash")}</td>
              <td>{fmt.dateTime(row.createdAt)}</td>
              {props.canWrite ? (
                <td>
                  <ConfirmAction
                    action="/dashboard/opt-outs/remove"
                    fields={{ phone: row.phone }}
                    label={t("opt_outs.remove")}
                    question={t("opt_outs.confirm_remove", { phone: row.phone })}
                  />
                </td>
              ) : null}
            </tr>
          ))}
        </Table>
        <Pager
          base="/dashboard/opt-outs"
          query={{ phone: props.phone }}
          cursor={props.cursor}
          nextCursor={props.nextCursor}
        />
      </div>
    </Layout>
  );
}

async function renderOptOuts(
  c: Context<AppEnv>,
  view: { notice?: Notice; draft?: { phone: string; reason: string }; errors?: FieldErrors } = {},
  status: 200 | 201 | 403 | 404 | 409 | 422 = 200,
) {
  requirePermission(c, "inbound:read");
  const caller = c.get("caller");
  const phone = c.req.query("phone")?.trim() || undefined;
  const cursor = c.req.query("cursor");
  const page = await listOptOuts(c.env, caller, {
    phone,
    limit: 50,
    cursor: cursor && OPT_OUT_CURSOR.test(cursor) ? cursor : undefined,
  }).catch((error: unknown) => {
    // A filter that is not a phone number finds nothing; the page still shows.
    if (error instanceof ApiError && error.status !== 403) {
      return { data: [], nextCursor: null };
    }
    throw error;
  });
  return render(
    c,
    <OptOutsPage
      optOuts={page.data}
      phone={phone}
      cursor={cursor}
      nextCursor={page.nextCursor}
      canWrite={grants(caller.scopes, "opt_outs:write")}
      {...view}
    />,
    status,
  );
}

/** After the session middleware. */
export const contactPages = new Hono<AppEnv>()
  .get("/dashboard/contacts", (c) => renderContacts(c))
  .post("/dashboard/contacts", async (c) => {
    const form = await readForm(c);
    const draft = {
      external_id: fieldOf(form, "external_id").trim(),
      name: fieldOf(form, "name"),
      phone: fieldOf(form, "phone"),
    };
    try {
      requirePermission(c, "messages:send");
      checkExternalId(c, draft.external_id);
      checkName(c, optional(draft.name));
      const contact = await createContact(c.env, c.get("caller"), {
        external_id: draft.external_id,
        name: optional(draft.name),
        phone: optional(draft.phone),
      });
      setFlash(c, "ok", "contacts.created", { id: contact.externalId });
      return c.redirect("/dashboard/contacts", 303);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderContacts(
        c,
        { notice: problemNotice(error), draft, errors: fieldErrorsOf(error) },
        formStatus(error),
      );
    }
  })
  .get("/dashboard/contacts/:externalId", async (c) => {
    requirePermission(c, "messages:send");
    const contact = await getContact(c.env, c.get("caller"), externalIdParam(c));
    return render(c, <ContactPage contact={contact} />);
  })
  .post("/dashboard/contacts/:externalId", async (c) => {
    const id = externalIdParam(c);
    const form = await readForm(c);
    const draft = { name: fieldOf(form, "name"), phone: fieldOf(form, "phone") };
    requirePermission(c, "messages:send");
    try {
      checkName(c, optional(draft.name));
      await updateContact(c.env, c.get("caller"), id, {
        name: optional(draft.name) ?? null,
        phone: optional(draft.phone) ?? null,
      });
      setFlash(c, "ok", "contacts.saved", { id });
      return c.redirect("/dashboard/contacts", 303);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 404) {
        throw error;
      }
      const contact = await getContact(c.env, c.get("caller"), id);
      return render(
        c,
        <ContactPage
          contact={contact}
          notice={problemNotice(error)}
          draft={draft}
          errors={fieldErrorsOf(error)}
        />,
        formStatus(error),
      );
    }
  })
  .get("/dashboard/opt-outs", (c) => renderOptOuts(c))
  .post("/dashboard/opt-outs", async (c) => {
    const form = await readForm(c);
    const draft = { phone: fieldOf(form, "phone").trim(), reason: fieldOf(form, "reason") };
    try {
      requirePermission(c, "opt_outs:write");
      const reason = optional(draft.reason);
      if (reason !== undefined && reason.length > 500) {
        throw new ApiError("validation-error", tOf(c)("opt_outs.bad_reason"), {
          errors: [{ pointer: "/reason", detail: tOf(c)("opt_outs.bad_reason") }],
        });
      }
      const { created, row } = await addOptOut(c.env, c.get("caller"), {
        phone: draft.phone,
        reason,
      });
      setFlash(c, "ok", created ? "opt_outs.added" : "opt_outs.already", { phone: row.phone });
      return c.redirect("/dashboard/opt-outs", 303);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderOptOuts(
        c,
        { notice: problemNotice(error), draft, errors: fieldErrorsOf(error) },
        formStatus(error),
      );
    }
  })
  .post("/dashboard/opt-outs/remove", async (c) => {
    const phone = fieldOf(await readForm(c), "phone");
    try {
      requirePermission(c, "opt_outs:write");
      await removeOptOut(c.env, c.get("caller"), phone);
      setFlash(c, "ok", "opt_outs.removed", { phone });
      return c.redirect("/dashboard/opt-outs", 303);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderOptOuts(c, { notice: problemNotice(error) }, formStatus(error));
    }
  });
