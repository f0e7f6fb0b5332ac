/**
 * The account's templates for template messages, as WeChat keeps them: listed
 * (`get_all_private_template`), added from WeChat's library by their short id and, for the newer
 * library, keyword names (`api_add_template`), and deleted (`del_private_template`), so a template
 * message's `wechat_template_id` need not be copied from WeChat's console. Nothing is kept in D1;
 * each change is audited after WeChat's yes.
 */
import type { Caller } from "../../domain/caller";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getWeChatApp } from "./apps";
import { callWeChat, type WeChatClientIO, wechatProblem } from "./client";
import { isRecord } from "./followers";

export interface AccountTemplate {
  templateId: string;
  title: string;
  content: string;
  example: string;
  primaryIndustry: string;
  deputyIndustry: string;
}

/** WeChat keeps at most 25 templates per account (errcode 45026 past that). */
export const MAX_ACCOUNT_TEMPLATES = 25;

export async function listAccountTemplates(
  env: Env,
  caller: Caller,
  appId: string,
  io?: WeChatClientIO,
): Promise<AccountTemplate[]> {
  await getWeChatApp(env, caller, appId);
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/template/get_all_private_template",
    { method: "GET" },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "list the templates");
  }
  const list = Array.isArray(answer.value.template_list) ? answer.value.template_list : [];
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  return list.filter(isRecord).map((t) => ({
    templateId: text(t.template_id),
    title: text(t.title),
    content: text(t.content),
    example: text(t.example),
    primaryIndustry: text(t.primary_industry),
    deputyIndustry: text(t.deputy_industry),
  }));
}

export async function addAccountTemplate(
  env: Env,
  caller: Caller,
  appId: string,
  input: { templateIdShort: string; keywordNames?: string[] },
  io?: WeChatClientIO,
): Promise<{ templateId: string }> {
  // WeChat's limit, checked before the add: its list is the only count there is (templates are
  // also added in WeChat's console).
  const held = await listAccountTemplates(env, caller, appId, io);
  if (held.length >= MAX_ACCOUNT_TEMPLATES) {
    throw new ApiError(
      "unprocessable-entity",
      `The account already has ${held.length} templates, WeChat's limit of ${MAX_ACCOUNT_TEMPLATES}; delete one before adding another.`,
      {
        errors: [
          {
            pointer: "/template_id_short",
            detail: `the account is at WeChat's limit of ${MAX_ACCOUNT_TEMPLATES} templates`,
          },
        ],
      },
    );
  }
  const body = {
    template_id_short: input.templateIdShort,
    ...(input.keywordNames ? { keyword_name_list: input.keywordNames } : {}),
  };
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/template/api_add_template",
    { method: "POST", body },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "add the template");
  }
  const templateId = String(answer.value.template_id ?? "");
  await audited(
    env,
    caller,
    {
      action: "wechat_template.add",
      target: `${appId}/${templateId}`,
      diff: { from: { to: body } },
    },
    [],
  );
  return { templateId };
}

export async function deleteAccountTemplate(
  env: Env,
  caller: Caller,
  appId: string,
  templateId: string,
  io?: WeChatClientIO,
): Promise<void> {
  await getWeChatApp(env, caller, appId);
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/template/del_private_template",
    { method: "POST", body: { template_id: templateId } },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "delete the template");
  }
  await audited(
    env,
    caller,
    { action: "wechat_template.delete", target: `${appId}/${templateId}`, diff: {} },
    [],
  );
}
