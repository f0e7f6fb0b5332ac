/** The Audit log page: the tenant's entries with filters and cursor paging, and the chain check. */
import type { ChainCheck } from "../domain/audit-chain";
import type { AuditEntry } from "../services/audit/audit-log";
import { Csrf, FilterField, FilterForm, NoticeLine, Pager, Table } from "./components";
import { Layout } from "./layout";
import { type Notice, useUi } from "./ui";

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  /** Local dates YYYY-MM-DD in the tenant's zone. */
  since?: string;
  until?: string;
}

/** An entry's changes as `field: from → to` lines. */
function changesOf(diff: string): string[] {
  try {
    const parsed = JSON.parse(diff) as Record<string, { from?: unknown; to?: unknown }>;
    const show = (v: unknown) => (v === undefined ? "∅" : JSON.stringify(v));
    return Object.entries(parsed).map(([field, c]) => `${field}: ${show(c.from)} → ${show(c.to)}`);
  } catch {
    return [diff];
  }
}

export function AuditPage(props: {
  entries: AuditEntry[];
  query: AuditQuery;
  cursor?: string;
  nextCursor: string | null;
  check?: ChainCheck;
  notice?: Notice;
}) {
  const { t, fmt } = useUi();
  const q = props.query;
  const check = props.check;
  return (
    <Layout title={t("audit.title")}>
      <NoticeLine notice={props.notice} />
      {check ? (
        <p class={`flash ${check.valid ? "ok" : "error"}`} role="status" id="chain-result">
          {check.valid
            ? t("audit.chain_valid", { entries: fmt.number(check.entries) })
            : t("audit.chain_broken", {
                id: check.firstBrokenAt ?? "",
                entries: fmt.number(check.entries),
              })}
        </p>
      ) : null}
      <div class="card">
        <form method="post" action="/dashboard/audit/verify" class="inline-form">
          <Csrf />
          <button type="submit">{t("audit.verify")}</button>
          <span class="muted"> {t("audit.verify_hint")}</span>
        </form>
      </div>
      <div class="card">
        <FilterForm action="/dashboard/audit">
          <FilterField name="actor" label={t("audit.actor")} value={q.actor} />
          <FilterField name="action" label={t("audit.action")} value={q.action} />
          <FilterField name="target" label={t("audit.target")} value={q.target} />
          <FilterField name="since" label={t("audit.since")} value={q.since} type="date" />
          <FilterField name="until" label={t("audit.until")} value={q.until} type="date" />
        </FilterForm>
        <Table
          head={[
            t("audit.col_at"),
            t("audit.col_actor"),
            t("audit.col_action"),
            t("audit.col_target"),
            t("audit.col_changes"),
          ]}
          empty={props.entries.length === 0}
        >
          {props.entries.map((e) => (
            <tr>
              <td>
                {fmt.dateTime(e.at)} <span class="muted mono">#{e.seq}</span>
              </td>
              <td>
                <span class="muted">{e.actorType}</span> <span class="mono">{e.actorId}</span>
              </td>
              <td class="mono">{e.action}</td>
              <td class="mono">{e.target}</td>
              <td>
                {changesOf(e.diff).map((line) => (
                  <div class="mono small">{line}</div>
                ))}
              </td>
            </tr>
          ))}
        </Table>
        <Pager
          base="/dashboard/audit"
          query={{ ...q }}
          cursor={props.cursor}
          nextCursor={props.nextCursor}
        />
      </div>
    </Layout>
  );
}
