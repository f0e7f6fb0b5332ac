/** API-key scopes. `admin` includes every other scope. */
export const SCOPES = [
  "messages:send",
  "messages:read",
  "templates:read",
  "templates:write",
  "templates:review",
  "content:read",
  "content:write",
  "admin",
] as const;
export type Scope = (typeof SCOPES)[number];

export function grants(held: readonly string[], needed: Scope): boolean {
  return held.includes("admin") || held.includes(needed);
}
