import { describe, expect, it } from "vitest";
import {
  keywordIntentOf,
  OPT_IN_KEYWORDS,
  OPT_OUT_KEYWORDS,
} from "../../src/domain/opt-out-keywords";

describe("opt-out keywords", () => {
  it.each(OPT_OUT_KEYWORDS)("reads %s alone as an opt-out", (keyword) => {
    expect(keywordIntentOf(keyword)).toBe("opt_out");
  });

  it.each(OPT_IN_KEYWORDS)("reads %s alone as an opt-in", (keyword) => {
    expect(keywordIntentOf(keyword)).toBe("opt_in");
  });

  it.each([
    ["stop", "opt_out"],
    ["Stop", "opt_out"],
    ["sToPaLl", "opt_out"],
    ["unsubscribe", "opt_out"],
    ["td", "opt_out"],
    ["r", "opt_out"],
    ["start", "opt_in"],
    ["Unstop", "opt_in"],
    ["yes", "opt_in"],
  ] as const)("ignores case: %s", (text, intent) => {
    expect(keywordIntentOf(text)).toBe(intent);
  });

  it.each([
    ["  STOP  ", "opt_out"],
    ["\tstop\n", "opt_out"],
    ["STOP!", "opt_out"],
    ['"stop."', "opt_out"],
    ["...R...", "opt_out"],
    ["退订。", "opt_out"],
    ["【退订】", "opt_out"],
    [" 拒收！", "opt_out"],
    ["退订短信~", "opt_out"],
    ["取消", "opt_out"],
    ["START 🙂", "opt_in"],
    ["订阅!", "opt_in"],
  ] as const)("ignores the spaces, punctuation and symbols around it: %j", (text, intent) => {
    expect(keywordIntentOf(text)).toBe(intent);
  });

  it.each([
    ["ＳＴＯＰ", "opt_out"],
    ["ｓｔｏｐ", "opt_out"],
    ["　ＴＤ　", "opt_out"],
    ["Ｒ！", "opt_out"],
    ["ＳＴＡＲＴ", "opt_in"],
  ] as const)("reads full-width letters and spaces: %s", (text, intent) => {
    expect(keywordIntentOf(text)).toBe(intent);
  });

  it.each([
    "please stop",
    "STOP sending me these",
    "don't stop",
    "我要退订",
    "退订吧谢谢",
    "yes please",
    "TDX",
    "stopp",
    "S T O P",
    "non-stop",
    "",
    "   ",
    "!!!",
    "Hello",
  ])("takes no keyword inside a sentence or a longer word: %j", (text) => {
    expect(keywordIntentOf(text)).toBeNull();
  });
});
