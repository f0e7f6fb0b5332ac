/** The reviewer's queue: templates and signatures waiting for approval, with their flagged words. */
import type { SignatureRecord } from "../services/content/signatures";
import type { TemplateRecord } from "../services/content/templates";
import { ConfirmAction, NoticeLine } from "./components";
import { Layout } from "./layout";
import { type Notice, useUi } from "./ui";

function Decision(props: { action: string; name: string; canReview: boolean }) {
  const { t } = useUi();
  if (!props.canReview) {
    return <p class="muted">{t("reviews.read_only")}</p>;
  }
  return (
    <div class="decision">
      <ConfirmAction
        action={`${props.action}/approve`}
        label={t("reviews.approve")}
        question={t("reviews.confirm_approve", { name: props.name })}
      />
      <ConfirmAction
        action={`${props.action}/reject`}
        label={t("reviews.reject")}
        question={t("reviews.confirm_reject", { name: props.name })}
      >
        <input name="reason" required maxlength={500} placeholder={t("reviews.reason")} />
      </ConfirmAction>
    </div>
  );
}

export function ReviewsPage(props: {
  canReview: boolean;
  templates: TemplateRecord[];
  signatures: SignatureRecord[];
  notice?: Notice;
}) {
  const { t } = useUi();
  return (
    <Layout title={t("reviews.title")}>
      <NoticeLine notice={props.notice} />
      <h2>{t("reviews.templates")}</h2>
      {props.templates.length === 0 ? <p class="muted">{t("common.none")}</p> : null}
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
            {latest.variables.length > 0
              ? t("reviews.variables", {
                  list: latest.variables
                    .map((v) =>
                      t("reviews.variable", { name: v.name, type: v.type, max: v.maxLength }),
                    )
                    .join(", "),
                })
              : t("reviews.no_variables")}
            {template.approvedVersion !== null
              ? ` · ${t("reviews.serving", { version: template.approvedVersion })}`
              : ""}
          </p>
          {latest.reviewReason ? <p class="error">{latest.reviewReason}</p> : null}
          <Decision
            action={`/dashboard/templates/${template.id}`}
            name={template.name}
            canReview={props.canReview}
          />
        </div>
      ))}
      <h2>{t("reviews.signatures")}</h2>
      {props.signatures.length === 0 ? <p class="muted">{t("common.none")}</p> : null}
      {props.signatures.map(({ row }) => (
        <div class="card">
          <h3>
            【{row.name}】 <span class="muted mono">{row.id}</span>
          </h3>
          {row.reviewReason ? <p class="error">{row.reviewReason}</p> : null}
          <Decision
            action={`/dashboard/signatures/${row.id}`}
            name={`【${row.name}】`}
            canReview={props.canReview}
          />
        </div>
      ))}
    </Layout>
  );
}
