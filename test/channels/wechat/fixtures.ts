/**
 * Pushes as WeChat's Official Account documentation shows them: "接收普通消息" (ordinary messages)
 * and "接收事件推送" (event pushes, developers.weixin.qq.com/doc/service/Account_Management/
 * Wechat_Accreditation_Event_Push.html), with the documentation's own placeholder values and its
 * line breaks between elements. Keyed by what each one is.
 */

const HEAD = (createTime: string, msgType: string) =>
  `<ToUserName><![CDATA[toUser]]></ToUserName>\n<FromUserName><![CDATA[fromUser]]></FromUserName>\n<CreateTime>${createTime}</CreateTime>\n<MsgType><![CDATA[${msgType}]]></MsgType>\n`;

const EVENT_HEAD = (event: string) =>
  `<ToUserName><![CDATA[toUser]]></ToUserName>\n<FromUserName><![CDATA[FromUser]]></FromUserName>\n<CreateTime>123456789</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[${event}]]></Event>\n`;

export const MESSAGES = {
  text: `<xml>\n${HEAD("1348831860", "text")}<Content><![CDATA[this is a test]]></Content>\n<MsgId>1234567890123456</MsgId>\n</xml>`,
  image: `<xml>\n${HEAD("1348831860", "image")}<PicUrl><![CDATA[this is a url]]></PicUrl>\n<MediaId><![CDATA[media_id]]></MediaId>\n<MsgId>1234567890123456</MsgId>\n</xml>`,
  voice: `<xml>\n${HEAD("1357290913", "voice")}<MediaId><![CDATA[media_id]]></MediaId>\n<Format><![CDATA[Format]]></Format>\n<MsgId>1234567890123456</MsgId>\n</xml>`,
  video: `<xml>\n${HEAD("1357290913", "video")}<MediaId><![CDATA[media_id]]></MediaId>\n<ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId>\n<MsgId>1234567890123456</MsgId>\n</xml>`,
  shortvideo: `<xml>\n${HEAD("1357290913", "shortvideo")}<MediaId><![CDATA[media_id]]></MediaId>\n<ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId>\n<MsgId>1234567890123456</MsgId>\n</xml>`,
  location: `<xml>\n${HEAD("1351776360", "location")}<Location_X>23.134521</Location_X>\n<Location_Y>113.358803</Location_Y>\n<Scale>20</Scale>\n<Label><![CDATA[位置信息]]></Label>\n<MsgId>1234567890123456</MsgId>\n</xml>`,
  link: `<xml>\n${HEAD("1351776360", "link")}<Title><![CDATA[公众平台官网链接]]></Title>\n<Description><![CDATA[公众平台官网链接]]></Description>\n<Url><![CDATA[url]]></Url>\n<MsgId>1234567890123456</MsgId>\n</xml>`,
} as const;

export const EVENTS = {
  subscribe: `<xml>\n${EVENT_HEAD("subscribe")}</xml>`,
  subscribeWithScene: `<xml>\n${EVENT_HEAD("subscribe")}<EventKey><![CDATA[qrscene_123123]]></EventKey>\n<Ticket><![CDATA[TICKET]]></Ticket>\n</xml>`,
  unsubscribe: `<xml>\n${EVENT_HEAD("unsubscribe")}</xml>`,
  scan: `<xml>\n${EVENT_HEAD("SCAN")}<EventKey><![CDATA[SCENE_VALUE]]></EventKey>\n<Ticket><![CDATA[TICKET]]></Ticket>\n</xml>`,
  location: `<xml>\n${EVENT_HEAD("LOCATION")}<Latitude>23.137466</Latitude>\n<Longitude>113.352425</Longitude>\n<Precision>119.385040</Precision>\n</xml>`,
  click: `<xml>\n${EVENT_HEAD("CLICK")}<EventKey><![CDATA[EVENTKEY]]></EventKey>\n</xml>`,
  view: `<xml>\n${EVENT_HEAD("VIEW")}<EventKey><![CDATA[www.qq.com]]></EventKey>\n</xml>`,
  // From the template-message page ("模板消息接口", 事件推送).
  templateSendJobFinish:
    "<xml>\n<ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>\n<FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>\n<CreateTime>1395658920</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>\n<MsgID>200163836</MsgID>\n<Status><![CDATA[success]]></Status>\n</xml>",
} as const;
