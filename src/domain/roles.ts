/** What each dashboard role may do, in API-scope terms, so one rule serves API and dashboard. */
import type { Role } from "../db/schema";
import type { Scope } from "./scopes";

const ROLE_SCOPES: { readonly [role in Role]: readonly Scope[] } = {
  admin: ["admin"],
  operator: ["messages:send", "messages:read"],
  agent: ["messages:send", "messages:read"],
  reviewer: ["messages:read"],
  analyst: ["messages:read"],
};

export function scopesOfRole(role: Role): Scope[] {
  return [...ROLE_SCOPES[role]];
}
