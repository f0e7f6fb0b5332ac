/**
 * WeChat's rules for a subscription notice's data (订阅通知 `bizsend`, its "模板参数值要求"): a key
 * is a keyword type and its number (`thing1`, `time2`, `character_string3`...), and each type
 * limits its value. Checked before the notice is accepted, so WeChat's 47003 never comes back.
 */

/** The most characters a value of each keyword type may have. */
export const SUBSCRIBE_VALUE_LIMITS: Readonly<Record<string, number>> = {
  thing: 20,
  number: 32,
  letter: 32,
  symbol: 5,
  character_string: 32,
  time: 64,
  date: 64,
  amount: 32,
  phone_number: 17,
  car_number: 8,
  name: 10,
  phrase: 5,
  const: 20,
};

const KEY = /^([a-z_]+?)(\d+)$/;

export interface DataProblem {
  pointer: string;
  detail: string;
}

/** What breaks WeChat's rules in `data`, each at its pointer under `base`; none when it is fine. */
export function subscribeDataProblems(
  data: Readonly<Record<string, { value: string }>>,
  base = "/wechat/data",
): DataProblem[] {
  const problems: DataProblem[] = [];
  for (const [key, { value }] of Object.entries(data)) {
    const type = KEY.exec(key)?.[1];
    const limit = type === undefined ? undefined : SUBSCRIBE_VALUE_LIMITS[type];
    if (limit === undefined) {
      problems.push({
        pointer: `${base}/${key}`,
        detail: `not a subscription-notice key: a keyword type (${Object.keys(SUBSCRIBE_VALUE_LIMITS).join(", ")}) and its number, as thing1`,
      });
    } else if ([...value].length > limit) {
      problems.push({
        pointer: `${base}/${key}/value`,
        detail: `a ${type} value has at most ${limit} characters`,
      });
    } else if (value === "") {
      problems.push({ pointer: `${base}/${key}/value`, detail: "empty" });
    }
  }
  return problems;
}
