/**
 * Hook tokens are bearer credentials: a carrier that does not sign its receipts is known by its
 * token alone. So our own log lines never carry one: `/hooks/sms/twilio/<token>/status` is
 * written as `/hooks/sms/twilio/[redacted]/status`.
 */
const HOOK_TOKEN = /(\/hooks\/sms\/[^/\s"'?#]*\/)[^/\s"'?#]+/g;

export function redactHookTokens(text: string): string {
  return text.replace(HOOK_TOKEN, "$1[redacted]");
}
