import { createRouter } from "../router";
import * as handlers from "./wechat-qrcodes.handlers";
import * as routes from "./wechat-qrcodes.routes";

export const wechatQrCodesRouter = createRouter()
  .openapi(routes.createQrCode, handlers.createQrCode)
  .openapi(routes.listQrCodes, handlers.listQrCodes);
