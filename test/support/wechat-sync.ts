/** A follower sync through the API: started (202), then followed until it is no longer running. */
import { expect } from "vitest";
import { eventually } from "./tenants";

export interface SyncJob {
  id: string;
  app_id: string;
  status: "running" | "done" | "failed";
  fetched: number;
  total: number | null;
  pages: number;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

type Api = (path: string, init?: RequestInit) => Promise<Response>;

/** Starts a sync of `appId` and returns the job once it is done or failed. */
export async function syncFollowersJob(
  api: Api,
  appId: string,
  timeoutMs = 20_000,
): Promise<SyncJob> {
  const started = await api(`/v1/wechat/apps/${appId}/followers/sync`, { method: "POST" });
  expect(started.status, await started.clone().text()).toBe(202);
  const job = (await started.json()) as SyncJob;
  return eventually(
    async () => {
      const res = await api(`/v1/wechat/apps/${appId}/followers/sync/${job.id}`);
      const current = (await res.json()) as SyncJob;
      return current.status === "running" ? undefined : current;
    },
    timeoutMs,
    `follower sync ${job.id} to finish`,
  );
}
