/** The rules of a sender signature's name, shared by the API and the dashboard. */

/** What is wrong with a signature's name, or null. Carriers in China take 2 to 20 characters. */
export function signatureNameProblem(name: string): string | null {
  const characters = Array.from(name).length;
  if (characters < 2 || characters > 20) {
    return "must be 2 to 20 characters";
  }
  if (/[【】[\]〔〕]/.test(name)) {
    return "must be the name without brackets: 【】 are added";
  }
  if (/\p{Cc}/u.test(name)) {
    return "must not contain control characters";
  }
  return null;
}
