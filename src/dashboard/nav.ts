/**
 * The dashboard's navigation registry: one entry per page, in menu order. A page is added by
 * appending an entry (its `labelKey` in both catalogs); the layout shows an entry only when the
 * session's permissions grant its `permission` (null: every signed-in user) and groups entries
 * under their `group`'s heading, in NAV_GROUPS order. Hiding is not protection: every route
 * still checks the permission itself (`requirePermission`).
 */
import { grants, type Permission } from "../domain/permissions";
import type { MessageKey } from "./i18n";

export const NAV_GROUPS = [
  "overview",
  "desk",
  "messages",
  "send",
  "batches",
  "templates",
  "review",
  "contacts",
  "verification",
  "wechat",
  "providers",
  "webhooks",
  "api_keys",
  "users",
  "audit",
  "settings",
] as const;
export type NavGroup = (typeof NAV_GROUPS)[number];

export interface NavItem {
  /** The page's path; the entry is marked current for it and every path below it. */
  path: string;
  labelKey: MessageKey;
  /** What the user needs to see the entry; null: any signed-in user. */
  permission: Permission | null;
  group: NavGroup;
}

export const NAV: readonly NavItem[] = [
  { path: "/dashboard/desk", labelKey: "nav.desk", permission: "desk:work", group: "desk" },
  {
    path: "/dashboard/desk/supervise",
    labelKey: "nav.desk_supervise",
    permission: "desk:supervise",
    group: "desk",
  },
  {
    path: "/dashboard/desk/canned",
    labelKey: "nav.desk_canned",
    permission: "desk:supervise",
    group: "desk",
  },
  {
    path: "/dashboard/desk/reports",
    labelKey: "nav.desk_reports",
    permission: "stats:read",
    group: "desk",
  },
  {
    path: "/dashboard/desk/inspection",
    labelKey: "nav.desk_inspection",
    permission: "desk:inspect",
    group: "desk",
  },
  {
    path: "/dashboard/desk/scores",
    labelKey: "nav.desk_scores",
    permission: "desk:work",
    group: "desk",
  },
  {
    path: "/dashboard/messages",
    labelKey: "nav.messages",
    permission: "messages:read",
    group: "messages",
  },
  {
    path: "/dashboard/reviews",
    labelKey: "nav.reviews",
    permission: "templates:read",
    group: "review",
  },
  { path: "/dashboard/users", labelKey: "nav.users", permission: "users:read", group: "users" },
  // Content (templates, signatures, sensitive words).
  {
    path: "/dashboard/templates",
    labelKey: "nav.templates",
    permission: "templates:read",
    group: "templates",
  },
  {
    path: "/dashboard/signatures",
    labelKey: "nav.signatures",
    permission: "templates:read",
    group: "templates",
  },
  {
    path: "/dashboard/sensitive-words",
    labelKey: "nav.sensitive_words",
    permission: "content:read",
    group: "templates",
  },
  // Users and roles, audit log, settings (issue 19, area f)
  { path: "/dashboard/roles", labelKey: "nav.roles", permission: "users:read", group: "users" },
  { path: "/dashboard/audit", labelKey: "nav.audit", permission: "audit:read", group: "audit" },
  {
    path: "/dashboard/settings",
    labelKey: "nav.settings",
    permission: "admin",
    group: "settings",
  },
  // Overview and Verification (i19-a)
  {
    path: "/dashboard/overview",
    labelKey: "nav.overview",
    permission: "stats:read",
    group: "overview",
  },
  {
    path: "/dashboard/verification",
    labelKey: "nav.verification",
    permission: "verifications:write",
    group: "verification",
  },
  // Messages area (i19-b).
  {
    path: "/dashboard/scheduled",
    labelKey: "nav.scheduled",
    permission: "messages:read",
    group: "messages",
  },
  { path: "/dashboard/send", labelKey: "nav.send", permission: "messages:send", group: "send" },
  {
    path: "/dashboard/batches",
    labelKey: "nav.batches",
    permission: "messages:read",
    group: "batches",
  },
  // WeChat (issue 19, area e)
  { path: "/dashboard/wechat", labelKey: "nav.wechat", permission: "admin", group: "wechat" },
  // Contacts, opt-outs, providers and routes, webhooks, API keys (issue 19, area d).
  {
    path: "/dashboard/contacts",
    labelKey: "nav.contacts",
    permission: "messages:read",
    group: "contacts",
  },
  {
    path: "/dashboard/opt-outs",
    labelKey: "nav.opt_outs",
    permission: "inbound:read",
    group: "contacts",
  },
  {
    path: "/dashboard/providers",
    labelKey: "nav.providers",
    permission: "admin",
    group: "providers",
  },
  { path: "/dashboard/webhooks", labelKey: "nav.webhooks", permission: "admin", group: "webhooks" },
  { path: "/dashboard/keys", labelKey: "nav.keys", permission: "admin", group: "api_keys" },
];

export const GROUP_LABELS: { readonly [g in NavGroup]: MessageKey } = {
  overview: "nav.group.overview",
  desk: "nav.group.desk",
  messages: "nav.group.messages",
  send: "nav.group.send",
  batches: "nav.group.batches",
  templates: "nav.group.templates",
  review: "nav.group.review",
  contacts: "nav.group.contacts",
  verification: "nav.group.verification",
  wechat: "nav.group.wechat",
  providers: "nav.group.providers",
  webhooks: "nav.group.webhooks",
  api_keys: "nav.group.api_keys",
  users: "nav.group.users",
  audit: "nav.group.audit",
  settings: "nav.group.settings",
};

export interface NavSection {
  group: NavGroup;
  labelKey: MessageKey;
  items: (NavItem & { current: boolean })[];
}

/** The entries `permissions` may use, grouped; `path` (the request's) marks the current one. */
export function navFor(
  permissions: readonly Permission[],
  path: string,
  items: readonly NavItem[] = NAV,
): NavSection[] {
  const visible = items.filter((i) => i.permission === null || grants(permissions, i.permission));
  // The longest matching path is current ("/dashboard/messages/x" → Messages).
  const current = visible
    .filter((i) => path === i.path || path.startsWith(`${i.path}/`))
    .sort((a, b) => b.path.length - a.path.length)[0];
  return NAV_GROUPS.map((group) => ({
    group,
    labelKey: GROUP_LABELS[group],
    items: visible.filter((i) => i.group === group).map((i) => ({ ...i, current: i === current })),
  })).filter((s) => s.items.length > 0);
}
