/** The reviewer's queue: templates and signatures waiting for approval, with their flagged words. */
import type { Permission } from "../domain/permissions";
import type { SignatureRecord } from "../services/content/signatures";
import type { TemplateRecord } from "../services/content/templates";
import { Layout } from "./layout";

function Decision(props: { csrf: string; action: string; canReview: boolean }) {
  if (!props.canReview) {
    return <p class="muted">Your role can read the queue but not decide.</p>;
  }
  return (
    <div class="decision">
      <form method="post" action={`${props.action}/approve`}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <button type="submit">Approve</button>
      </form>
      <form method="post" action={`${props.action}/reject`} class="reject">
        <input type="hidden" name="csrf" value={props.csrf} />
        <input name="reason" required maxlength={500} placeholder="Why it is rejected" />
        <button type="submit" class="danger">
          Reject
        </button>
      </form>
    </div>
  );
}

export function ReviewsPage(props: {
  csrf: string;
  permissions: readonly Permission[];
  canReview: boolean;
  templates: TemplateRecord[];
  signatures: SignatureRecord[];
  notice?: { kind: "ok" | "error"; text: string };
}) {
  return (
    <Layout title="Reviews" csrf={props.csrf} permissions={props.permissions}>
      {props.notice ? <p class={props.notice.kind}>{props.notice.text}</p> : null}
      <h2>Templates waiting for review</h2>
      {props.templates.length === 0 ? <p class="muted">None.</p> : null}
      {props.templates.map(({ template, latest }) => (
        <div class="card">
          <h3>
            {template.name} <span class="pill">{template.kind}</span>{" "}
            <span class="muted mono">
              {template.id} v{latest.version}
            </span>
          </h3>
          <pre class="text">{latest.body}</pre>
          <p class="muted">
            Variables:{" "}
            {latest.variables.map((v) => `${v.name} (${v.type}, ≤ ${v.maxLength})`).join(", ") ||
              "none"}
            {template.approvedVersion !== null
              ? ` · version ${template.approvedVersion} is approved and serving`
              : ""}
          </p>
          {latest.reviewReason ? <p class="error">{latest.reviewReason}</p> : null}
          <Decision
            csrf={props.csrf}
            action={`/dashboard/templates/${template.id}`}
            canReview={props.canReview}
          />
        </div>
      ))}
      <h2>Signatures waiting for review</h2>
      {props.signatures.length === 0 ? <p class="muted">None.</p> : null}
      {props.signatures.map(({ row }) => (
        <div class="card">
          <h3>
            【{row.name}】 <span class="muted mono">{row.id}</span>
          </h3>
          {row.reviewReason ? <p class="error">{row.reviewReason}</p> : null}
          <Decision
            csrf={props.csrf}
            action={`/dashboard/signatures/${row.id}`}
            canReview={props.canReview}
          />
        </div>
      ))}
    </Layout>
  );
}
