/** What each dashboard role may do, in API-scope terms, so one rule serves API and dashboard. */

import type { Scope } from "./scopes";
import type { Role } from "./vocabulary";

const ROLE_SCOPES: { readonly [role in Role]: readonly Scope[] } = {
  admin: ["admin"],
  operator: ["messages:send", "messages:read", "templates:read", "templates:write", "content:read"],
  agent: ["messages:send", "messages:read", "templates:read"],
  reviewer: [
    "messages:read",
    "templates:read",
    "templates:review",
    "content:read",
    "content:write",
  ],
  analyst: ["messages:read", "templates:read", "content:read"],
};

export function scopesOfRole(role: Role): Scope[] {
  return [...ROLE_SCOPES[role]];
}
