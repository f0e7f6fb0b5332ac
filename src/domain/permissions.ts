/**
 * Permissions and the roles that hold them: the one table the API (every route names the
 * permission it needs), the dashboard (it hides what a role cannot do) and the README share.
 *
 * Permissions are the API keys' scopes under their old names, so every key keeps working; `admin`
 * holds every permission. A custom role (`rol_…`, services/accounts/roles) is a tenant's own set of
 * them; the built-in roles below cannot be edited.
 */

export const PERMISSIONS = [
  "messages:send",
  "messages:read",
  "templates:read",
  "templates:write",
  "templates:review",
  "content:read",
  "content:write",
  "users:read",
  "users:write",
  "audit:read",
  "inbound:read",
  "conversations:write",
  "opt_outs:write",
  "verifications:write",
  "stats:read",
  "desk:work",
  "desk:supervise",
  "desk:inspect",
  "admin",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What each permission lets its holder do, for the README, the API reference and the dashboard. */
export const PERMISSION_DESCRIPTIONS: { readonly [p in Permission]: string } = {
  "messages:send": "Send messages and batches, cancel them, redact a message's body",
  "messages:read": "Read messages, batches and their events",
  "templates:read": "Read templates and signatures",
  "templates:write": "Create and edit templates and signatures, submit them for review",
  "templates:review": "Approve or reject templates and signatures",
  "content:read":
    "Read sensitive words, contacts, SMS auto-replies and forwarding rules, and check texts",
  "content:write": "Change sensitive words, contacts, SMS auto-replies and forwarding rules",
  "users:read": "List the tenant's users and roles",
  "users:write": "Invite users, change their roles, disable and remove them; manage custom roles",
  "audit:read": "Read and verify the audit log",
  "inbound:read": "Read inbound messages, conversations and opt-outs",
  "conversations:write": "Reply in conversations and mark them read",
  "opt_outs:write": "Add and remove opt-outs (suppressed numbers)",
  "verifications:write":
    "Send verification codes, check and cancel them, read verifications and their numbers",
  "stats:read":
    "Read statistics (sends, outcomes, costs, inbound, latency, errors) and export them",
  "desk:work":
    "Work at the service desk: set one's own status, take, reply in, transfer and resolve conversations",
  "desk:supervise":
    "Supervise the service desk: every agent's load and the queues, assign and reassign, set agents' skills and capacity",
  "desk:inspect":
    "Inspect the desk's quality: keep checklists, see the sampled queue, score resolved conversations and read every agent's scores",
  admin:
    "Everything: API keys, providers, routes, webhooks, WeChat apps and the tenant's settings included",
};

export const BUILT_IN_ROLES = [
  "owner",
  "admin",
  "operator",
  "marketer",
  "analyst",
  "agent",
  "inspector",
  "reviewer",
] as const;
export type BuiltInRole = (typeof BUILT_IN_ROLES)[number];

/** The permission matrix: what each built-in role holds. */
export const ROLE_PERMISSIONS: { readonly [role in BuiltInRole]: readonly Permission[] } = {
  owner: ["admin"],
  admin: ["admin"],
  operator: [
    "messages:send",
    "messages:read",
    "templates:read",
    "templates:write",
    "content:read",
    "users:read",
    "inbound:read",
    "conversations:write",
    "opt_outs:write",
    "verifications:write",
    "stats:read",
  ],
  marketer: [
    "messages:send",
    "messages:read",
    "templates:read",
    "templates:write",
    "content:read",
    "inbound:read",
    "verifications:write",
    "stats:read",
  ],
  analyst: ["messages:read", "templates:read", "content:read", "inbound:read", "stats:read"],
  agent: [
    "messages:send",
    "messages:read",
    "templates:read",
    "inbound:read",
    "conversations:write",
    "verifications:write",
    "desk:work",
  ],
  inspector: ["messages:read", "templates:read", "inbound:read", "stats:read", "desk:inspect"],
  reviewer: [
    "messages:read",
    "templates:read",
    "templates:review",
    "content:read",
    "content:write",
  ],
};

export function isBuiltInRole(role: string): role is BuiltInRole {
  return (BUILT_IN_ROLES as readonly string[]).includes(role);
}

/**
 * What a user's role holds: a built-in role's row of the matrix, or a custom role's own list (its
 * row of `roles`, read with the user); a name that is neither holds nothing.
 */
export function permissionsOfRole(
  role: string,
  customPermissions?: readonly string[] | null,
): Permission[] {
  if (isBuiltInRole(role)) {
    return [...ROLE_PERMISSIONS[role]];
  }
  return (customPermissions ?? []).filter((p): p is Permission =>
    (PERMISSIONS as readonly string[]).includes(p),
  );
}

export function grants(held: readonly string[], needed: Permission): boolean {
  return held.includes("admin") || held.includes(needed);
}

/** Whether `held` covers every one of `wanted`: a user grants no more than they hold. */
export function grantsAll(held: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((p) => grants(held, p as Permission));
}
