/** Asserting RFC 9457 problem+json error responses, shared by the route tests. */
import { expect } from "vitest";
import { PROBLEM_TYPES, type Problem, type ProblemSlug } from "../../src/lib/problem";

// `hits`: the extension member of a refusal for sensitive words; `budget` … `currency`: those of
// a refusal for the budget (services/accounts/budget).
const PROBLEM_FIELDS = [
  "budget",
  "month",
  "limit",
  "used",
  "remaining",
  "balance",
  "cost",
  "currency",
  "type",
  "title",
  "status",
  "detail",
  "instance",
  "request_id",
  "errors",
  "hits",
];

export interface ExpectedProblem {
  status: number;
  slug: ProblemSlug;
  instance: string;
  /** A pattern the problem's `detail` must match. */
  detail?: RegExp;
  /** The exact set of `errors[].pointer`, in any order. */
  pointers?: string[];
}

/** Asserts the exact RFC 9457 shape of an error response and returns its body. */
export async function expectProblem(res: Response, expected: ExpectedProblem): Promise<Problem> {
  expect(res.status).toBe(expected.status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const requestId = res.headers.get("x-request-id");
  expect(requestId).toMatch(/^\S+$/);
  const body = (await res.json()) as Problem;
  for (const field of Object.keys(body)) {
    expect(PROBLEM_FIELDS).toContain(field);
  }
  expect(body.type.endsWith(`/${expected.slug}`)).toBe(true);
  expect(body.title).toBe(PROBLEM_TYPES[expected.slug].title);
  expect(body.status).toBe(expected.status);
  expect(body.instance).toBe(expected.instance);
  expect(body.request_id).toBe(requestId);
  expect(body.detail).toEqual(expect.any(String));
  if (expected.detail) {
    expect(body.detail).toMatch(expected.detail);
  }
  const errors = body.errors ?? [];
  if (expected.pointers) {
    expect(errors.map((e) => e.pointer).sort()).toEqual([...expected.pointers].sort());
  }
  for (const error of errors) {
    expect(error.detail.length).toBeGreaterThan(0);
  }
  return body;
}
