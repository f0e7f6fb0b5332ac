/** The Hono environment every router, page and middleware of the app shares. */
import type { Caller, Session } from "./domain/caller";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    caller: Caller;
    session: Session;
    /** The message a request sent or acted on, for its log line (middleware/request-log). */
    messageId: string;
  };
}
