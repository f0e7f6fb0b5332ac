// Type checks of the client (`npm run typecheck` compiles this file; it is never run): paths,
// parameters, bodies and results come from the API document, and mistakes are compile errors.
import { Relaybox } from "../../src/client/index.ts";

const rb = new Relaybox({ apiKey: "rbx_test_x", baseUrl: "http://127.0.0.1:8787" });

export async function typed() {
  const accepted = await rb.post("/v1/messages", { body: { to: "+8613800138000", body: "hi" } });
  const id: string = accepted.id;
  const message = await rb.get("/v1/messages/{id}", { params: { path: { id } } });
  const status: "queued" | "sent" | string = message.status;
  for await (const item of rb.paginate("/v1/messages", { params: { query: { limit: 10 } } })) {
    const itemId: string = item.id;
    void itemId;
  }
  // @ts-expect-error: no such path
  await rb.get("/v1/nothing");
  // @ts-expect-error: the path parameter is required
  await rb.get("/v1/messages/{id}");
  // @ts-expect-error: `to` must be a string
  await rb.post("/v1/messages", { body: { to: 8613800138000 } });
  // @ts-expect-error: not a list
  rb.paginate("/v1/tenant");
  return status;
}
