/** The sign-in page (the Messages area's pages are in messages.tsx). */
import { Field } from "./components";
import { Layout } from "./layout";
import { useUi } from "./ui";

export function LoginPage(props: { error?: boolean; accepted?: boolean; email?: string }) {
  const { t } = useUi();
  return (
    <Layout title={t("login.title")}>
      <div class="card narrow">
        {props.error ? <p class="error">{t("login.wrong")}</p> : null}
        {props.accepted ? <p class="ok">{t("login.accepted")}</p> : null}
        <form method="post" action="/dashboard/login">
          <Field name="email" label={t("login.email")} type="email" required value={props.email} />
          <Field name="password" label={t("login.password")} type="password" required />
          <button type="submit">{t("login.submit")}</button>
        </form>
      </div>
    </Layout>
  );
}
