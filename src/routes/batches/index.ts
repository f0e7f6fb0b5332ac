import { createRouter } from "../router";
import * as handlers from "./batches.handlers";
import * as routes from "./batches.routes";

export const batchesRouter = createRouter()
  .openapi(routes.createBatch, handlers.createBatch)
  .openapi(routes.listBatches, handlers.listBatches)
  .openapi(routes.getBatch, handlers.getBatch)
  .openapi(routes.cancelBatch, handlers.cancelBatch);
