import { createRouter } from "../router";
import * as handlers from "./sensitive-words.handlers";
import * as routes from "./sensitive-words.routes";

export const sensitiveWordsRouter = createRouter()
  .openapi(routes.listSensitiveWords, handlers.listSensitiveWords)
  .openapi(routes.createSensitiveWord, handlers.createSensitiveWord)
  .openapi(routes.importSensitiveWords, handlers.importSensitiveWords)
  .openapi(routes.checkText, handlers.checkText)
  .openapi(routes.deleteSensitiveWord, handlers.deleteSensitiveWord);
