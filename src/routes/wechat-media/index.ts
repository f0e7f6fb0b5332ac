import { MAX_MEDIA_BYTES } from "../../domain/wechat-media";
import { createRouter } from "../router";
import * as handlers from "./wechat-media.handlers";
import * as routes from "./wechat-media.routes";

/**
 * The routes that take a file, and their body limit (app.ts): WeChat's largest, plus framing. The
 * local WeChat sandbox's upload endpoints take what WeChat takes.
 */
export const MEDIA_UPLOAD_PATH =
  /^(\/v1\/wechat\/apps\/[^/]+\/media|\/sandbox\/wechat\/cgi-bin\/(media\/upload|material\/add_material))$/;
export const MEDIA_UPLOAD_LIMIT = MAX_MEDIA_BYTES + 64 * 1024;

const router = createRouter();
// The upload is documented by its route but served without its validator, which would read the
// whole form before the handler runs: the handler streams the file through (handlers.uploadMedia).
const { middleware: uploadMiddleware, ...uploadDoc } = routes.uploadMedia;
router.openAPIRegistry.registerPath(uploadDoc);
router.post("/v1/wechat/apps/:app_id/media", ...uploadMiddleware, handlers.uploadMedia);

export const wechatMediaRouter = router
  .openapi(routes.listMedia, handlers.listMedia)
  .openapi(routes.deleteMedia, handlers.deleteMedia);
