// Types of deploy-plan.mjs, for the test that checks it in workerd.
export type DeployStep =
  | { kind: "create-d1" | "set-d1-id" | "migrate-d1"; name: string; binding: string }
  | { kind: "create-queue" | "put-secret"; name: string }
  | { kind: "deploy" };
export function queuesOf(config: Record<string, unknown>): string[];
export function planDeploy(
  config: Record<string, unknown>,
  existing?: { d1?: string[]; queues?: string[]; secrets?: string[] },
): DeployStep[];
export function callbackUrls(baseUrl: string): Record<string, string>;
